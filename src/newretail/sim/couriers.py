"""Simulated couriers driving the real delivery services.

The engine calls a :class:`CourierAgents` implementation when an order is placed or packed; the
agents schedule their own work on the simulated clock. :class:`DispatchingCouriers` is the twin's
courier fleet:

* **shifts** follow the scenario: ``delivery.start_shift`` at the start, ``end_shift`` at the end
  (a courier out on a trip finishes it first);
* **dispatch rounds** (``delivery.dispatch_tick``, the same call the API makes) run per store on
  events — an order packed, a courier back or starting a shift; events within
  ``event_gap_seconds`` of the store's last round share the next one — and on the regular cadence
  (``delivery.tick_seconds``) for stores whose state changed (:class:`DispatchTriggers`) or whose
  plan goes stale (``replan_at``); a store with nothing new is still visited every
  ``SAFETY_NET_ROUNDS`` cadences;
* **trips**: each loading trip departs at its planned start plus the pickup time (re-read from the
  latest round, which may have moved it); every drop is reached after the planner's leg time with
  lognormal noise (``ride_noise_cv``), the bag handed over (``deliver`` with proof) or, with
  probability ``customer_absent_rate``, not (``fail_delivery``); the courier rides back and
  ``arrive_back`` returns failed bags to the store (restock, refund event).

Everything lands in the event log (departures, doors reached, failures, returns, couriers back),
from which :mod:`newretail.sim.kpis` computes on-time rate, click-to-door, utilisation and the
ratio to the lower bound.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from newretail.core.geo import Point
from newretail.delivery import services as delivery
from newretail.delivery.model import DeliveryProof, FailureReason, StopStatus, TripStatus
from newretail.delivery.services import TripStateConflict, TripView
from newretail.delivery.triggers import DispatchTriggers
from newretail.sim import events
from newretail.sim.draws import mean_one_lognormal

if TYPE_CHECKING:
    from newretail.sim.engine import Simulation

POLICIES = ("optimised", "fifo-nearest")
SAFETY_NET_ROUNDS = 5  # a store with no change is still visited every this many cadences
PLANNING = delivery.DEFAULT_SETTINGS  # the delivery services' travel model and handling times


class CourierAgents(Protocol):
    name: str

    def attach(self, sim: Simulation) -> None:
        """Called once the world is seeded, before the first event: schedule shifts and ticks here."""

    def order_placed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        """A delivery order was placed at ``store_id``."""

    def order_packed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        """A delivery order's totes are packed and ready for a courier. Call ``sim.finish_order``
        once it is delivered or back in the store: periodic ticks run until every order is finished."""


@dataclass
class _Courier:
    id: str
    store_id: str
    speed_kmh: float
    on_shift: bool = False
    leaving: bool = False  # the shift ended while out: go off shift once back
    trip_id: str | None = None  # the trip riding or returning


@dataclass
class StoreDispatch:
    """One store's dispatch state in the twin: when it re-plans next and which loaded trips leave
    when. Subclasses' ``_round`` and ``_depart`` hooks receive it."""

    id: str
    location: Point
    replan_at: datetime | None = None
    event_round_at: float | None = None  # the pending event round (no round ran since it was due)
    last_round_s: float = float("-inf")
    idle_cadences: int = 0
    departures: dict[str, datetime] = field(default_factory=dict)  # loading trip -> planned start


class DispatchingCouriers:
    """The courier fleet of the twin, dispatched by the real dispatcher with ``policy``."""

    def __init__(self, policy: str = "optimised") -> None:
        if policy not in POLICIES:
            raise ValueError(f"unknown dispatch policy {policy!r}; choose one of {', '.join(POLICIES)}")
        self.policy = policy
        self.name = f"dispatcher:{policy}"
        self._sim: Simulation | None = None
        self._stores: dict[str, StoreDispatch] = {}
        self._couriers: dict[str, _Courier] = {}
        self._triggers = DispatchTriggers()
        self._budget = timedelta(seconds=1)
        self._tick = timedelta(seconds=60)

    @property
    def sim(self) -> Simulation:
        if self._sim is None:
            raise RuntimeError("the couriers are not attached to a simulation")
        return self._sim

    # -- set-up ---------------------------------------------------------------------------------
    def attach(self, sim: Simulation) -> None:
        self._sim = sim
        spec = sim.scenario.delivery
        self._budget = timedelta(milliseconds=spec.budget_ms)
        self._tick = timedelta(seconds=spec.tick_seconds)
        self._triggers.register(sim.runtime.bus)
        for store in sim.world.stores:
            self._stores[store.id] = StoreDispatch(store.id, Point(store.spec.lat, store.spec.lon))
            for shift, courier_ids in zip(sim.scenario.staff.couriers, store.courier_ids, strict=True):
                speed = sim.scenario.speeds.speed_of(shift.vehicle)
                for courier_id in courier_ids:
                    courier = self._couriers[courier_id] = _Courier(courier_id, store.id, speed)
                    for begins, ends in sim.shift_windows(shift):
                        sim.at(begins, partial(self._shift_starts, courier))
                        if ends < sim.horizon_s:
                            sim.at(ends, partial(self._shift_ends, courier))
            self._roster(store.id, store.courier_ids)
        sim.every(spec.tick_seconds, self._cadence)

    def _roster(self, store_id: str, courier_ids: Sequence[Sequence[str]]) -> None:
        """The store's roster, as a manager would enter it ahead: the promise reads it."""
        sim = self.sim
        now = sim.runtime.clock.now()
        wanted = [
            (courier_id, begins, ends)
            for shift, ids in zip(sim.scenario.staff.couriers, courier_ids, strict=True)
            for begins, ends in sim.shift_periods(shift)
            for courier_id in ids
            if ends > now
        ]
        if not wanted:
            return
        uow = sim.runtime.uow()
        with uow:
            since, until = min(w[1] for w in wanted), max(w[2] for w in wanted)
            rostered = delivery.store_roster(uow, tenant_id=sim.tenant_id, store_id=store_id, since=since, until=until)
            for courier_id, begins, ends in wanted:
                if any(r.courier_id == courier_id and r.starts_at < ends and begins < r.ends_at for r in rostered):
                    continue  # a run carried on over the same database rostered it already
                delivery.roster_shift_within(
                    uow,
                    tenant_id=sim.tenant_id,
                    store_id=store_id,
                    courier_id=courier_id,
                    starts_at=begins,
                    ends_at=ends,
                )
            uow.commit()

    def order_placed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        return None  # it joins the store's pool; the next cadence round sees it

    def order_packed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        self._round_now(store_id)

    # -- shifts ---------------------------------------------------------------------------------
    def _shift_starts(self, courier: _Courier) -> None:
        sim = self.sim
        if courier.on_shift:
            courier.leaving = False  # back-to-back shifts: stay on
            return
        delivery.start_shift(sim.runtime.uow(), tenant_id=sim.tenant_id, courier_id=courier.id)
        courier.on_shift, courier.leaving = True, False
        sim.log.record(sim.now_s, events.SHIFT_STARTED, store=courier.store_id, role="courier", person=courier.id)
        self._round_now(courier.store_id)

    def _shift_ends(self, courier: _Courier) -> None:
        if not courier.on_shift:
            return
        if courier.trip_id is not None:
            courier.leaving = True
            return
        self._go_off_shift(courier)

    def _go_off_shift(self, courier: _Courier) -> None:
        """Off shift; bags in hand at the store go back to the pool (the service does that)."""
        sim = self.sim
        delivery.end_shift(sim.runtime.uow(), tenant_id=sim.tenant_id, courier_id=courier.id)
        courier.on_shift = courier.leaving = False
        sim.log.record(sim.now_s, events.SHIFT_ENDED, store=courier.store_id, role="courier", person=courier.id)
        self._round_now(courier.store_id)

    # -- dispatch rounds ------------------------------------------------------------------------
    def _round_now(self, store_id: str) -> None:
        """A round for an event: at once, or ``event_gap_seconds`` after the store's last round
        (events meanwhile share it)."""
        store = self._stores[store_id]
        if store.event_round_at is None:
            gap = self.sim.scenario.delivery.event_gap_seconds
            store.event_round_at = max(self.sim.now_s, store.last_round_s + gap)
            self.sim.at(store.event_round_at, partial(self._event_round, store, store.event_round_at))

    def _event_round(self, store: StoreDispatch, at: float) -> None:
        # A cadence round since it was scheduled has seen these events (and maybe later ones
        # scheduled another event round): then this one is void.
        if store.event_round_at == at:
            self._round(store)

    def _cadence(self) -> None:
        now = self.sim.clock.now()
        dirty = {store_id for _, store_id in self._triggers.drain()}
        for store in self._stores.values():
            store.idle_cadences += 1
            stale = store.replan_at is not None and now >= store.replan_at
            if store.id in dirty or stale or store.idle_cadences >= SAFETY_NET_ROUNDS:
                self._round(store)

    def _round(self, store: StoreDispatch) -> None:
        sim = self.sim
        store.event_round_at = None
        store.idle_cadences = 0
        store.last_round_s = sim.now_s
        summary = delivery.dispatch_tick(
            sim.runtime.uow(), sim.tenant_id, store.id, self.policy, self._budget, horizon=self._tick, repeatable=True
        )
        store.replan_at = summary.replan_at
        for trip in summary.loading:
            first_time = trip.id not in store.departures
            # A round re-times a due trip to "now"; only a start still ahead of the round (an order
            # on it is being picked) holds the courier back.
            if first_time or trip.planned_start > summary.at:
                store.departures[trip.id] = trip.planned_start
            if first_time:
                self._schedule_departure(store, trip.id)

    # -- trips ----------------------------------------------------------------------------------
    def _schedule_departure(self, store: StoreDispatch, trip_id: str) -> None:
        sim = self.sim
        leaves = sim.seconds(store.departures[trip_id] + PLANNING.pickup)
        sim.at(leaves, partial(self._depart, store, trip_id))

    def _depart(self, store: StoreDispatch, trip_id: str) -> None:
        sim = self.sim
        planned_start = store.departures.get(trip_id)
        if planned_start is None:
            return
        if sim.clock.now() < planned_start + PLANNING.pickup:  # a later round moved the start
            self._schedule_departure(store, trip_id)
            return
        del store.departures[trip_id]
        try:
            trip = delivery.depart(sim.runtime.uow(), tenant_id=sim.tenant_id, trip_id=trip_id)
        except TripStateConflict:
            # The courier went off shift and handed the bags back: a later round re-plans them.
            self._round_now(store.id)
            return
        courier = self._couriers[trip.courier_id]
        courier.trip_id = trip.id
        sim.log.record(
            sim.now_s,
            events.TRIP_DEPARTED,
            store=store.id,
            courier=courier.id,
            trip=trip.id,
            orders=list(trip.order_ids),
        )
        for order_id in trip.order_ids:
            sim.log.record(sim.now_s, events.ORDER_DISPATCHED, store=store.id, order=order_id, courier=courier.id)
        self._ride_on(courier, trip)

    def _ride_on(self, courier: _Courier, trip: TripView) -> None:
        """Ride to the next drop, or back to the store when every stop is settled."""
        sim = self.sim
        now = sim.clock.now()
        out = trip.stops_in(StopStatus.OUT)
        # Keyed by the trip's first order, not by courier or trip ids (random), so a seed repeats.
        first = sim.orders[min(trip.stops, key=lambda s: s.sequence).order_id].key
        rng = random.Random(f"{sim.scenario.seed}/ride/{first}/{len(out)}")
        if out:
            stop = min(out, key=lambda s: s.sequence)
            assert stop.eta is not None
            leg = (stop.eta - now).total_seconds() * mean_one_lognormal(rng, self.sim.scenario.delivery.ride_noise_cv)
            sim.at(sim.now_s + leg, partial(self._at_door, courier, trip.id, stop.id, stop.order_id, stop.drop_off))
        else:
            leg = (trip.planned_back - now).total_seconds() * mean_one_lognormal(
                rng, self.sim.scenario.delivery.ride_noise_cv
            )
            sim.at(sim.now_s + leg, partial(self._back, courier, trip.id))

    def _at_door(self, courier: _Courier, trip_id: str, stop_id: str, order_id: str, drop_off: Point) -> None:
        sim = self.sim
        order = sim.orders[order_id]
        rng = random.Random(f"{sim.scenario.seed}/door/{order.key}")
        door_at = sim.now_s
        absent = rng.random() < sim.scenario.delivery.customer_absent_rate
        handover = PLANNING.handover.total_seconds() * mean_one_lognormal(rng, self.sim.scenario.delivery.ride_noise_cv)
        sim.at(
            sim.now_s + handover,
            partial(self._hand_over, courier, trip_id, stop_id, order_id, drop_off, door_at, absent),
        )

    def _hand_over(
        self,
        courier: _Courier,
        trip_id: str,
        stop_id: str,
        order_id: str,
        drop_off: Point,
        door_at: float,
        absent: bool,
    ) -> None:
        sim = self.sim
        uow, tenant = sim.runtime.uow, sim.tenant_id
        store = self._stores[courier.store_id]
        if absent:
            trip = delivery.fail_delivery(
                uow(), tenant_id=tenant, stop_id=stop_id, reason=FailureReason.CUSTOMER_ABSENT, position=drop_off
            )
            sim.log.record(sim.now_s, events.DELIVERY_FAILED, store=store.id, order=order_id, reason="customer_absent")
        else:
            proof = DeliveryProof(position=drop_off, photo_ref=f"sim/{order_id}.jpg", captured_at=sim.instant(door_at))
            trip = delivery.deliver(uow(), tenant_id=tenant, stop_id=stop_id, proof=proof)
            direct = PLANNING.travel.duration_s(store.location, drop_off, courier.speed_kmh)
            sim.log.record(
                door_at,
                events.ORDER_DELIVERED,
                store=store.id,
                order=order_id,
                courier=courier.id,
                direct_ride_s=direct,
            )
            sim.finish_order(order_id)
        self._ride_on(courier, trip)

    def _back(self, courier: _Courier, trip_id: str) -> None:
        sim = self.sim
        trip = delivery.arrive_back(sim.runtime.uow(), tenant_id=sim.tenant_id, trip_id=trip_id)
        courier.trip_id = None
        sim.log.record(sim.now_s, events.COURIER_BACK, store=courier.store_id, courier=courier.id, trip=trip_id)
        for stop in trip.stops_in(StopStatus.RETURNED):
            sim.log.record(sim.now_s, events.ORDER_RETURNED, store=courier.store_id, order=stop.order_id)
            sim.finish_order(stop.order_id)
        assert trip.status is TripStatus.DONE
        if courier.leaving:
            self._go_off_shift(courier)
        else:
            self._round_now(courier.store_id)
