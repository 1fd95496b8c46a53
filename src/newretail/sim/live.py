"""Live traffic: the digital twin's agents moving the demo city on the real clock.

``newretail serve --live-orders`` runs this in a background thread next to the web app. It is the
twin (:mod:`newretail.sim.engine`, :mod:`newretail.sim.couriers`, :mod:`newretail.sim.payments`)
with three differences:

* **an existing world**: the seeded demo city instead of ``seed_world``. The live stores are every
  demo store except the one the demo's people work at (``seed.DEMO_STAFFED_STORE``: the manager,
  picker and courier logins), so a person and the driver never share a pick queue or a courier
  pool. At a live store the driver works the demo's own pickers (``demo-picker-*``, on shift since
  seeding) and its courier fleet (couriers without a login), and places orders for live shoppers it
  registers on first start (``live-NN.<store>@freshmart.test``, homes inside that store's delivery
  zone and outside every other store's, so the store choice cannot send them elsewhere);
* **the real clock**: the heap of timed actions is paced to wall time (:class:`WallPace`); before
  each action the driver's :class:`SimulatedClock` is set to the paced now, which is the real now
  when ``pace`` is 1 (tests run faster);
* **it keeps going**: an error in an action is logged and the driver carries on (a declined payment
  or an empty shelf is a lost customer, as in the twin); every few minutes it restocks low lines
  (``inventory.receive_many``, a delivery note at the back door) and tops up low wallets (test
  provider), so a demo can run for hours.

The driver acts only on orders it placed: its pickers take batches of its own orders by id, its
dispatch rounds pause while an order it did not place is in a live store's delivery pool (the
dispatcher would hand it to a live courier), and a courier never leaves with a trip that holds one.
A restart adopts what the last run left open (orders waiting, batches half picked, couriers out).
"""

from __future__ import annotations

import logging
import math
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from newretail.catalog import services as catalog
from newretail.catalog.model import SoldBy
from newretail.catalog.services import MAX_PRICE_LIST_PAGE
from newretail.core.clock import SimulatedClock
from newretail.core.db import make_engine
from newretail.core.errors import DomainError, NotFound, ValidationFailed
from newretail.core.geo import Point, haversine_km, offset_km
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.delivery import services as delivery
from newretail.delivery.model import TripStatus
from newretail.fulfilment import services as fulfilment
from newretail.fulfilment.batching import ReadyOrder, plan_batches
from newretail.fulfilment.model import LinesStillOpen, PickList
from newretail.fulfilment.services import AlreadyPicking, BatchView
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.config import StoreOperations
from newretail.ordering.model import TERMINAL_STATUSES, Order, OrderStatus
from newretail.payments import services as payments
from newretail.payments.model import Method
from newretail.seed import DEMO_PICKERS, DEMO_STAFFED_STORE, DEMO_TENANT
from newretail.sim import events
from newretail.sim.couriers import POLICIES, DispatchingCouriers, StoreDispatch
from newretail.sim.engine import OrderState, Picker, SimResult, Simulation, StoreAgent, _Walk
from newretail.sim.scenario import Scenario
from newretail.sim.world import SimCustomer, SimProduct, SimStore, World
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role, Store
from newretail.tenancy.repository import TenancyRepository
from newretail.tenancy.security import PasswordHashing

log = logging.getLogger(__name__)

DEFAULT_ORDERS_PER_HOUR = 45.0  # the city's, shared by the live stores
MAX_ORDERS_PER_HOUR = 3600.0
LIVE_HOURS = 14 * 24  # the longest scenario: after two weeks the shoppers stop coming
ALL_DAY = {"start": "00:00", "end": "00:00"}  # a shift that ends where it starts: round the clock
VEHICLE_ORDER = ("bike", "ebike", "car")
ZONE_FILL = 0.95  # homes clear of the live store's zone edge...
ZONE_CLEARANCE = 1.05  # ...and of every other store's
HOME_ATTEMPTS = 2000
SHOPPER_DOMAIN = "freshmart.test"
# Restocking: a line whose available stock falls below the reorder point is filled up to the level.
REORDER_UNITS, ORDER_UP_TO_UNITS = 6, 30
GRAMS_PER_UNIT = 1000  # weighed lines count in grams
# Wallets below the floor are topped up to the target (within the platform's top-up limit).
WALLET_FLOOR_MINOR, WALLET_TARGET_MINOR = 10_000, 30_000
LOG_KEEP = 2000  # newest twin log entries kept in memory (counts are kept for all)


class NoLiveCity(NotFound):
    """The database has no demo city (or no store where live traffic may run)."""

    code = "no_live_city"


@dataclass(frozen=True)
class LiveSettings:
    orders_per_hour: float = DEFAULT_ORDERS_PER_HOUR  # the whole city's, split evenly over live stores
    customers_per_store: int = 20
    pace: float = 1.0  # simulated seconds per wall second: 1 is the real clock
    policy: str = "optimised"
    budget_ms: int = 1000  # dispatch solver wall time per round and store
    housekeeping_minutes: float = 10.0  # restock, wallets, a status line in the log
    seed: int | None = None  # None: a fresh one per start

    def __post_init__(self) -> None:
        if not 0 < self.orders_per_hour <= MAX_ORDERS_PER_HOUR:
            raise ValidationFailed(
                f"orders per hour must be above 0 and at most {MAX_ORDERS_PER_HOUR:g}", field="orders_per_hour"
            )
        if not 1 <= self.customers_per_store <= 1000:
            raise ValidationFailed("customers per store must be 1 to 1000", field="customers_per_store")
        if not 0 < self.pace <= 10_000:
            raise ValidationFailed("pace must be above 0 and at most 10000", field="pace")
        if self.policy not in POLICIES:
            raise ValidationFailed(f"policy must be one of {', '.join(POLICIES)}", field="policy")
        if not 5 <= self.budget_ms <= 60_000:
            raise ValidationFailed("budget_ms must be 5 to 60000", field="budget_ms")
        if not 0 < self.housekeeping_minutes <= 24 * 60:
            raise ValidationFailed(
                "housekeeping minutes must be above 0 and at most a day", field="housekeeping_minutes"
            )


class WallPace:
    """Paces the twin's heap to the wall clock: the action due at ``s`` simulated seconds runs
    ``s / factor`` wall seconds after the pacer was made (later if the driver is behind), at the
    paced now ``start + elapsed * factor``. With ``factor`` 1 and ``start`` the real now, that is
    the real clock. Returns None once ``stop`` is set, waking at once if it is waiting."""

    def __init__(self, start: datetime, factor: float, stop: threading.Event) -> None:
        if factor <= 0:
            raise ValueError("the pace factor must be positive")
        self.start = start
        self.factor = factor
        self._stop = stop
        self._t0 = time.monotonic()

    def __call__(self, seconds: float) -> datetime | None:
        due = self._t0 + seconds / self.factor
        while (wait := due - time.monotonic()) > 0:
            if self._stop.wait(wait):
                return None
        if self._stop.is_set():
            return None
        elapsed = (time.monotonic() - self._t0) * self.factor
        return self.start + timedelta(seconds=max(seconds, elapsed))


class LiveLog(events.EventLog):
    """The twin's event log, bounded for a run of hours: counts of every kind, the newest entries."""

    def __init__(self, start: datetime, keep: int = LOG_KEEP) -> None:
        super().__init__(start)
        self.counts: Counter[str] = Counter()
        self._keep = keep

    def record(self, at: float, kind: str, *, store: str | None = None, order: str | None = None, **data: Any) -> None:
        super().record(at, kind, store=store, order=order, **data)
        self.counts[kind] += 1
        if len(self.entries) > 2 * self._keep:
            del self.entries[: -self._keep]


# -- the world: the demo city as the twin sees it ------------------------------------------------------
@dataclass(frozen=True)
class LiveCity:
    world: World
    scenario: Scenario
    others: list[Store]  # stores the driver leaves alone


def live_city(runtime: Runtime, settings: LiveSettings, start: datetime, seed: int) -> LiveCity:
    """The demo city's live stores, their staff and live shoppers (registered on first use), the
    assortment every live store sells, and a scenario that says how they behave."""
    with runtime.uow() as uow:
        tenant = TenancyRepository(uow.conn).tenant_by_slug(DEMO_TENANT)
    if tenant is None:
        raise NoLiveCity(f"there is no demo city ({DEMO_TENANT!r}) in this database: run `newretail seed` first")
    tenant_id = str(tenant.id)
    stores = tenancy.list_stores(runtime.uow(), tenant_id)
    live: list[tuple[Store, dict[str, list[str]]]] = []
    others: list[Store] = []
    for store in stores:
        couriers = delivery.store_couriers(runtime.uow(), tenant_id=tenant_id, store_id=store.id)
        if store.name == DEMO_STAFFED_STORE or any(c.user_id is not None for c in couriers):
            others.append(store)  # people work here: the driver must not share their queues
            continue
        fleet: dict[str, list[str]] = {v: [] for v in VEHICLE_ORDER}
        for courier in sorted(couriers, key=lambda c: c.name):
            if courier.vehicle in fleet:
                fleet[courier.vehicle].append(courier.id)
        live.append((store, fleet))
    if not live:
        raise NoLiveCity("the demo city has no store where live traffic may run (people work at every one)")
    vehicles = [v for v in VEHICLE_ORDER if any(fleet[v] for _, fleet in live)]
    ops = ordering.store_operations(runtime.uow(), tenant_id=tenant_id, store_id=live[0][0].id)
    scenario = Scenario.model_validate(
        {
            "name": "live demo",
            "seed": seed,
            "start": start,
            "duration_hours": LIVE_HOURS,
            "stores": [
                {
                    "name": store.name,
                    "lat": store.location.lat,
                    "lon": store.location.lon,
                    "radius_m": store.delivery_radius_m,
                    "couriers": [len(fleet[v]) for v in vehicles],
                    "opens": "00:00",
                    "closes": "00:00",
                    "timezone": store.timezone,
                }
                for store, fleet in live
            ],
            "demand": {
                "orders_per_hour": dict.fromkeys(range(24), settings.orders_per_hour / len(live)),
                "customers_per_store": settings.customers_per_store,
            },
            "staff": {
                "pickers": [{**ALL_DAY, "count": DEMO_PICKERS}],
                "couriers": [
                    {**ALL_DAY, "count": max(len(fleet[v]) for _, fleet in live), "vehicle": v} for v in vehicles
                ],
            },
            # The simulated staff work to the stores' own settings, which the promise plans with.
            "speeds": {"courier_kmh": ops.courier_speed_kmh, "detour_factor": ops.detour_factor},
            "picking": {
                "seconds_per_order": ops.seconds_per_order,
                "seconds_per_item": ops.seconds_per_item,
                "batch_max_orders": ops.batch_max_orders,
                "batch_max_items": ops.batch_max_items,
            },
            "substitution": {"respond_within_minutes": ops.substitution_response_minutes},
            "delivery": {"budget_ms": settings.budget_ms},
            "payment": {"method": "wallet", "wallet_top_up_minor": 0},  # the housekeeping tops up
        }
    )
    sim_stores = []
    for index, (store, fleet) in enumerate(live):
        sim_store = SimStore(
            index,
            store.id,
            store.name,
            scenario.stores[index],
            courier_ids=[fleet[v] for v in vehicles],
            picker_ids=[[f"demo-picker-{n}" for n in range(DEMO_PICKERS)]],
        )
        neighbours = [s for s in stores if s.id != store.id]
        sim_store.customers = _live_shoppers(runtime, tenant_id, index, store, neighbours, settings)
        sim_stores.append(sim_store)
    products = _assortment(runtime, tenant_id, [s for s, _ in live], seed)
    world = World(tenant_id, sim_stores, products, {p.id: p.sku for p in products})
    return LiveCity(world, scenario, others)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _live_shoppers(
    runtime: Runtime, tenant_id: str, index: int, store: Store, neighbours: list[Store], settings: LiveSettings
) -> list[SimCustomer]:
    """The store's live shoppers, registered (cheap argon2, a random password: nobody logs in as
    them) with a home address the first time, read back afterwards."""
    hashing = PasswordHashing(time_cost=1, memory_kib=64)
    shoppers = []
    for n in range(1, settings.customers_per_store + 1):
        email = f"live-{n:02d}.{_slug(store.name)}@{SHOPPER_DOMAIN}"
        with runtime.uow() as uow:
            user = TenancyRepository(uow.conn).user_by_email(tenant_id, email)
        user_id = str(user.id) if user is not None else None
        if user_id is None:
            user_id = tenancy.register_user(
                runtime.uow(),
                hashing,
                tenant_id=tenant_id,
                email=email,
                name=f"Live shopper {n} ({store.name})",
                password=secrets.token_urlsafe(24),
                role=Role.CUSTOMER,
            ).id
        homes = ordering.addresses(runtime.uow(), tenant_id, user_id)
        if homes:
            home = Point(float(homes[0].lat), float(homes[0].lon))
        else:
            home = home_address(store, neighbours, random.Random(email))
            ordering.add_address(
                runtime.uow(),
                tenant_id=tenant_id,
                customer_id=user_id,
                label="home",
                line1=f"{n} Live Lane",
                lat=home.lat,
                lon=home.lon,
            )
        shoppers.append(SimCustomer(user_id, index, home))
        _empty_cart(runtime, tenant_id, user_id)  # a line left by a run that stopped mid-basket
    return shoppers


def home_address(store: Store, neighbours: list[Store], rng: random.Random) -> Point:
    """A point uniformly inside ``store``'s delivery zone and clear of every neighbour's zone."""
    radius_km = store.delivery_radius_m / 1000 * ZONE_FILL
    for _ in range(HOME_ATTEMPTS):
        distance = radius_km * math.sqrt(rng.random())
        bearing = rng.uniform(0, 2 * math.pi)
        home = offset_km(store.location, distance * math.cos(bearing), distance * math.sin(bearing))
        if all(
            haversine_km(home, other.location) * 1000 > other.delivery_radius_m * ZONE_CLEARANCE for other in neighbours
        ):
            return home
    raise NoLiveCity(f"{store.name}'s delivery zone lies inside other stores' zones: no home is only its own")


def _empty_cart(runtime: Runtime, tenant_id: str, customer_id: str) -> None:
    cart = ordering.view_cart(runtime.uow(), tenant_id=tenant_id, customer_id=customer_id, store_id=None)
    for line in cart.lines:
        ordering.set_cart_line(
            runtime.uow(), tenant_id=tenant_id, customer_id=customer_id, product_id=line.product_id, quantity=0
        )


def _assortment(runtime: Runtime, tenant_id: str, stores: list[Store], seed: int) -> list[SimProduct]:
    """Products every live store prices and has a shelf for, with Zipf popularity over a shuffle
    (as the twin's world: best sellers spread over the store)."""
    shared: dict[str, Any] | None = None
    for store in stores:
        found: dict[str, Any] = {}
        while page := catalog.price_list(
            runtime.uow(), tenant_id, store.id, limit=MAX_PRICE_LIST_PAGE, offset=len(found)
        ):
            found.update((item.product.id, item.product) for item in page)
        located = catalog.locations(runtime.uow(), tenant_id, store.id, sorted(found))
        found = {pid: p for pid, p in found.items() if pid in located}
        shared = found if shared is None else {pid: p for pid, p in shared.items() if pid in found}
    products = sorted((shared or {}).values(), key=lambda p: p.sku)
    if len(products) < 2:
        raise NoLiveCity("the live stores share too few products to fill a basket")
    ranks = list(range(1, len(products) + 1))
    random.Random(f"{seed}/popularity").shuffle(ranks)
    return [
        SimProduct(p.id, p.sku, p.gtin, p.category, p.sold_by, 1.0 / rank**0.8)
        for p, rank in zip(products, ranks, strict=True)
    ]


# -- the agents -----------------------------------------------------------------------------------------
class LiveCouriers(DispatchingCouriers):
    """The twin's courier fleet, kept off orders the driver did not place."""

    def __init__(self, policy: str = "optimised") -> None:
        super().__init__(policy)
        self._warned: set[str] = set()

    def _round(self, store: StoreDispatch) -> None:
        sim = self.sim
        pool = ordering.delivery_queue(sim.runtime.uow(), tenant_id=sim.tenant_id, store_id=store.id)
        foreign = sorted(str(row.id) for row in pool if str(row.id) not in sim.orders)
        if foreign:
            # The dispatcher would hand it to one of the driver's couriers: wait until it is gone.
            store.event_round_at = None
            for order_id in foreign:
                if order_id not in self._warned:
                    self._warned.add(order_id)
                    log.warning(
                        "live traffic: order %s at store %s was not placed by live traffic; live dispatch "
                        "there waits until it has left the delivery pool",
                        order_id,
                        store.id,
                    )
            return
        super()._round(store)

    def _depart(self, store: StoreDispatch, trip_id: str) -> None:
        sim = self.sim
        trip = delivery.get_trip(sim.runtime.uow(), tenant_id=sim.tenant_id, trip_id=trip_id)
        if trip.courier_id not in self._couriers or any(o not in sim.orders for o in trip.order_ids):
            store.departures.pop(trip_id, None)
            log.warning("live traffic: trip %s is not the driver's to ride; left alone", trip_id)
            return
        super()._depart(store, trip_id)

    def out_on_trips(self) -> int:
        """Couriers riding or riding back (read from another thread: a snapshot, no lock)."""
        return sum(1 for courier in list(self._couriers.values()) if courier.trip_id is not None)

    def adopt(self) -> int:
        """Couriers a previous run left out on a trip ride on from where they are. Returns how many."""
        sim = self.sim
        riding = 0
        for courier in self._couriers.values():
            trip = delivery.courier_trip(sim.runtime.uow(), tenant_id=sim.tenant_id, courier_id=courier.id)
            if trip is None or trip.status not in (TripStatus.RIDING, TripStatus.RETURNING):
                continue
            assert isinstance(sim, LiveSimulation)
            sim.adopt_orders(trip.order_ids)
            courier.on_shift, courier.trip_id = True, trip.id
            self._ride_on(courier, trip)
            riding += 1
        return riding


class LiveSimulation(Simulation):
    """The twin on an existing world, paced by the caller, that logs errors and carries on."""

    def __init__(self, runtime: Runtime, city: LiveCity, settings: LiveSettings) -> None:
        couriers = LiveCouriers(settings.policy)
        super().__init__(runtime, city.scenario, couriers=couriers, world=city.world)
        self.settings = settings
        self.log: LiveLog = LiveLog(self.start)
        self.live_couriers = couriers
        self._ops: dict[str, StoreOperations] = {}
        self._reported: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()  # error code (a domain error), or "unexpected"
        self._adopted: Counter[str] = Counter()

    def pickers_picking(self) -> int:
        """Pickers walking a batch (read from another thread: a snapshot, no lock)."""
        return sum(1 for store in self.stores for picker in list(store.pickers.values()) if picker.busy)

    # -- hooks of the engine ----------------------------------------------------------------------
    def started(self) -> None:
        tenant = self.tenant_id
        for store in self.stores:
            self._ops[store.id] = ordering.store_operations(self.runtime.uow(), tenant_id=tenant, store_id=store.id)
        self._perform(self._adopt)
        self.at(0.0, self._stock_and_wallets)
        self.every(self.settings.housekeeping_minutes * 60, self._housekeep)

    def _perform(self, action: Callable[[], None]) -> None:
        try:
            action()
        except DomainError as exc:  # the world moved under the driver (a person acted, stock ran out)
            self.problems[exc.code] += 1
            log.warning("live traffic: %s: %s %s", _name(action), exc.code, exc)
            self._recover(action)
        except Exception:
            self.problems["unexpected"] += 1
            log.exception("live traffic: %s failed; carrying on", _name(action))
            self._recover(action)

    def _recover(self, action: Callable[[], None]) -> None:
        walk = getattr(action, "__self__", None)
        if isinstance(walk, _Walk) and getattr(action, "__func__", None) is _Walk.pick:
            walk._schedule_task(self.now_s)  # the picker moves on; packing closes what was left open

    def _next_batch(self, store: StoreAgent, picker: Picker) -> BatchView | None:
        """A batch of the driver's own waiting orders, named by id (orders someone else took are
        dropped from the queue); or the batch this picker left unfinished."""
        uow, tenant = self.runtime.uow, self.tenant_id
        now_placed = ordering.orders_by_ids(uow(), tenant_id=tenant, order_ids=sorted(store.waiting))
        gone = {
            oid for oid in store.waiting if oid not in now_placed or now_placed[oid].status is not OrderStatus.PLACED
        }
        store.waiting.difference_update(gone)
        ready = [ReadyOrder(o.id, o.item_count, o.created_at) for o in now_placed.values() if o.id not in gone]
        batches = plan_batches(ready, self._ops[store.id].batching)
        if not batches:
            return None
        try:
            return fulfilment.start_batch(
                uow(), tenant_id=tenant, store_id=store.id, picker_id=picker.id, order_ids=list(batches[0].order_ids)
            )
        except AlreadyPicking as exc:
            return self._unfinished_batch(picker, str(exc.details["batch_id"]))
        except DomainError as exc:  # someone took one of them just now: the next assignment retries
            log.info("live traffic: picker %s could not start a batch: %s", picker.id, exc.code)
            return None

    def _placed(
        self, placed: dict[str, object], customer: SimCustomer, home: int, number: int, pick_start_estimate: float
    ) -> None:
        store_id = str(placed["store_id"])
        if store_id in {s.id for s in self.stores}:
            super()._placed(placed, customer, home, number, pick_start_estimate)
            return
        # The store choice sent the shopper to a store the driver leaves alone: they cancel it.
        ordering.cancel_by_customer(
            self.runtime.uow(), tenant_id=self.tenant_id, customer_id=customer.id, order_id=str(placed["id"])
        )
        self.log.record(self.now_s, events.ORDER_LOST, store=store_id, reason="not_a_live_store")

    def _packed(self, order: OrderState, picker: Picker) -> None:
        """Pack as the twin does; lines a failed scan left open go short. Any other failure leaves
        the tote open and frees the picker: their next assignment walks the batch's rest again."""
        try:
            try:
                super()._packed(order, picker)
            except LinesStillOpen as exc:
                for line_id in exc.details.get("line_ids", []):
                    fulfilment.report_short(
                        self.runtime.uow(), tenant_id=self.tenant_id, order_id=order.id, line_id=line_id
                    )
                super()._packed(order, picker)
        except DomainError as exc:
            self.problems[exc.code] += 1
            log.warning("live traffic: packing order %s: %s %s", order.id, exc.code, exc)
            self.finish_order(order.id)
        except Exception:
            self.problems["unexpected"] += 1
            log.exception("live traffic: packing order %s failed", order.id)
            self.finish_order(order.id)

    # -- adopting what a previous run left open -----------------------------------------------------
    def adopt_orders(self, order_ids: tuple[str, ...] | list[str]) -> None:
        missing = [oid for oid in order_ids if oid not in self.orders]
        if missing:
            found = ordering.orders_by_ids(self.runtime.uow(), tenant_id=self.tenant_id, order_ids=missing)
            for order in found.values():
                self._track(order)

    def _track(self, order: Order) -> OrderState | None:
        store = self._store_by_id.get(order.store_id)
        if store is None:
            return None
        state = self.orders.get(order.id)
        if state is None:
            ready = self.seconds(order.promise.window_start)
            state = OrderState(order.id, order.customer_id, store, order.method, ready, f"adopted/{order.id}")
            self.orders[order.id] = state
        return state

    def _adopt(self) -> None:
        """Open orders of the live shoppers at live stores, from an earlier run: placed ones queue
        again, half-picked batches are walked on, bags out ride on, collections are collected."""
        uow, tenant = self.runtime.uow, self.tenant_id
        for store in self.stores:
            for customer in store.store.customers:
                for order in ordering.customer_orders(uow(), tenant, customer.id):
                    if order.status not in TERMINAL_STATUSES and order.store_id in self._store_by_id:
                        self._perform(partial(self._adopt_order, order))
        for store in self.stores:
            for picker in store.pickers.values():
                self._perform(partial(self._adopt_batch, picker))
        self._adopted["riding_couriers"] = self.live_couriers.adopt()
        if any(self._adopted.values()):
            log.info("live traffic: adopted from the last run: %s", {k: n for k, n in self._adopted.items() if n})

    def _adopt_order(self, order: Order) -> None:
        if order.status is OrderStatus.AWAITING_PAYMENT:  # stopped between checkout and paying
            if self.payments.pay(self, order_id=order.id, customer_id=order.customer_id) is not None:
                return
            order = ordering.get_order(self.runtime.uow(), self.tenant_id, order.id)
        state = self._track(order)
        if state is None:
            return
        self.open_orders.add(order.id)
        self._adopted[order.status.value] += 1
        if order.status is OrderStatus.PLACED:
            state.store.waiting.add(order.id)
        elif order.status is OrderStatus.READY_FOR_COLLECTION:
            self.at(max(self.now_s, state.ready_at), partial(self._collected, state))

    def _adopt_batch(self, picker: Picker) -> None:
        store = picker.store
        status = fulfilment.picker_status(
            self.runtime.uow(), tenant_id=self.tenant_id, store_id=store.id, picker_id=picker.id
        )
        batch = None if status.batch_id is None else self._unfinished_batch(picker, status.batch_id)
        if batch is None:
            return
        picker.on_shift = picker.busy = True  # the shift start at the first instant leaves them be
        self._walk(picker, batch, f"resume/{batch.batch_id}")
        self._adopted["batches"] += 1

    def _unfinished_batch(self, picker: Picker, batch_id: str) -> BatchView | None:
        """The rest of a batch this picker has open: the driver's orders still being picked, their
        lines not yet closed (the walk ends at the pack station, after answers still due)."""
        uow, tenant = self.runtime.uow, self.tenant_id
        view = fulfilment.batch_view(uow(), tenant_id=tenant, batch_id=batch_id)
        self.adopt_orders(view.order_ids)
        progress = fulfilment.picking_progress(uow(), tenant_id=tenant, order_ids=view.order_ids)
        open_orders = [oid for oid in view.order_ids if progress[oid].status == "open" and oid in self.orders]
        if not open_orders:
            log.warning(
                "live traffic: picker %s holds batch %s with nothing of the driver's to pick", picker.id, batch_id
            )
            return None
        open_lines: set[str] = set()
        for order_id in open_orders:
            picking = progress[order_id].picking
            open_lines.update(picking.open_line_ids)
            state = self.orders[order_id]
            self.open_orders.add(order_id)
            for substitution in picking.open_substitutions:
                state.settled_at = max(state.settled_at, self.seconds(substitution.respond_by) + 1.0)
        keep = set(open_orders)
        pick_list = PickList(
            tuple(t for t in view.pick_list.totes if t.order_id in keep),
            tuple(t for t in view.pick_list.tasks if t.order_id in keep and t.order_line_id in open_lines),
        )
        return BatchView(batch_id, picker.id, open_orders, pick_list)

    # -- housekeeping -----------------------------------------------------------------------------
    def _stock_and_wallets(self) -> None:
        self._perform(self._restock)
        self._perform(self._top_up_wallets)

    def _housekeep(self) -> None:
        self._stock_and_wallets()
        self._perform(self._report)

    def _restock(self) -> None:
        """A delivery note at the back door for every line below its reorder point."""
        uow, tenant = self.runtime.uow, self.tenant_id
        product_ids = [p.id for p in self.world.products]
        sold_by = {p.id: p.sold_by for p in self.world.products}
        for store in self.stores:
            levels = inventory.availability(uow(), tenant, store.id, product_ids)
            wanted = {}
            for product_id, level in levels.items():
                scale = GRAMS_PER_UNIT if sold_by[product_id] is SoldBy.WEIGHT else 1
                if level.available < REORDER_UNITS * scale:
                    wanted[product_id] = ORDER_UP_TO_UNITS * scale - level.available
            if wanted:
                inventory.receive_many(
                    uow(), tenant_id=tenant, store_id=store.id, quantities=wanted, reference="live traffic restock"
                )
                log.info("live traffic: restocked %d lines at %s", len(wanted), store.store.name)

    def _top_up_wallets(self) -> None:
        uow, tenant = self.runtime.uow, self.tenant_id
        currency = payments.tenant_currency(uow(), tenant)
        stamp = self.clock.now().strftime("%Y%m%dT%H%M%S")
        for store in self.stores:
            for customer in store.store.customers:
                balance = payments.wallet_balance(uow(), tenant_id=tenant, customer_id=customer.id, currency=currency)
                if balance.amount >= WALLET_FLOOR_MINOR:
                    continue
                payments.top_up_wallet(
                    uow(),
                    self.payments.providers,
                    tenant_id=tenant,
                    customer_id=customer.id,
                    amount=Money(WALLET_TARGET_MINOR - balance.amount, currency),
                    method=Method.TEST,
                    payment_code="tok_ok",
                    idempotency_key=f"live-wallet-{customer.id}-{stamp}",
                )

    def _report(self) -> None:
        counts = self.log.counts
        kinds = (events.ORDER_PLACED, events.ORDER_LOST, events.ORDER_PACKED, events.ORDER_DELIVERED)
        since = {kind: counts[kind] - self._reported[kind] for kind in kinds}
        self._reported.update(since)
        log.info(
            "live traffic: %d placed, %d lost, %d packed, %d delivered in the last %g minutes; %d open",
            *since.values(),
            self.settings.housekeeping_minutes,
            len(self.open_orders),
        )


def _name(action: Callable[[], None]) -> str:
    func = getattr(action, "func", action)  # functools.partial
    return str(getattr(func, "__qualname__", repr(func)))


# -- the background thread ------------------------------------------------------------------------------
class LiveTraffic:
    """Live traffic for a served demo: :meth:`start` prepares the city (errors surface there, e.g.
    :class:`NoLiveCity`) and runs the driver in a daemon thread; :meth:`stop` ends it.

    The driver has a runtime of its own: the same database engine, its own :class:`SimulatedClock`
    (the paced now) and its own message bus with the platform's handlers, so the web app's runtime
    and the driver's share only the database.
    """

    def __init__(
        self, runtime: Runtime, settings: LiveSettings | None = None, *, start: datetime | None = None
    ) -> None:
        self.settings = settings or LiveSettings()
        self._base = runtime
        self._start = start
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sim: LiveSimulation | None = None
        self.result: SimResult | None = None
        self._own_engine: Engine | None = None

    @property
    def sim(self) -> LiveSimulation:
        if self._sim is None:
            raise RuntimeError("live traffic has not started")
        return self._sim

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LiveCity:
        if self._thread is not None:
            raise RuntimeError("live traffic runs once; make another to start again")
        start = self._start or self._base.clock.now()
        seed = self.settings.seed if self.settings.seed is not None else int(start.timestamp())
        runtime = Runtime(engine=self._engine(), settings=self._base.settings, clock=SimulatedClock(start))
        city = live_city(runtime, self.settings, start, seed)
        self._sim = LiveSimulation(runtime, city, self.settings)
        pace = WallPace(start, self.settings.pace, self._stop)
        self._thread = threading.Thread(target=self._run, args=(pace,), name="newretail-live-orders", daemon=True)
        self._thread.start()
        return city

    def _engine(self) -> Engine:
        """The web app's engine on PostgreSQL; on SQLite the same file and settings through a small
        pool of its own, as the twin does: one thread of short transactions should not reconnect
        for each."""
        base = self._base.engine
        if base.dialect.name != "sqlite":
            return base
        self._own_engine = make_engine(
            base.url.render_as_string(hide_password=False), poolclass=QueuePool, pool_size=2, max_overflow=2
        )
        return self._own_engine

    def _run(self, pace: WallPace) -> None:
        try:
            self.result = self.sim.run(pace=pace)
        except Exception:
            log.exception("live traffic stopped after an error")
        finally:
            if self._own_engine is not None:
                self._own_engine.dispose()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop after the action under way; True once the thread has ended."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("live traffic did not stop within %.0f s", timeout)
            return False
        return True
