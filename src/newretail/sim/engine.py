"""The digital twin: a discrete-event simulation that drives the real services on a simulated clock.

One heap of timed actions; before each action the :class:`SimulatedClock` is set to its instant,
so every service call (the same functions the API calls, against a real database) sees simulated
time. Agents:

* **customers** arrive per store as a Poisson process whose rate follows the scenario's
  hour-of-day profile; each fills a cart, asks for a ``quote`` and checks out: click-and-collect
  at their home store, or delivery — express when offered and wanted, else the first slot, else
  express if that is all there is; with nothing offered they leave (a lost order);
* **pickers** work shifts; an idle picker takes the next batch (``start_batch``) whenever orders
  wait, walks the pick list taking simulated time per order and per item (the scenario's means
  with lognormal noise), scans every line (weighed goods with a plausible scale reading), and now
  and then finds the shelf empty: ``suggest_substitutes`` / ``propose_substitute`` and a simulated
  customer answers (or lets the time run out), else ``report_short``. Then every tote is packed;
  a picker waits at the pack station for substitution answers still due;
* **couriers** plug in through :mod:`newretail.sim.couriers`: shifts, the real dispatcher's rounds,
  trips, doors and returns;
* collection customers come for their bags after the promised ready time;
* customers **pay** as the scenario says (:mod:`newretail.sim.payments`): from a wallet at checkout,
  with the platform's own bus handlers capturing, voiding and refunding.

Every step is written to an :class:`~newretail.sim.events.EventLog`; the KPIs come from that log.
Randomness is drawn from generators keyed by stable names (store, arrival number, batch number),
never from database ids, so a seed reproduces a run.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as wallclock
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from newretail.catalog.model import SoldBy
from newretail.core.clock import SimulatedClock
from newretail.core.errors import DomainError
from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.fulfilment.model import ZONE_WALK_RANK, PickTask
from newretail.fulfilment.services import BatchView
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus
from newretail.ordering.services import DeliveryOption
from newretail.sim import events
from newretail.sim.couriers import CourierAgents, DispatchingCouriers
from newretail.sim.draws import mean_one_lognormal
from newretail.sim.payments import TwinPayments
from newretail.sim.scenario import Scenario, ShiftSpec
from newretail.sim.world import SimCustomer, SimStore, World, seed_world, store_operations

MAX_DRAIN = timedelta(hours=6)  # after demand stops, the store works off its queue for at most this long
COLLECTION_DELAY_MAX_S = 20 * 60  # collection customers turn up within 20 minutes of the ready time
WEIGHED_READING = (0.93, 1.07)  # the scale reads within this band of the ordered grams (tolerance is 10%)
MAX_LINE_UNITS = ordering.MAX_LINE_UNITS
PROGRESS_EVERY = 250  # actions between progress callbacks

Progress = Callable[[float, float], None]  # (simulated seconds done, simulated seconds planned)
# Live mode (``newretail.sim.live``): called before each action with its simulated seconds; blocks
# until the action is due on the wall clock and returns the instant to set the clock to (never
# before the action's own), or None to stop the run.
Pace = Callable[[float], datetime | None]


@dataclass
class OrderState:
    id: str
    customer_id: str
    store: StoreAgent
    method: FulfilmentMethod
    ready_at: float  # collection: promised ready time (simulated seconds)
    key: str  # a stable name for this order's random draws (home store and arrival number)
    settled_at: float = 0.0  # the latest instant a substitution answer (or its timeout) lands


@dataclass
class Picker:
    id: str
    store: StoreAgent
    on_shift: bool = False
    busy: bool = False
    leaving: bool = False  # the shift ended while picking: leave once the batch is packed


@dataclass
class StoreAgent:
    index: int
    store: SimStore
    waiting: set[str] = field(default_factory=set)  # placed, not yet in a batch
    idle: deque[Picker] = field(default_factory=deque)  # longest idle first
    pickers: dict[str, Picker] = field(default_factory=dict)
    batches: int = 0
    arrivals: int = 0

    @property
    def id(self) -> str:
        return self.store.id

    def on_shift_staying(self) -> int:
        return sum(1 for p in self.pickers.values() if p.on_shift and not p.leaving)


@dataclass
class SimResult:
    scenario: Scenario
    world: World
    log: events.EventLog
    simulated_seconds: float
    wall_seconds: float  # the event loop only
    seeding_seconds: float
    actions: int
    courier_model: str
    unfinished_orders: int
    database: str  # the SQL dialect the services ran against

    @property
    def sim_speedup(self) -> float:
        return self.simulated_seconds / self.wall_seconds if self.wall_seconds > 0 else math.inf


class Simulation:
    def __init__(
        self,
        runtime: Runtime,
        scenario: Scenario,
        *,
        couriers: CourierAgents | None = None,
        world: World | None = None,
    ) -> None:
        if not isinstance(runtime.clock, SimulatedClock):
            raise TypeError("the digital twin needs a runtime on a SimulatedClock")
        self.runtime = runtime
        self.clock: SimulatedClock = runtime.clock
        self.scenario = scenario
        self.start = scenario.start
        self.horizon_s = scenario.duration.total_seconds()
        self.log = events.EventLog(self.start)
        self.ops = store_operations(scenario)
        self.couriers: CourierAgents = couriers or DispatchingCouriers()
        self.payments = TwinPayments(runtime, scenario.payment)
        self.now_s = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._world: World | None = world  # given: an existing world (the live demo city), not seeded
        self.stores: list[StoreAgent] = []
        self._store_by_id: dict[str, StoreAgent] = {}
        self.orders: dict[str, OrderState] = {}
        self.open_orders: set[str] = set()  # placed, not yet handed over, collected or cancelled
        self._products_cum_weights: list[float] = []

    # -- scheduling ---------------------------------------------------------------------------
    def at(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` at ``seconds`` after the start (never before the current event)."""
        heapq.heappush(self._queue, (max(seconds, self.now_s), next(self._sequence), action))

    def every(self, interval_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` every ``interval_s`` while demand lasts or orders are still open (a
        courier agent calls :meth:`finish_order` once an order is delivered)."""
        if interval_s <= 0:
            raise ValueError("interval must be positive")

        def tick() -> None:
            action()
            if self.now_s < self.horizon_s or self.open_orders:
                self.at(self.now_s + interval_s, tick)

        self.at(self.now_s + interval_s, tick)

    def instant(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def seconds(self, instant: datetime) -> float:
        return (instant - self.start).total_seconds()

    @property
    def world(self) -> World:
        if self._world is None:
            raise RuntimeError("the world is not seeded yet")
        return self._world

    @property
    def tenant_id(self) -> str:
        return self.world.tenant_id

    # -- running ------------------------------------------------------------------------------
    def run(self, progress: Progress | None = None, *, pace: Pace | None = None) -> SimResult:
        self.clock.set(self.start)
        seeding_began = wallclock.perf_counter()
        if self._world is None:
            self._world = seed_world(self.runtime, self.scenario)
        self.payments.attach(self)
        seeding_seconds = wallclock.perf_counter() - seeding_began
        products = self.world.products
        self._products_cum_weights = list(itertools.accumulate(p.weight for p in products))
        self.stores = [StoreAgent(s.index, s) for s in self.world.stores]
        self._store_by_id = {s.id: s for s in self.stores}
        for store in self.stores:
            self._schedule_pickers(store)
            self._schedule_next_arrival(store, 0.0)
        self.couriers.attach(self)
        self.started()
        if progress is not None:
            progress(0.0, self.horizon_s)

        began = wallclock.perf_counter()
        limit = self.horizon_s + MAX_DRAIN.total_seconds()
        actions = 0
        while self._queue:
            when, _, action = heapq.heappop(self._queue)
            if when > limit:
                break
            if pace is None:
                self.now_s = when
                self.clock.set(self.instant(when))
            else:
                paced = pace(when)
                if paced is None:
                    break
                instant = max(paced, self.instant(when))
                self.now_s = self.seconds(instant)
                self.clock.set(instant)
            self._perform(action)
            actions += 1
            if progress is not None and actions % PROGRESS_EVERY == 0:
                progress(min(when, self.horizon_s), self.horizon_s)
        wall = wallclock.perf_counter() - began
        if progress is not None:
            progress(self.horizon_s, self.horizon_s)
        return SimResult(
            scenario=self.scenario,
            world=self.world,
            log=self.log,
            simulated_seconds=self.now_s,
            wall_seconds=wall,
            seeding_seconds=seeding_seconds,
            actions=actions,
            courier_model=self.couriers.name,
            unfinished_orders=len(self.open_orders),
            database=self.runtime.engine.dialect.name,
        )

    def started(self) -> None:
        """Hook: the agents are in place, the first action is next (the live driver adopts here)."""

    def _perform(self, action: Callable[[], None]) -> None:
        """Hook: run one action (the twin lets an error end the run; the live driver logs it)."""
        action()

    # -- staff shifts -------------------------------------------------------------------------
    def shift_periods(self, shift: ShiftSpec) -> list[tuple[datetime, datetime]]:
        """Each day's shift that overlaps the demand window, from its start to its end (as the
        roster has it: not clipped)."""
        tz = self.start.tzinfo
        first: date = (self.start - timedelta(days=1)).date()
        last: date = (self.start + self.scenario.duration).date()
        periods = []
        day = first
        while day <= last:
            begins = datetime.combine(day, shift.start_time, tzinfo=tz)
            ends = datetime.combine(day, shift.end_time, tzinfo=tz)
            if ends <= begins:
                ends += timedelta(days=1)
            if max(self.seconds(begins), 0.0) < min(self.seconds(ends), self.horizon_s):
                periods.append((begins, ends))
            day += timedelta(days=1)
        return periods

    def shift_windows(self, shift: ShiftSpec) -> list[tuple[float, float]]:
        """Each day's [start, end) of the shift, clipped to the demand window, in simulated seconds."""
        return [
            (max(self.seconds(begins), 0.0), min(self.seconds(ends), self.horizon_s))
            for begins, ends in self.shift_periods(shift)
        ]

    def _schedule_pickers(self, store: StoreAgent) -> None:
        for spec_index, shift in enumerate(self.scenario.staff.pickers):
            given = store.store.picker_ids[spec_index] if store.store.picker_ids else None
            for n in range(shift.count):
                picker = Picker(given[n] if given else f"sim-picker-{store.index}-{spec_index}-{n}", store)
                store.pickers[picker.id] = picker
                for begins, ends in self.shift_windows(shift):
                    self.at(begins, partial(self._picker_starts, picker))
                    if ends < self.horizon_s:
                        self.at(ends, partial(self._picker_shift_ends, picker))

    def _picker_starts(self, picker: Picker) -> None:
        if picker.on_shift:
            picker.leaving = False  # back-to-back shifts: just stay
            return
        fulfilment.start_shift(
            self.runtime.uow(), tenant_id=self.tenant_id, store_id=picker.store.id, picker_id=picker.id
        )
        picker.on_shift, picker.leaving = True, False
        picker.store.idle.append(picker)
        self.log.record(self.now_s, events.SHIFT_STARTED, store=picker.store.id, role="picker", person=picker.id)
        self._assign_batches(picker.store)

    def _picker_shift_ends(self, picker: Picker) -> None:
        if not picker.on_shift:
            return
        picker.leaving = True
        if not picker.busy:
            self._leave_if_free(picker)

    def _leave_if_free(self, picker: Picker) -> bool:
        """A picker whose shift is over goes home, unless they are the last one and orders wait."""
        store = picker.store
        if store.waiting and store.on_shift_staying() == 0:
            return False
        fulfilment.end_shift(self.runtime.uow(), tenant_id=self.tenant_id, store_id=store.id, picker_id=picker.id)
        picker.on_shift = picker.leaving = False
        if picker in store.idle:
            store.idle.remove(picker)
        self.log.record(self.now_s, events.SHIFT_ENDED, store=store.id, role="picker", person=picker.id)
        return True

    # -- customers ----------------------------------------------------------------------------
    def _schedule_next_arrival(self, store: StoreAgent, after_s: float) -> None:
        """Non-homogeneous Poisson arrivals: hour by hour, a unit-rate exponential is spent against
        the hour's expected orders until it runs out."""
        rng = random.Random(f"{self.scenario.seed}/arrivals/{store.index}/{store.arrivals}")
        need = rng.expovariate(1.0)
        scale = store.store.spec.demand_scale
        tz = self.start.tzinfo
        t = after_s
        while t < self.horizon_s:
            local = self.instant(t).astimezone(tz)
            hour_end = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            segment_end = min(self.seconds(hour_end), self.horizon_s)
            rate = self.scenario.demand.rate(local.hour) * scale / 3600.0
            expected = rate * (segment_end - t)
            if rate > 0 and expected >= need:
                arrival = t + need / rate
                number = store.arrivals
                store.arrivals += 1
                self.at(arrival, partial(self._customer_arrives, store, number))
                return
            need -= expected
            t = segment_end

    def _customer_arrives(self, store: StoreAgent, number: int) -> None:
        self._schedule_next_arrival(store, self.now_s)
        demand = self.scenario.demand
        rng = random.Random(f"{self.scenario.seed}/order/{store.index}/{number}")
        customer = store.store.customers[rng.randrange(len(store.store.customers))]
        basket = self._basket(rng)
        collection = rng.random() < demand.collection_share
        wants_express = rng.random() < demand.express_share
        uow = self.runtime.uow
        tenant = self.tenant_id
        for product_id, quantity in basket:
            ordering.set_cart_line(
                uow(), tenant_id=tenant, customer_id=customer.id, product_id=product_id, quantity=quantity
            )
        method = FulfilmentMethod.COLLECTION if collection else FulfilmentMethod.DELIVERY
        try:
            plan = ordering.quote(
                uow(),
                tenant_id=tenant,
                customer_id=customer.id,
                method=method,
                address=None if collection else customer.address,
                store_id=store.id if collection else None,
            )
            quote = plan.quote
            slot = None
            if collection:
                option = DeliveryOption.COLLECTION
            elif quote.express is not None and (wants_express or not quote.slots):
                option = DeliveryOption.EXPRESS
            elif quote.slots:
                option, slot = DeliveryOption.SLOT, quote.slots[0].start
            else:
                option = None
            self.log.record(
                self.now_s,
                events.QUOTED,
                store=plan.store.id,
                method=method.value,
                express_offered=quote.express is not None,
                slots_offered=len(quote.slots),
                pick_complete_estimate=self.seconds(quote.pick_complete_at),
                delivery_eta=None if quote.delivery_eta is None else self.seconds(quote.delivery_eta),
            )
            if option is None:
                self._lose(customer, basket, store, "no_delivery_offer")
                return
            placed = ordering.checkout(
                uow(),
                tenant_id=tenant,
                customer_id=customer.id,
                method=method,
                option=option,
                address=None if collection else customer.address,
                store_id=store.id if collection else None,
                slot_start=slot,
                payment_mode=self.payments.mode,
            )
        except DomainError as exc:
            self._lose(customer, basket, store, exc.code)
            return
        declined = self.payments.pay(self, order_id=str(placed["id"]), customer_id=customer.id)
        if declined is not None:  # the order is cancelled and the cart already emptied by checkout
            self._lose(customer, [], store, declined)
            return
        # Checkout re-quotes from the same state at the same instant; the quote adds the start estimate.
        self._placed(placed, customer, store.index, number, self.seconds(quote.pick_starts_at))

    def _basket(self, rng: random.Random) -> list[tuple[str, int]]:
        spec = self.scenario.demand.basket
        products = self.world.products
        lines = min(spec.max_lines, 1 + _poisson(rng, spec.mean_lines - 1), len(products) // 2)
        chosen: dict[str, int] = {}
        while len(chosen) < lines:
            product = rng.choices(products, cum_weights=self._products_cum_weights)[0]
            if product.id in chosen:
                continue
            if product.sold_by is SoldBy.WEIGHT:
                low, high = spec.weighed_grams
                chosen[product.id] = max(low, int(round(rng.uniform(low, high), -1)))
            else:
                chosen[product.id] = min(MAX_LINE_UNITS, 1 + _geometric(rng, 1 / spec.mean_units_per_line))
        return sorted(chosen.items(), key=lambda item: self.world.sku_of[item[0]])

    def _lose(self, customer: SimCustomer, basket: list[tuple[str, int]], store: StoreAgent, reason: str) -> None:
        self.log.record(self.now_s, events.ORDER_LOST, store=store.id, reason=reason)
        for product_id, _ in basket:  # the customer empties the cart on the way out
            ordering.set_cart_line(
                self.runtime.uow(), tenant_id=self.tenant_id, customer_id=customer.id, product_id=product_id, quantity=0
            )

    def _placed(
        self, placed: dict[str, object], customer: SimCustomer, home: int, number: int, pick_start_estimate: float
    ) -> None:
        order_id = str(placed["id"])
        store = self._store_by_id[str(placed["store_id"])]
        promise = placed["promise"]
        assert isinstance(promise, dict)
        method = FulfilmentMethod(str(placed["method"]))
        lines = placed["lines"]
        assert isinstance(lines, list)
        items = sum(1 if line["sold_by"] == SoldBy.WEIGHT.value else int(line["quantity"]) for line in lines)
        pick_complete = self.seconds(datetime.fromisoformat(str(promise["pick_complete_estimate"])))
        ready = self.seconds(datetime.fromisoformat(str(promise["window_start"])))
        self.orders[order_id] = OrderState(order_id, customer.id, store, method, ready, f"{home}/{number}")
        self.open_orders.add(order_id)
        self.log.record(
            self.now_s,
            events.ORDER_PLACED,
            store=store.id,
            order=order_id,
            method=method.value,
            option=str(promise["kind"]),
            items=items,
            lines=len(lines),
            home_store=self.world.stores[home].id,
            arrival=number,
            pick_start_estimate=pick_start_estimate,
            pick_complete_estimate=pick_complete,
            promised_by=self.seconds(datetime.fromisoformat(str(promise["window_end"]))),
        )
        store.waiting.add(order_id)
        if method is FulfilmentMethod.DELIVERY:
            self.couriers.order_placed(self, order_id, store.id)
        self._assign_batches(store)

    # -- pickers ------------------------------------------------------------------------------
    def _assign_batches(self, store: StoreAgent) -> None:
        while store.waiting and store.idle:
            picker = store.idle.popleft()
            batch = self._next_batch(store, picker)
            if batch is None:  # nothing this picker may take now
                store.idle.appendleft(picker)
                return
            store.waiting.difference_update(batch.order_ids)
            picker.busy = True
            number = store.batches
            store.batches += 1
            self._walk(picker, batch, f"batch/{store.index}/{number}")

    def _walk(self, picker: Picker, batch: BatchView, key: str) -> None:
        """Log the batch and send the picker on its walk; ``key`` names its random draws."""
        self.log.record(
            self.now_s,
            events.BATCH_STARTED,
            store=picker.store.id,
            picker=picker.id,
            batch=batch.batch_id,
            orders=list(batch.order_ids),
        )
        _Walk(self, picker, batch, random.Random(f"{self.scenario.seed}/{key}")).begin()

    def _next_batch(self, store: StoreAgent, picker: Picker) -> BatchView | None:
        """The picker's next batch: the store's oldest waiting orders (every order is the twin's)."""
        return fulfilment.start_batch(
            self.runtime.uow(), tenant_id=self.tenant_id, store_id=store.id, picker_id=picker.id
        )

    def _picker_free(self, picker: Picker) -> None:
        picker.busy = False
        if picker.leaving and self._leave_if_free(picker):
            return
        picker.store.idle.append(picker)
        self._assign_batches(picker.store)

    def _packed(self, order: OrderState, picker: Picker) -> None:
        packed = fulfilment.pack(self.runtime.uow(), tenant_id=self.tenant_id, order_id=order.id, picker_id=picker.id)
        store_id = order.store.id
        if packed.status is OrderStatus.CANCELLED:
            self.log.record(self.now_s, events.ORDER_CANCELLED, store=store_id, order=order.id, reason="nothing picked")
            self.finish_order(order.id)
            return
        outcome = packed.fulfilment_outcome
        self.log.record(
            self.now_s,
            events.ORDER_PACKED,
            store=store_id,
            order=order.id,
            picker=picker.id,
            outcome=outcome.value if outcome else None,
        )
        if self.payments.is_held(order.id):  # the capture failed: packed, unpaid, it stays at the store
            self.finish_order(order.id)
            return
        if order.method is FulfilmentMethod.DELIVERY:
            self.couriers.order_packed(self, order.id, store_id)
        else:
            rng = random.Random(f"{self.scenario.seed}/collect/{order.key}")
            turns_up = max(self.now_s, order.ready_at) + rng.uniform(0, COLLECTION_DELAY_MAX_S)
            self.at(turns_up, lambda: self._collected(order))

    def _collected(self, order: OrderState) -> None:
        ordering.advance(self.runtime.uow(), tenant_id=self.tenant_id, order_id=order.id, step="collect")
        self.log.record(self.now_s, events.ORDER_COLLECTED, store=order.store.id, order=order.id)
        self.finish_order(order.id)

    def finish_order(self, order_id: str) -> None:
        """The order has left the twin (collected, delivered or handed over, or cancelled)."""
        self.open_orders.discard(order_id)

    def _answer(self, order: OrderState, line_id: str, approve: bool) -> None:
        fulfilment.answer_substitution(
            self.runtime.uow(),
            tenant_id=self.tenant_id,
            customer_id=order.customer_id,
            order_id=order.id,
            line_id=line_id,
            approve=approve,
        )
        self.log.record(
            self.now_s,
            events.SUBSTITUTION_ANSWERED,
            store=order.store.id,
            order=order.id,
            line=line_id,
            approved=approve,
        )


class _Walk:
    """One picker's walk through the store for one batch, then packing every tote."""

    def __init__(self, sim: Simulation, picker: Picker, batch: BatchView, rng: random.Random) -> None:
        self.sim = sim
        self.picker = picker
        self.batch = batch
        self.rng = rng
        sku = sim.world.sku_of
        # The pick list's walk, with ties at one shelf broken by SKU rather than by random ids.
        self.tasks: list[PickTask] = sorted(
            batch.pick_list.tasks,
            key=lambda t: (
                ZONE_WALK_RANK[t.zone],
                t.location.aisle,
                t.location.bay,
                t.location.shelf,
                t.tote,
                sku[t.product_id],
            ),
        )
        self.next_task = 0
        picking = sim.scenario.picking
        self.per_item = picking.seconds_per_item
        self.noise_cv = picking.noise_cv

    def noise(self) -> float:
        return mean_one_lognormal(self.rng, self.noise_cv)

    def begin(self) -> None:
        # Fetch and label a tote per order, print the list: the per-order part of the pick time.
        setup = self.sim.scenario.picking.seconds_per_order * len(self.batch.order_ids) * self.noise()
        self._schedule_task(self.sim.now_s + setup)

    def _schedule_task(self, after_s: float) -> None:
        if self.next_task >= len(self.tasks):
            self.sim.at(after_s, self.finish)
            return
        task = self.tasks[self.next_task]
        items = 1 if task.sold_by is SoldBy.WEIGHT else task.quantity
        self.sim.at(after_s + self.per_item * items * self.noise(), self.pick)

    def pick(self) -> None:
        sim = self.sim
        task = self.tasks[self.next_task]
        self.next_task += 1
        extra = 0.0
        if self.rng.random() < sim.scenario.substitution.out_of_shelf_probability:
            extra = self._shelf_empty(task)
        else:
            self._scan(task, task.barcode)
        self._schedule_task(sim.now_s + extra)

    def _scan(self, task: PickTask, barcode: str) -> int:
        """Scan what the line asks for with ``barcode`` (weighed goods with a plausible scale
        reading); returns the items handled."""
        sim = self.sim
        if task.sold_by is SoldBy.WEIGHT:
            grams = round(task.quantity * self.rng.uniform(*WEIGHED_READING))
            fulfilment.scan(
                sim.runtime.uow(),
                tenant_id=sim.tenant_id,
                order_id=task.order_id,
                line_id=task.order_line_id,
                barcode=barcode,
                grams=grams,
            )
            return 1
        fulfilment.scan(
            sim.runtime.uow(),
            tenant_id=sim.tenant_id,
            order_id=task.order_id,
            line_id=task.order_line_id,
            barcode=barcode,
            units=task.quantity,
        )
        return task.quantity

    def _shelf_empty(self, task: PickTask) -> float:
        """Offer the best in-stock substitute and pick it straight away (it goes back if the
        customer says no); with none, close the line short. Returns the extra seconds spent."""
        sim = self.sim
        uow, tenant = sim.runtime.uow, sim.tenant_id
        order = sim.orders[task.order_id]
        candidates = fulfilment.suggest_substitutes(
            uow(), tenant_id=tenant, order_id=task.order_id, line_id=task.order_line_id, limit=3
        )
        if not candidates:
            fulfilment.report_short(uow(), tenant_id=tenant, order_id=task.order_id, line_id=task.order_line_id)
            sim.log.record(
                sim.now_s,
                events.LINE_SHORT,
                store=order.store.id,
                order=order.id,
                line=task.order_line_id,
                substitute=None,
            )
            return 0.0
        substitute = candidates[0]
        fulfilment.propose_substitute(
            uow(),
            tenant_id=tenant,
            order_id=task.order_id,
            line_id=task.order_line_id,
            product_id=substitute.product_id,
        )
        sim.log.record(
            sim.now_s,
            events.LINE_SHORT,
            store=order.store.id,
            order=order.id,
            line=task.order_line_id,
            substitute=substitute.product_id,
        )
        spec = sim.scenario.substitution
        window = spec.respond_within_minutes * 60.0
        delay = self.rng.expovariate(1.0 / spec.mean_response_seconds)
        approve = self.rng.random() < spec.approve_rate
        if delay < window - 1.0:
            sim.at(sim.now_s + delay, lambda: sim._answer(order, task.order_line_id, approve))
            settles = sim.now_s + delay
        else:  # no answer in time: packing applies the customer's standing preference
            settles = sim.now_s + window + 1.0
        order.settled_at = max(order.settled_at, settles)
        items = self._scan(task, substitute.gtin)
        return self.per_item * items * self.noise()

    def finish(self) -> None:
        """Close every tote: at once, or when its substitution answers are in (the picker waits)."""
        sim = self.sim
        orders = sorted((sim.orders[oid] for oid in self.batch.order_ids), key=lambda o: (o.settled_at, o.id))
        remaining = len(orders)

        def pack(order: OrderState) -> None:
            nonlocal remaining
            sim._packed(order, self.picker)
            remaining -= 1
            if remaining == 0:
                sim._picker_free(self.picker)

        for order in orders:
            sim.at(max(sim.now_s, order.settled_at), partial(pack, order))


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _geometric(rng: random.Random, p: float) -> int:
    """Failures before the first success (mean (1 - p) / p)."""
    if p >= 1.0:
        return 0
    return int(math.log(1.0 - rng.random()) / math.log(1.0 - p))
