"""Delivery use cases: dispatch rounds around the pure planner, and the courier's day.

**Dispatch round** (:func:`dispatch_tick`): read the store's live state in a handful of queries
(delivery orders being picked or packed, couriers on shift, trips under way), turn it into a
:class:`~newretail.delivery.model.DispatchSnapshot`, and — only when something a planner looks
at changed, or the last plan went stale by the clock — call the policy, check its plan with
:func:`~newretail.delivery.planning.plan_violations` and act on it (see
:mod:`newretail.delivery.rounds` for the hand-over rule). A plan that breaks a rule is never acted
on: the round falls back to the fifo-nearest baseline, and raises if that fails too. When the only
news is what the standing plan expected (a courier back at the store, a planned trip due), a
policy that can (the optimiser's ``rebase``) carries that plan over and times it anew instead of
searching again, as long as every promise it made still holds.

**Loading is explicit.** A round hands packed orders to an at-store courier whose next trip starts
before the next round: the trip is ``loading``, the courier ``waiting``, the orders stay ``packed``.
The courier (the app, or the digital twin) calls :func:`depart` when leaving: only then do the
orders go ``out_for_delivery``. Nobody re-assigns a handed-over order; nobody touches a riding
courier's trip.

**Courier life cycle**, driven by the caller: :func:`start_shift`, :func:`update_position`,
:func:`depart`, :func:`deliver` (with proof), :func:`fail_delivery`, :func:`arrive_back`,
:func:`end_shift`. After each, ``couriers.free_at`` says when the courier is next free at the store
(now when there; the expected return otherwise), which is what the ordering promise reads.

Every function takes the unit of work and reads time from its clock only. Public functions open
and commit their own transaction; the ``*_within`` variants join the caller's (the API wraps them
for idempotency keys).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from newretail.catalog import services as catalog
from newretail.catalog.model import SoldBy
from newretail.core.errors import Conflict, DomainError, ValidationFailed
from newretail.core.geo import Point, haversine_km
from newretail.core.ids import new_id
from newretail.core.uow import UnitOfWork, joined
from newretail.delivery import roster
from newretail.delivery.events import (
    CourierBack,
    CourierShiftEnded,
    CourierShiftStarted,
    DeliveryFailed,
    OrderDelivered,
    OrdersHandedOver,
    TripDeparted,
)
from newretail.delivery.model import (
    STANDARD_VEHICLES,
    Courier,
    CourierState,
    DeliveryProof,
    Depot,
    DispatchOrder,
    DispatchPlan,
    DispatchSnapshot,
    FailureReason,
    ParcelLine,
    Postponed,
    StopStatus,
    TripStatus,
    VehicleKind,
    VehicleType,
    WrongDeliveryCode,
    estimate_load,
)
from newretail.delivery.planning import (
    DEFAULT_BUDGET,
    DEFAULT_TICK,
    DispatchPolicy,
    FifoNearestPolicy,
    PlanningSettings,
    plan_violations,
    policy_by_name,
)
from newretail.delivery.repository import (
    CourierNotFound,
    DeliveryRepository,
    StopNotFound,
    TripNotFound,
    plan_from_json,
    plan_to_json,
)
from newretail.delivery.rounds import (
    CourierInput,
    OrderInput,
    TripDecision,
    changes,
    decide,
    expected_changes_only,
    replan_at,
)
from newretail.delivery.rounds import round_inputs as make_round_inputs
from newretail.delivery.timeline import ride_timeline
from newretail.ordering import services as ordering
from newretail.ordering.model import Order, OrderStatus
from newretail.ordering.promise import PromiseKind
from newretail.tenancy.model import Store
from newretail.tenancy.repository import TenancyRepository

log = logging.getLogger(__name__)

DEFAULT_SETTINGS = PlanningSettings()
# A courier within this distance of the store is at the store.
ARRIVAL_RADIUS_M = 100
# An order still being picked after its estimated completion: assume it is packed a minute from now.
PICK_OVERRUN = timedelta(seconds=60)
# A round re-planning a standing plan for a few changes gives the solver this much per change
# (within the caller's budget, never less than the minimum): a warm start needs repair, not search.
SOLVE_BUDGET_PER_CHANGE = timedelta(milliseconds=8)
MIN_SOLVE_BUDGET = timedelta(milliseconds=15)
# The same effort counted in search iterations, for repeatable rounds (about as long, on this
# project's 2-core machines, for a busy store's zone).
ITERATIONS_PER_CHANGE = 25
MIN_ITERATIONS = 50
FRESH_ITERATIONS = 1500


class CourierNotOnShift(Conflict):
    code = "courier_not_on_shift"


class CourierBusy(Conflict):
    code = "courier_busy"


class TripStateConflict(Conflict):
    code = "trip_state_conflict"


class DispatchPlanRejected(DomainError):
    """Neither the chosen policy nor the baseline produced a plan that keeps the rules: a bug."""

    code = "dispatch_plan_rejected"
    http_status = 500


# -- views ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StopView:
    id: str
    order_id: str
    sequence: int
    status: StopStatus
    eta: datetime | None
    drop_off: Point
    promised_by: datetime
    delivered_at: datetime | None
    failure_reason: str | None


@dataclass(frozen=True, slots=True)
class TripView:
    id: str
    store_id: str
    courier_id: str
    status: TripStatus
    policy: str
    planned_start: datetime
    planned_back: datetime
    loaded_at: datetime | None
    departed_at: datetime | None
    returned_at: datetime | None
    stops: tuple[StopView, ...]

    @property
    def order_ids(self) -> tuple[str, ...]:
        return tuple(s.order_id for s in self.stops)

    def stops_in(self, *statuses: StopStatus) -> tuple[StopView, ...]:
        return tuple(s for s in self.stops if s.status in statuses)


@dataclass(frozen=True, slots=True)
class CourierView:
    id: str
    store_id: str
    user_id: str | None
    name: str
    vehicle: str
    on_shift: bool
    state: str  # idle | to_store | waiting | riding | returning | off
    position: Point | None
    position_at: datetime | None
    free_at: datetime | None
    shift_id: str | None


@dataclass(frozen=True, slots=True)
class TickSummary:
    """What one dispatch round did.

    ``assigned``: orders handed to a courier this round. ``planned``: orders on planned trips (or
    waiting to be handed over on a loading trip). ``postponed``: the rest, with the planner's
    reason. ``loading``: every trip of the store with bags in hand, waiting to leave at its
    ``planned_start`` — the caller departs them. ``solved`` is False when nothing had changed and
    the previous plan stood (nothing acted on); ``rebased`` when only what the plan expected had
    happened and it was carried over and acted on without a search. ``replan_at``: unless an
    order or a courier changes first, the next round that can change anything is at this instant
    (None: only a change can).
    """

    store_id: str
    policy: str
    at: datetime
    solved: bool
    assigned: tuple[str, ...]
    planned: tuple[str, ...]
    postponed: tuple[Postponed, ...]
    loading: tuple[TripView, ...]
    solve_ms: float
    tick_ms: float
    replan_at: datetime | None = None  # nothing changing, the plan stands until then
    fallback: bool = False
    rejected_violations: tuple[str, ...] = ()
    rebased: bool = False  # solved by carrying the standing plan over, without a search


@dataclass(frozen=True, slots=True)
class DispatchBoard:
    """The dispatcher's screen: the last round's plan and every trip under way."""

    store_id: str
    policy: str | None
    planned_at: datetime | None
    solve_ms: float
    solves: int
    postponed: tuple[Postponed, ...]
    trips: tuple[TripView, ...]
    couriers: tuple[CourierView, ...]


@dataclass(frozen=True, slots=True)
class TrackingView:
    """What the customer's app shows for a delivery order."""

    order_id: str
    order_status: str
    promised_by: datetime | None
    eta: datetime | None
    stop_status: str | None
    stops_before: int | None  # drops the courier makes before this one
    courier_name: str | None
    courier_position: Point | None
    delivery_code: str | None  # shown to the customer only once the bag is on its way


# -- couriers -------------------------------------------------------------------------------------
def add_courier(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    name: str,
    vehicle: str = "bike",
    user_id: str | None = None,
    speed_kmh: float | None = None,
    capacity_totes: int | None = None,
    capacity_weight_g: int | None = None,
) -> CourierView:
    """A courier on the store's roster, off shift. ``user_id`` links the login of the courier's app;
    vehicle defaults (speed, totes, grams) come from the vehicle kind unless given."""
    with uow:
        view = add_courier_within(
            uow,
            tenant_id=tenant_id,
            store_id=store_id,
            name=name,
            vehicle=vehicle,
            user_id=user_id,
            speed_kmh=speed_kmh,
            capacity_totes=capacity_totes,
            capacity_weight_g=capacity_weight_g,
        )
        uow.commit()
    return view


def add_courier_within(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    name: str,
    vehicle: str = "bike",
    user_id: str | None = None,
    speed_kmh: float | None = None,
    capacity_totes: int | None = None,
    capacity_weight_g: int | None = None,
) -> CourierView:
    if not name.strip():
        raise ValidationFailed("a courier needs a name", field="name")
    tenancy = TenancyRepository(uow.conn)
    tenancy.store(tenant_id, store_id)
    if user_id is not None:
        tenancy.user(tenant_id, user_id)
    courier_id = roster.add_courier(
        uow.conn,
        tenant_id=tenant_id,
        store_id=store_id,
        name=name.strip(),
        vehicle=vehicle,
        now=uow.clock.now(),
        user_id=user_id,
        speed_kmh=speed_kmh,
        capacity_totes=capacity_totes,
        capacity_weight_g=capacity_weight_g,
    )
    return _courier_view(DeliveryRepository(uow.conn).courier(tenant_id, courier_id))


def get_courier(uow: UnitOfWork, *, tenant_id: str, courier_id: str) -> CourierView:
    with joined(uow):
        return _courier_view(DeliveryRepository(uow.conn).courier(tenant_id, courier_id))


def courier_of_user(uow: UnitOfWork, *, tenant_id: str, user_id: str) -> CourierView:
    with joined(uow):
        return _courier_view(DeliveryRepository(uow.conn).courier_of_user(tenant_id, user_id))


def store_couriers(uow: UnitOfWork, *, tenant_id: str, store_id: str) -> list[CourierView]:
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        rows = DeliveryRepository(uow.conn).couriers_of_store(
            tenant_id, store_id, on_shift_only=False, for_update=False
        )
    return [_courier_view(r) for r in rows]


def roster_shift(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, courier_id: str, starts_at: datetime, ends_at: datetime
) -> roster.RosteredShift:
    """Roster a courier of ``store_id`` for a shift ahead; the promise counts couriers by it."""
    with uow:
        shift = roster_shift_within(
            uow, tenant_id=tenant_id, store_id=store_id, courier_id=courier_id, starts_at=starts_at, ends_at=ends_at
        )
        uow.commit()
    return shift


def roster_shift_within(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, courier_id: str, starts_at: datetime, ends_at: datetime
) -> roster.RosteredShift:
    row = DeliveryRepository(uow.conn).courier(tenant_id, courier_id, for_update=True)
    if row.store_id != store_id:
        raise CourierNotFound("no such courier at this store", courier_id=courier_id, store_id=store_id)
    return roster.roster_shift(
        uow.conn,
        tenant_id=tenant_id,
        store_id=store_id,
        courier_id=courier_id,
        starts_at=starts_at,
        ends_at=ends_at,
        now=uow.clock.now(),
    )


def unroster_shift(uow: UnitOfWork, *, tenant_id: str, store_id: str, shift_id: str) -> None:
    """Take a rostered shift off the roster (the courier's worked shifts are not touched)."""
    with uow:
        roster.unroster_shift(uow.conn, tenant_id=tenant_id, store_id=store_id, shift_id=shift_id)
        uow.commit()


def store_roster(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, since: datetime, until: datetime
) -> list[roster.RosteredShift]:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValidationFailed("the period needs a time zone", field="from")
    if until <= since:
        raise ValidationFailed("the period must end after it starts", field="until")
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        return roster.store_roster(uow.conn, tenant_id, store_id, since, until)


def start_shift(uow: UnitOfWork, *, tenant_id: str, courier_id: str, position: Point | None = None) -> CourierView:
    """On shift: at the store (``idle``) or, from ``position`` further away, on the way (``to_store``).
    Starting a shift that is already open changes nothing."""
    with uow:
        view = start_shift_within(uow, tenant_id=tenant_id, courier_id=courier_id, position=position)
        uow.commit()
    return view


def start_shift_within(
    uow: UnitOfWork, *, tenant_id: str, courier_id: str, position: Point | None = None
) -> CourierView:
    repo = DeliveryRepository(uow.conn)
    row = repo.courier(tenant_id, courier_id, for_update=True)
    if row.on_shift:
        return _courier_view(row)
    now = uow.clock.now()
    store = TenancyRepository(uow.conn).store(tenant_id, row.store_id)
    shift_id = new_id()
    repo.add_shift(id=shift_id, tenant_id=tenant_id, store_id=row.store_id, courier_id=courier_id, started_at=now)
    if position is None or _near(position, store.location):
        state, where, free_at = CourierState.IDLE, store.location, now
    else:
        state, where = CourierState.TO_STORE, position
        free_at = now + _ride(position, store.location, row.speed_kmh)
    repo.update_courier(
        tenant_id,
        courier_id,
        on_shift=True,
        state=state.value,
        lat=where.lat,
        lon=where.lon,
        position_at=now,
        shift_id=shift_id,
        free_at=free_at,
        updated_at=now,
    )
    uow.emit(CourierShiftStarted(tenant_id=tenant_id, courier_id=courier_id, store_id=row.store_id, shift_id=shift_id))
    return _courier_view(repo.courier(tenant_id, courier_id))


def end_shift(uow: UnitOfWork, *, tenant_id: str, courier_id: str) -> CourierView:
    """Off shift. Refused while out on a trip; bags in hand at the store are handed back (their
    orders return to the pool for the next round)."""
    with uow:
        view = end_shift_within(uow, tenant_id=tenant_id, courier_id=courier_id)
        uow.commit()
    return view


def end_shift_within(uow: UnitOfWork, *, tenant_id: str, courier_id: str) -> CourierView:
    repo = DeliveryRepository(uow.conn)
    row = repo.courier(tenant_id, courier_id, for_update=True)
    if not row.on_shift:
        raise CourierNotOnShift("this courier is not on shift", courier_id=courier_id)
    if row.state in (CourierState.RIDING.value, CourierState.RETURNING.value):
        raise CourierBusy("finish the trip and come back to the store first", courier_id=courier_id, state=row.state)
    now = uow.clock.now()
    for trip_id in repo.trip_ids_of_courier(tenant_id, courier_id, [TripStatus.LOADING]):
        repo.delete_stops(tenant_id, trip_id, [StopStatus.PLANNED, StopStatus.LOADED])
        repo.update_trip(tenant_id, trip_id, status=TripStatus.CANCELLED.value, returned_at=now)
    repo.delete_planned_of_courier(tenant_id, courier_id)
    if row.shift_id is not None:
        repo.end_shift(tenant_id, row.shift_id, now)
    repo.update_courier(tenant_id, courier_id, on_shift=False, state="off", free_at=None, shift_id=None, updated_at=now)
    uow.emit(
        CourierShiftEnded(tenant_id=tenant_id, courier_id=courier_id, store_id=row.store_id, shift_id=row.shift_id)
    )
    return _courier_view(repo.courier(tenant_id, courier_id))


def update_position(uow: UnitOfWork, *, tenant_id: str, courier_id: str, position: Point) -> CourierView:
    """Where the courier is now. Keeps ``free_at`` current: a courier heading to the store becomes
    ``idle`` on arrival; a riding courier's expected return is re-estimated from here."""
    with uow:
        view = update_position_within(uow, tenant_id=tenant_id, courier_id=courier_id, position=position)
        uow.commit()
    return view


def update_position_within(uow: UnitOfWork, *, tenant_id: str, courier_id: str, position: Point) -> CourierView:
    repo = DeliveryRepository(uow.conn)
    row = repo.courier(tenant_id, courier_id, for_update=True)
    if not row.on_shift:
        raise CourierNotOnShift("this courier is not on shift", courier_id=courier_id)
    now = uow.clock.now()
    store = TenancyRepository(uow.conn).store(tenant_id, row.store_id)
    values: dict[str, Any] = {"lat": position.lat, "lon": position.lon, "position_at": now, "updated_at": now}
    state = CourierState(row.state)
    if state is CourierState.TO_STORE:
        if _near(position, store.location):
            values.update(state=CourierState.IDLE.value, free_at=now)
        else:
            values["free_at"] = now + _ride(position, store.location, row.speed_kmh)
    elif state is CourierState.RETURNING:
        values["free_at"] = now + _ride(position, store.location, row.speed_kmh)
    elif state is CourierState.RIDING:
        trip_ids = repo.trip_ids_of_courier(tenant_id, courier_id, [TripStatus.RIDING])
        remaining = [r for r in repo.trip_stop_rows(tenant_id, trip_ids) if r.stop_status == StopStatus.OUT.value]
        _, back = ride_timeline(
            start_at=now,
            origin=position,
            drops=[Point(r.lat, r.lon) for r in remaining],
            depot=store.location,
            speed_kmh=row.speed_kmh,
            settings=DEFAULT_SETTINGS,
        )
        values["free_at"] = back
    repo.update_courier(tenant_id, courier_id, **values)
    return _courier_view(repo.courier(tenant_id, courier_id))


# -- trips ----------------------------------------------------------------------------------------
def depart(uow: UnitOfWork, *, tenant_id: str, trip_id: str, courier_id: str | None = None) -> TripView:
    """The courier leaves the store with the bags in hand: the trip rides, its orders go
    ``out_for_delivery``, ETAs are counted from now. Stops not handed over yet are dropped back
    into the pool. ``courier_id``, when given, must be the trip's courier (the courier's app)."""
    with uow:
        view = depart_within(uow, tenant_id=tenant_id, trip_id=trip_id, courier_id=courier_id)
        uow.commit()
    return view


def depart_within(uow: UnitOfWork, *, tenant_id: str, trip_id: str, courier_id: str | None = None) -> TripView:
    repo, courier, trip = _lock_trip(uow, tenant_id, trip_id, courier_id)
    if trip.status != TripStatus.LOADING.value:
        raise TripStateConflict(
            f"only a loading trip can depart; this one is {trip.status}", trip_id=trip_id, status=trip.status
        )
    now = uow.clock.now()
    store = TenancyRepository(uow.conn).store(tenant_id, trip.store_id)
    repo.delete_stops(tenant_id, trip_id, [StopStatus.PLANNED])
    loaded = [r for r in repo.trip_stop_rows(tenant_id, [trip_id]) if r.stop_status == StopStatus.LOADED.value]
    if not loaded:  # a loading trip is only made with a bag in it; refuse rather than ride empty
        raise TripStateConflict("this trip has nothing loaded", trip_id=trip_id)
    order_ids = [r.order_id for r in loaded]
    ordering.dispatch_within(uow, tenant_id=tenant_id, order_ids=order_ids)
    arrivals, back = ride_timeline(
        start_at=now,
        origin=store.location,
        drops=[Point(r.lat, r.lon) for r in loaded],
        depot=store.location,
        speed_kmh=courier.speed_kmh,
        settings=DEFAULT_SETTINGS,
    )
    repo.resequence_stops(
        [
            {"b_id": r.stop_id, "sequence": n, "eta": eta}
            for n, (r, eta) in enumerate(zip(loaded, arrivals, strict=True), 1)
        ]
    )
    repo.set_stops_status(tenant_id, trip_id, StopStatus.LOADED, StopStatus.OUT)
    repo.update_trip(tenant_id, trip_id, status=TripStatus.RIDING.value, departed_at=now, planned_back=back)
    repo.update_courier(
        tenant_id,
        courier.id,
        state=CourierState.RIDING.value,
        lat=store.location.lat,
        lon=store.location.lon,
        position_at=now,
        free_at=back,
        updated_at=now,
    )
    uow.emit(
        TripDeparted(
            tenant_id=tenant_id,
            trip_id=trip_id,
            courier_id=courier.id,
            store_id=trip.store_id,
            order_ids=order_ids,
            expected_back=back.isoformat(),
        )
    )
    return _trip_view(repo, tenant_id, trip_id)


def deliver(
    uow: UnitOfWork, *, tenant_id: str, stop_id: str, proof: DeliveryProof, courier_id: str | None = None
) -> TripView:
    """Handed over, with proof: the order is ``delivered``; the rest of the trip is re-timed from
    here, or the courier heads back when this was the last drop. A code that does not match the
    order's delivery code is refused (nothing changes); a proof far from the drop-off is kept
    with its distance, for review."""
    with uow:
        view = deliver_within(uow, tenant_id=tenant_id, stop_id=stop_id, proof=proof, courier_id=courier_id)
        uow.commit()
    return view


def deliver_within(
    uow: UnitOfWork, *, tenant_id: str, stop_id: str, proof: DeliveryProof, courier_id: str | None = None
) -> TripView:
    repo, courier, trip, stop = _lock_stop(uow, tenant_id, stop_id, courier_id)
    job = repo.job(tenant_id, stop.order_id)
    code = (proof.code or "").strip()
    if code and code != job.delivery_code:
        raise WrongDeliveryCode("that is not this order's delivery code", field="code", stop_id=stop_id)
    now = uow.clock.now()
    drop = Point(job.lat, job.lon)
    distance = round(haversine_km(proof.position, drop) * 1000)
    ordering.deliver_within(uow, tenant_id=tenant_id, order_id=stop.order_id)
    repo.update_stop(
        tenant_id,
        stop_id,
        status=StopStatus.DELIVERED.value,
        delivered_at=now,
        proof_lat=proof.position.lat,
        proof_lon=proof.position.lon,
        proof_distance_m=distance,
        proof_captured_at=proof.captured_at,
        proof_code_ok=True if code else None,
        proof_photo_ref=(proof.photo_ref or "").strip() or None,
    )
    _after_stop_settled(uow, repo, tenant_id, courier, trip, proof.position, now)
    uow.emit(
        OrderDelivered(
            tenant_id=tenant_id,
            order_id=stop.order_id,
            store_id=trip.store_id,
            trip_id=trip.id,
            courier_id=courier.id,
            delivered_at=now.isoformat(),
            promised_by=job.promised_by.isoformat(),
            late_seconds=max(0, int((now - job.promised_by).total_seconds())),
            proof_distance_m=distance,
            proof_by_code=bool(code),
            proof_photo_ref=(proof.photo_ref or "").strip() or None,
        )
    )
    return _trip_view(repo, tenant_id, trip.id)


def fail_delivery(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    stop_id: str,
    reason: FailureReason,
    note: str | None = None,
    position: Point | None = None,
    courier_id: str | None = None,
) -> TripView:
    """Could not hand it over (customer absent, ...): the order is ``delivery_failed`` and rides
    back with the courier; :func:`arrive_back` restocks it and raises the refund."""
    with uow:
        view = fail_delivery_within(
            uow,
            tenant_id=tenant_id,
            stop_id=stop_id,
            reason=reason,
            note=note,
            position=position,
            courier_id=courier_id,
        )
        uow.commit()
    return view


def fail_delivery_within(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    stop_id: str,
    reason: FailureReason,
    note: str | None = None,
    position: Point | None = None,
    courier_id: str | None = None,
) -> TripView:
    try:
        reason = FailureReason(reason)
    except ValueError:
        raise ValidationFailed(
            f"reason must be one of {sorted(r.value for r in FailureReason)}", field="reason"
        ) from None
    if note is not None and len(note) > 300:
        raise ValidationFailed("a note has at most 300 characters", field="note")
    repo, courier, trip, stop = _lock_stop(uow, tenant_id, stop_id, courier_id)
    job = repo.job(tenant_id, stop.order_id)
    now = uow.clock.now()
    where = position or Point(job.lat, job.lon)
    ordering.fail_delivery_within(uow, tenant_id=tenant_id, order_id=stop.order_id, reason=reason.value)
    repo.update_stop(
        tenant_id,
        stop_id,
        status=StopStatus.FAILED.value,
        failed_at=now,
        failure_reason=reason.value,
        failure_note=note,
        proof_lat=where.lat,
        proof_lon=where.lon,
        proof_distance_m=round(haversine_km(where, Point(job.lat, job.lon)) * 1000),
    )
    _after_stop_settled(uow, repo, tenant_id, courier, trip, where, now)
    uow.emit(
        DeliveryFailed(
            tenant_id=tenant_id,
            order_id=stop.order_id,
            store_id=trip.store_id,
            trip_id=trip.id,
            courier_id=courier.id,
            reason=reason.value,
        )
    )
    return _trip_view(repo, tenant_id, trip.id)


def arrive_back(uow: UnitOfWork, *, tenant_id: str, trip_id: str, courier_id: str | None = None) -> TripView:
    """Back at the store after the last drop: undelivered orders are handed in (``returned``: stock
    back with a ``return`` movement, refund raised), the trip is done, the courier ``idle``."""
    with uow:
        view = arrive_back_within(uow, tenant_id=tenant_id, trip_id=trip_id, courier_id=courier_id)
        uow.commit()
    return view


def arrive_back_within(uow: UnitOfWork, *, tenant_id: str, trip_id: str, courier_id: str | None = None) -> TripView:
    repo, courier, trip = _lock_trip(uow, tenant_id, trip_id, courier_id)
    if trip.status != TripStatus.RETURNING.value:
        raise TripStateConflict(
            f"only a returning trip can come back; this one is {trip.status} (settle every stop first)",
            trip_id=trip_id,
            status=trip.status,
        )
    now = uow.clock.now()
    store = TenancyRepository(uow.conn).store(tenant_id, trip.store_id)
    failed = [r for r in repo.trip_stop_rows(tenant_id, [trip_id]) if r.stop_status == StopStatus.FAILED.value]
    for row in sorted(failed, key=lambda r: r.order_id):  # orders are locked in id order
        ordering.return_to_store_within(uow, tenant_id=tenant_id, order_id=row.order_id)
        repo.update_stop(tenant_id, row.stop_id, status=StopStatus.RETURNED.value, returned_at=now)
    repo.update_trip(tenant_id, trip_id, status=TripStatus.DONE.value, returned_at=now)
    repo.update_courier(
        tenant_id,
        courier.id,
        state=CourierState.IDLE.value,
        lat=store.location.lat,
        lon=store.location.lon,
        position_at=now,
        free_at=now,
        updated_at=now,
    )
    uow.emit(
        CourierBack(
            tenant_id=tenant_id,
            trip_id=trip_id,
            courier_id=courier.id,
            store_id=trip.store_id,
            returned_order_ids=[r.order_id for r in failed],
        )
    )
    return _trip_view(repo, tenant_id, trip_id)


def _lock_trip(
    uow: UnitOfWork, tenant_id: str, trip_id: str, courier_id: str | None
) -> tuple[DeliveryRepository, Any, Any]:
    """Lock the trip's courier (the lock every courier action and dispatch round takes), then
    re-read the trip under it."""
    repo = DeliveryRepository(uow.conn)
    trip = repo.trip(tenant_id, trip_id)
    if courier_id is not None and trip.courier_id != courier_id:
        raise TripNotFound("trip not found", trip_id=trip_id)
    courier = repo.courier(tenant_id, trip.courier_id, for_update=True)
    return repo, courier, repo.trip(tenant_id, trip_id)


def _lock_stop(
    uow: UnitOfWork, tenant_id: str, stop_id: str, courier_id: str | None
) -> tuple[DeliveryRepository, Any, Any, Any]:
    repo = DeliveryRepository(uow.conn)
    stop = repo.stop(tenant_id, stop_id)
    try:
        repo, courier, trip = _lock_trip(uow, tenant_id, stop.trip_id, courier_id)
    except TripNotFound:
        raise StopNotFound("stop not found", stop_id=stop_id) from None
    stop = repo.stop(tenant_id, stop_id)
    if trip.status != TripStatus.RIDING.value or stop.status != StopStatus.OUT.value:
        raise TripStateConflict(
            f"only a stop out for delivery can be settled; this one is {stop.status} on a {trip.status} trip",
            stop_id=stop_id,
            status=stop.status,
        )
    return repo, courier, trip, stop


def _after_stop_settled(
    uow: UnitOfWork, repo: DeliveryRepository, tenant_id: str, courier: Any, trip: Any, here: Point, now: datetime
) -> None:
    """Re-time what is left of the trip from here; after the last drop, head back."""
    store = TenancyRepository(uow.conn).store(tenant_id, trip.store_id)
    remaining = [r for r in repo.trip_stop_rows(tenant_id, [trip.id]) if r.stop_status == StopStatus.OUT.value]
    arrivals, back = ride_timeline(
        start_at=now,
        origin=here,
        drops=[Point(r.lat, r.lon) for r in remaining],
        depot=store.location,
        speed_kmh=courier.speed_kmh,
        settings=DEFAULT_SETTINGS,
    )
    values: dict[str, Any] = {"lat": here.lat, "lon": here.lon, "position_at": now, "free_at": back, "updated_at": now}
    if remaining:
        repo.resequence_stops(
            [
                {"b_id": r.stop_id, "sequence": r.sequence, "eta": eta}
                for r, eta in zip(remaining, arrivals, strict=True)
            ]
        )
        repo.update_trip(tenant_id, trip.id, planned_back=back)
    else:
        repo.update_trip(tenant_id, trip.id, status=TripStatus.RETURNING.value, last_drop_at=now, planned_back=back)
        values["state"] = CourierState.RETURNING.value
    repo.update_courier(tenant_id, courier.id, **values)


# -- reads ----------------------------------------------------------------------------------------
def get_trip(uow: UnitOfWork, *, tenant_id: str, trip_id: str) -> TripView:
    with joined(uow):
        return _trip_view(DeliveryRepository(uow.conn), tenant_id, trip_id)


def courier_trip(uow: UnitOfWork, *, tenant_id: str, courier_id: str) -> TripView | None:
    """The courier's current trip (loading, riding or returning), else its planned next one."""
    with joined(uow):
        repo = DeliveryRepository(uow.conn)
        repo.courier(tenant_id, courier_id)
        for statuses in (
            [TripStatus.LOADING, TripStatus.RIDING, TripStatus.RETURNING],
            [TripStatus.PLANNED],
        ):
            trip_ids = repo.trip_ids_of_courier(tenant_id, courier_id, statuses)
            if trip_ids:
                return _trip_view(repo, tenant_id, trip_ids[0])
    return None


def store_trips(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    statuses: Sequence[TripStatus] = (TripStatus.PLANNED, TripStatus.LOADING, TripStatus.RIDING, TripStatus.RETURNING),
    limit: int = 200,
) -> list[TripView]:
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        repo = DeliveryRepository(uow.conn)
        trip_ids = repo.trip_ids_of_store(tenant_id, store_id, statuses, limit)
        return _trip_views(repo.trip_stop_rows(tenant_id, trip_ids))


def dispatch_board(uow: UnitOfWork, *, tenant_id: str, store_id: str) -> DispatchBoard:
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        repo = DeliveryRepository(uow.conn)
        row = repo.read_round(tenant_id, store_id)
        trips_ = _trip_views(repo.active_stops(tenant_id, store_id))
        couriers = repo.couriers_of_store(tenant_id, store_id, on_shift_only=True, for_update=False)
    plan = plan_from_json(row.plan) if row is not None and row.plan else None
    return DispatchBoard(
        store_id=store_id,
        policy=row.policy if row is not None else None,
        planned_at=row.planned_at if row is not None else None,
        solve_ms=row.solve_ms if row is not None else 0.0,
        solves=row.solves if row is not None else 0,
        postponed=plan.postponed if plan is not None else (),
        trips=tuple(trips_),
        couriers=tuple(_courier_view(r) for r in couriers),
    )


def order_tracking(uow: UnitOfWork, *, tenant_id: str, order: Order) -> TrackingView:
    """Where the customer's order is: the latest ETA (re-estimated from the courier's last reported
    position while riding), and the delivery code once the bag has been handed to a courier."""
    with joined(uow):
        repo = DeliveryRepository(uow.conn)
        rows = repo.order_stop_rows(tenant_id, order.id)
        current = next((r for r in rows if r.stop_status != StopStatus.PLANNED.value), rows[0] if rows else None)
        job = repo.job(tenant_id, order.id)
        if current is None:
            return TrackingView(
                order.id, order.status.value, order.promise.window_end, None, None, None, None, None, None
            )
        courier = repo.courier(tenant_id, current.courier_id)
        trip_rows = repo.trip_stop_rows(tenant_id, [current.trip_id])
        store = TenancyRepository(uow.conn).store(tenant_id, current.store_id)
    eta, before = current.eta, None
    if current.stop_status == StopStatus.OUT.value and courier.lat is not None:
        ahead = [r for r in trip_rows if r.stop_status == StopStatus.OUT.value]
        position = next(i for i, r in enumerate(ahead) if r.stop_id == current.stop_id)
        arrivals, _ = ride_timeline(
            start_at=max(uow.clock.now(), courier.position_at or uow.clock.now()),
            origin=Point(courier.lat, courier.lon),
            drops=[Point(r.lat, r.lon) for r in ahead[: position + 1]],
            depot=store.location,
            speed_kmh=courier.speed_kmh,
            settings=DEFAULT_SETTINGS,
        )
        eta, before = arrivals[-1], position
    handed = current.stop_status in (StopStatus.LOADED.value, StopStatus.OUT.value)
    return TrackingView(
        order_id=order.id,
        order_status=order.status.value,
        promised_by=current.promised_by,
        eta=eta,
        stop_status=current.stop_status,
        stops_before=before,
        courier_name=courier.name if handed else None,
        courier_position=Point(courier.lat, courier.lon) if handed and courier.lat is not None else None,
        delivery_code=job.delivery_code if handed and job is not None else None,
    )


def delivery_code(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> str | None:
    """The code the customer shows the courier (None until dispatch has seen the order)."""
    with joined(uow):
        job = DeliveryRepository(uow.conn).job(tenant_id, order_id)
    return None if job is None else str(job.delivery_code)


# -- dispatch rounds ------------------------------------------------------------------------------
_POLICIES: dict[str, DispatchPolicy] = {}


def resolve_policy(policy: DispatchPolicy | str) -> DispatchPolicy:
    """A policy object, or one by name (``fifo-nearest``, ``optimised``), built once per process."""
    if not isinstance(policy, str):
        return policy
    if policy not in _POLICIES:
        _POLICIES[policy] = policy_by_name(policy, DEFAULT_SETTINGS)
    return _POLICIES[policy]


def dispatch_tick(
    uow: UnitOfWork,
    tenant_id: str,
    store_id: str,
    policy: DispatchPolicy | str = "optimised",
    budget: timedelta | None = None,
    *,
    horizon: timedelta = DEFAULT_TICK,
    force: bool = False,
    repeatable: bool = False,
) -> TickSummary:
    """One dispatch round for one store (see the module docstring).

    ``budget`` bounds the solver's wall time (default 1 s; the optimiser also scales its time with
    the number of orders, so small stores take a few hundredths). ``horizon`` is the time to the
    next round: trips starting before then are loaded now. ``force`` re-plans even when nothing
    changed. ``repeatable`` counts the solver's effort in iterations rather than milliseconds
    (``budget`` then does not bound the search; a 30 s guard per zone does), so the same inputs
    give the same plan on a busy machine too: what the digital twin needs to compare runs.
    Rounds of one store are serialised by a row lock; different stores run in parallel.
    """
    with uow:
        summary = dispatch_tick_within(
            uow, tenant_id, store_id, policy, budget, horizon=horizon, force=force, repeatable=repeatable
        )
        uow.commit()
    return summary


def dispatch_tick_within(
    uow: UnitOfWork,
    tenant_id: str,
    store_id: str,
    policy: DispatchPolicy | str = "optimised",
    budget: timedelta | None = None,
    *,
    horizon: timedelta = DEFAULT_TICK,
    force: bool = False,
    repeatable: bool = False,
) -> TickSummary:
    started = time.perf_counter()
    if horizon <= timedelta(0):
        raise ValidationFailed("the horizon must be positive", field="horizon")
    chosen = resolve_policy(policy)
    settings: PlanningSettings = getattr(chosen, "settings", DEFAULT_SETTINGS)
    now = uow.clock.now()
    repo = DeliveryRepository(uow.conn)
    round_row = repo.round_for_update(tenant_id, store_id)
    if round_row is None:  # the store's first round: make sure it is this tenant's store
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        round_row = repo.create_round(tenant_id, store_id, chosen.name, now)
    # Four light reads tell whether anything changed; the rest is read only when it did.
    courier_rows = repo.on_shift_for_round(tenant_id, store_id)
    bag_rows = repo.bag_stops(tenant_id, store_id)
    queue = ordering.delivery_queue(uow, tenant_id=tenant_id, store_id=store_id)
    seen = _observe(queue, courier_rows, bag_rows, now)
    previous = plan_from_json(round_row.plan) if round_row.plan else None

    stale = round_row.replan_at is not None and now >= round_row.replan_at
    changed = changes(round_row.inputs, seen.inputs)
    fresh = force or previous is None or round_row.policy != chosen.name
    if previous is not None and not fresh and not stale and not changed:
        return TickSummary(
            store_id=store_id,
            policy=chosen.name,
            at=now,
            solved=False,
            assigned=(),
            planned=_still_planned(previous, seen.carrying),
            postponed=previous.postponed,
            loading=_loading_views(bag_rows),
            solve_ms=0.0,
            tick_ms=(time.perf_counter() - started) * 1000,
            replan_at=round_row.replan_at,
        )

    store = TenancyRepository(uow.conn).store(tenant_id, store_id)
    jobs = _ensure_jobs(uow, repo, tenant_id, store_id, queue, now)
    snapshot = _snapshot(store, queue, jobs, courier_rows, bag_rows, seen, now, previous)
    solve_started = time.perf_counter()
    budget = DEFAULT_BUDGET if budget is None else budget
    if budget <= timedelta(0):
        raise ValidationFailed("the planning budget must be positive", field="budget")
    iterations: int | None = None
    if repeatable:
        iterations = FRESH_ITERATIONS if fresh else max(MIN_ITERATIONS, ITERATIONS_PER_CHANGE * changed)
    elif not fresh:  # warm-started from the standing plan: repairing a few changes takes a few ms
        budget = min(budget, max(MIN_SOLVE_BUDGET, SOLVE_BUDGET_PER_CHANGE * changed))
    # Only what the plan expected happened (a courier back, a trip due): carry the plan over
    # without a search when every promise it made still holds.
    rebase: Callable[[DispatchSnapshot], DispatchPlan | None] | None = getattr(chosen, "rebase", None)
    plan = (
        rebase(snapshot)
        if rebase is not None and not fresh and expected_changes_only(round_row.inputs, seen.inputs)
        else None
    )
    if plan is not None and _violations(snapshot, plan, horizon, seen.packed):
        plan = None  # the plan no longer fits what happened: a search mends it
    rebased = plan is not None
    if plan is None:
        # Only a repeatable round passes the cap: a policy of the caller's own may not take it.
        plan = (
            chosen.plan(snapshot, budget)
            if iterations is None
            else chosen.plan(snapshot, budget, max_iterations=iterations)
        )
    if plan.stats.clock_stopped_zones:
        log.warning("dispatch round of store %s was cut short by the wall clock: it is not repeatable", store_id)
    violations = _violations(snapshot, plan, horizon, seen.packed)
    if violations:
        log.error("dispatch plan of %s for store %s broke the rules: %s", chosen.name, store_id, violations)
        plan = FifoNearestPolicy(settings).plan(snapshot, budget)
        again = _violations(snapshot, plan, horizon, seen.packed)
        if again:
            raise DispatchPlanRejected(
                "no dispatch plan kept the rules; nothing was changed", store_id=store_id, violations=again
            )
    solve_ms = (time.perf_counter() - solve_started) * 1000
    decisions = decide(plan, snapshot, seen.packed, horizon)
    assigned, loading = _act_on(uow, repo, tenant_id, store_id, chosen.name, decisions, bag_rows, snapshot, now)
    next_replan = replan_at(plan, snapshot, settings, horizon, seen.overdue)
    repo.save_round(
        tenant_id,
        store_id,
        policy=chosen.name,
        planned_at=now,
        replan_at=next_replan,
        inputs=_inputs_after(seen.inputs, decisions),
        plan=plan_to_json(plan),
        solve_ms=solve_ms,
        solves=round_row.solves + 1,
        updated_at=now,
    )
    return TickSummary(
        store_id=store_id,
        policy=chosen.name,
        at=now,
        solved=True,
        assigned=assigned,
        planned=tuple(oid for d in decisions for oid in d.order_ids if oid not in d.handed_over),
        postponed=plan.postponed,
        loading=loading,
        solve_ms=solve_ms,
        tick_ms=(time.perf_counter() - started) * 1000,
        replan_at=next_replan,
        fallback=bool(violations),
        rejected_violations=tuple(violations),
        rebased=rebased,
    )


def _violations(
    snapshot: DispatchSnapshot, plan: DispatchPlan, horizon: timedelta, packed: frozenset[str]
) -> list[str]:
    """The planner's rules, plus one of acting on a plan: bags in hand at the store stay on a trip."""
    problems = plan_violations(snapshot, plan)
    planned = {t.courier_id for t in plan.trips if not t.pinned}
    problems.extend(
        f"courier {c.id} holds bags but has no trip"
        for c in snapshot.couriers
        if c.carrying and c.state.at_store and c.id not in planned
    )
    return problems


@dataclass(frozen=True, slots=True)
class _Observed:
    """What the round saw, reduced to what a plan depends on."""

    inputs: dict[str, Any]
    carrying: dict[str, tuple[str, ...]]  # courier id -> orders in the bag, in drop-off order
    states: dict[str, CourierState]
    packed: frozenset[str]
    overdue: frozenset[str]  # still being picked past the estimate


def _observe(queue: list[Any], courier_rows: list[Any], bag_rows: list[Any], now: datetime) -> _Observed:
    order_inputs: dict[str, OrderInput] = {}
    packed: set[str] = set()
    overdue: set[str] = set()
    for row in queue:
        if row.status == OrderStatus.PACKED.value:
            packed.add(row.id)
            ready = f"packed:{row.updated_at.isoformat()}"
        else:
            ready = f"picking:{row.estimated_pick_complete.isoformat()}"
            if row.estimated_pick_complete <= now:
                overdue.add(row.id)
        order_inputs[row.id] = OrderInput(ready, row.promised_by.isoformat())
    bags: dict[str, list[str]] = {}
    for row in bag_rows:
        if _in_bag(row):
            bags.setdefault(row.courier_id, []).append(row.order_id)
    carrying = {courier_id: tuple(bag) for courier_id, bag in bags.items()}
    states: dict[str, CourierState] = {}
    courier_inputs: dict[str, CourierInput] = {}
    for row in courier_rows:
        state = CourierState(row.state) if row.state in _COURIER_STATES else CourierState.IDLE
        bag = carrying.get(row.id, ())
        if state is CourierState.RIDING and not bag:
            state = CourierState.RETURNING  # every stop settled: only the ride back is left
        states[row.id] = state
        at_store = state.at_store
        courier_inputs[row.id] = CourierInput(
            state=state.value if at_store else "away",
            carrying=bag if at_store else (),
            free_at=int(row.free_at.timestamp()) if not at_store and row.free_at is not None else None,
            vehicle=(row.speed_kmh, row.capacity_totes, row.capacity_weight_g or 0),
        )
    return _Observed(
        inputs=make_round_inputs(order_inputs, courier_inputs),
        carrying=carrying,
        states=states,
        packed=frozenset(packed),
        overdue=frozenset(overdue),
    )


_COURIER_STATES = frozenset(s.value for s in CourierState)


def _in_bag(row: Any) -> bool:
    loaded = row.trip_status == TripStatus.LOADING.value and row.stop_status == StopStatus.LOADED.value
    out = row.trip_status == TripStatus.RIDING.value and row.stop_status == StopStatus.OUT.value
    return bool(loaded or out)


def _snapshot(
    store: Store,
    queue: list[Any],
    jobs: dict[str, Any],
    courier_rows: list[Any],
    bag_rows: list[Any],
    seen: _Observed,
    now: datetime,
    previous: DispatchPlan | None,
) -> DispatchSnapshot:
    orders: dict[str, DispatchOrder] = {}
    for row in queue:
        job = jobs[row.id]
        if row.id in seen.packed:
            ready = row.updated_at
        else:
            estimate = row.estimated_pick_complete
            ready = estimate if estimate > now else now + PICK_OVERRUN
        if job.not_before is not None:
            ready = max(ready, job.not_before)
        orders[row.id] = _dispatch_order(store.id, row.id, job, ready, prompt=job.not_before is None)
    for row in bag_rows:  # out for delivery: no longer in the ordering queue
        if _in_bag(row) and row.order_id not in orders:
            # bags in hand ride as loaded
            orders[row.order_id] = _dispatch_order(store.id, row.order_id, row, row.packed_at or now, prompt=False)
    couriers = []
    for row in courier_rows:
        state = seen.states[row.id]
        away = not state.at_store
        couriers.append(
            Courier(
                id=row.id,
                store_id=store.id,
                vehicle=_vehicle(row),
                state=state,
                position=Point(row.lat, row.lon) if away and row.lat is not None else store.location,
                back_at=row.free_at if away else None,
                carrying=seen.carrying.get(row.id, ()),
            )
        )
    return DispatchSnapshot(
        now=now,
        depots=(Depot(store.id, store.location),),
        couriers=tuple(couriers),
        orders=tuple(orders.values()),
        previous=previous,
    )


def _dispatch_order(store_id: str, order_id: str, job: Any, ready: datetime, *, prompt: bool) -> DispatchOrder:
    return DispatchOrder(
        id=order_id,
        store_id=store_id,
        drop_off=Point(job.lat, job.lon),
        ready_at=ready,
        promised_by=job.promised_by,
        totes=job.totes,
        weight_g=job.weight_g,
        prompt=prompt,
    )


def _vehicle(row: Any) -> VehicleType:
    kind = roster.VEHICLE_KINDS.get(row.vehicle, VehicleKind.BIKE)
    standard = STANDARD_VEHICLES[kind]
    return VehicleType(
        kind=kind,
        speed_kmh=row.speed_kmh,
        capacity_totes=row.capacity_totes,
        capacity_weight_g=row.capacity_weight_g or standard.capacity_weight_g,
    )


def _inputs_after(inputs: dict[str, Any], decisions: Iterable[TripDecision]) -> dict[str, Any]:
    """The inputs as the next round will read them once this round's hand-overs are written, so
    that handing over does not itself count as a change; a courier holding its whole next trip
    carries the trip's planned return, so that leaving with it is no change either."""
    couriers = dict(inputs["couriers"])
    for decision in decisions:
        whole_trip = bool(decision.handed_over) and decision.handed_over.issuperset(decision.order_ids)
        if decision.newly_handed or whole_trip:
            _state, _bag, free_at, vehicle, _back = couriers[decision.courier_id]
            bag = [oid for oid in decision.order_ids if oid in decision.handed_over]
            back = int(decision.back_at.timestamp()) if whole_trip else None
            couriers[decision.courier_id] = [CourierState.WAITING.value, bag, free_at, vehicle, back]
    return {"orders": inputs["orders"], "couriers": couriers}


def _act_on(
    uow: UnitOfWork,
    repo: DeliveryRepository,
    tenant_id: str,
    store_id: str,
    policy: str,
    decisions: Sequence[TripDecision],
    bag_rows: list[Any],
    snapshot: DispatchSnapshot,
    now: datetime,
) -> tuple[tuple[str, ...], tuple[TripView, ...]]:
    """Write the round's decisions: replace planned trips and stops, load the trips that start now.
    Returns the orders handed over and every loading trip as it now stands."""
    repo.delete_planned(tenant_id, store_id)
    loading_trip = {r.courier_id: r for r in bag_rows if r.trip_status == TripStatus.LOADING.value}
    loaded_stop = {r.order_id: r.stop_id for r in bag_rows if r.stop_status == StopStatus.LOADED.value}
    orders = {o.id: o for o in snapshot.orders}
    new_trips: list[dict[str, Any]] = []
    new_stops: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    waiting: list[str] = []
    assigned: list[str] = []
    loading: list[TripView] = []
    for decision in decisions:
        existing = loading_trip.get(decision.courier_id)
        if decision.loading and existing is not None:
            trip_id, loaded_at = existing.trip_id, existing.loaded_at
            repo.retime_trip(tenant_id, trip_id, decision.starts_at, decision.back_at)
        else:
            trip_id, loaded_at = new_id(), now if decision.loading else None
            new_trips.append(
                {
                    "id": trip_id,
                    "tenant_id": tenant_id,
                    "store_id": store_id,
                    "courier_id": decision.courier_id,
                    "status": (TripStatus.LOADING if decision.loading else TripStatus.PLANNED).value,
                    "policy": policy,
                    "planned_start": decision.starts_at,
                    "planned_back": decision.back_at,
                    "created_at": now,
                    "loaded_at": loaded_at,
                }
            )
        stops: list[StopView] = []
        for sequence, (order_id, eta) in enumerate(zip(decision.order_ids, decision.arrivals, strict=True), 1):
            handed = order_id in decision.handed_over
            stop_id = loaded_stop.get(order_id)
            if stop_id is not None:
                moved.append({"b_id": stop_id, "sequence": sequence, "eta": eta})
            else:
                stop_id = new_id()
                new_stops.append(
                    {
                        "id": stop_id,
                        "tenant_id": tenant_id,
                        "trip_id": trip_id,
                        "order_id": order_id,
                        "sequence": sequence,
                        "status": (StopStatus.LOADED if handed else StopStatus.PLANNED).value,
                        "eta": eta,
                        "handed_over_at": now if handed else None,
                    }
                )
            order = orders[order_id]
            stops.append(
                StopView(
                    id=stop_id,
                    order_id=order_id,
                    sequence=sequence,
                    status=StopStatus.LOADED if handed else StopStatus.PLANNED,
                    eta=eta,
                    drop_off=order.drop_off,
                    promised_by=order.promised_by,
                    delivered_at=None,
                    failure_reason=None,
                )
            )
        if decision.loading:
            loading.append(
                TripView(
                    id=trip_id,
                    store_id=store_id,
                    courier_id=decision.courier_id,
                    status=TripStatus.LOADING,
                    policy=policy,
                    planned_start=decision.starts_at,
                    planned_back=decision.back_at,
                    loaded_at=loaded_at,
                    departed_at=None,
                    returned_at=None,
                    stops=tuple(stops),
                )
            )
        if decision.newly_handed:
            waiting.append(decision.courier_id)
            assigned.extend(decision.newly_handed)
            uow.emit(
                OrdersHandedOver(
                    tenant_id=tenant_id,
                    trip_id=trip_id,
                    courier_id=decision.courier_id,
                    store_id=store_id,
                    order_ids=list(decision.newly_handed),
                    planned_start=decision.starts_at.isoformat(),
                )
            )
    repo.add_trips(new_trips)
    repo.resequence_stops(moved)
    repo.add_stops(new_stops)
    repo.set_waiting(tenant_id, waiting, now)
    return tuple(assigned), tuple(loading)


def _still_planned(previous: DispatchPlan, carrying: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Orders on the standing plan's next trips that nobody holds yet."""
    held = {oid for bag in carrying.values() for oid in bag}
    return tuple(oid for t in previous.trips if not t.pinned for oid in t.order_ids if oid not in held)


def _loading_views(bag_rows: list[Any]) -> tuple[TripView, ...]:
    grouped: dict[str, list[Any]] = {}
    for row in bag_rows:
        if row.trip_status == TripStatus.LOADING.value:
            grouped.setdefault(row.trip_id, []).append(row)
    return tuple(
        TripView(
            id=trip_id,
            store_id=rows[0].store_id,
            courier_id=rows[0].courier_id,
            status=TripStatus.LOADING,
            policy=rows[0].policy,
            planned_start=rows[0].planned_start,
            planned_back=rows[0].planned_back,
            loaded_at=rows[0].loaded_at,
            departed_at=None,
            returned_at=None,
            stops=tuple(
                StopView(
                    id=r.stop_id,
                    order_id=r.order_id,
                    sequence=r.sequence,
                    status=StopStatus(r.stop_status),
                    eta=r.eta,
                    drop_off=Point(r.lat, r.lon),
                    promised_by=r.promised_by,
                    delivered_at=None,
                    failure_reason=None,
                )
                for r in rows
            ),
        )
        for trip_id, rows in grouped.items()
    )


def _ensure_jobs(
    uow: UnitOfWork, repo: DeliveryRepository, tenant_id: str, store_id: str, queue: list[Any], now: datetime
) -> dict[str, Any]:
    """Each queued order's drop-off and load, read from its document once (and once more when it is
    packed, to weigh what was actually picked)."""
    order_ids = [r.id for r in queue]
    jobs = repo.jobs(tenant_id, order_ids)
    missing = [r.id for r in queue if r.id not in jobs]
    repack = [
        r.id for r in queue if r.id in jobs and r.status == OrderStatus.PACKED.value and jobs[r.id].basis != "packed"
    ]
    if not missing and not repack:
        return jobs
    documents = ordering.orders_by_ids(uow, tenant_id=tenant_id, order_ids=missing + repack)
    weights = _unit_weights(uow, tenant_id, documents.values())
    added: list[dict[str, Any]] = []
    refreshed: list[dict[str, Any]] = []
    for order_id in missing:
        order = documents[order_id]
        if order.delivery_address is None:  # cannot happen for a delivery order; refuse loudly
            raise ValidationFailed("a delivery order without an address", order_id=order_id)
        is_packed = order.status is OrderStatus.PACKED
        load = _order_load(order, weights)
        promise = order.promise
        added.append(
            {
                "order_id": order_id,
                "tenant_id": tenant_id,
                "store_id": store_id,
                "lat": order.delivery_address.lat,
                "lon": order.delivery_address.lon,
                "totes": load.totes,
                "weight_g": load.weight_g,
                "basis": "packed" if is_packed else "ordered",
                "promised_by": promise.window_end,
                "not_before": promise.window_start - roster.SLOT_LEAD if promise.kind is PromiseKind.SLOT else None,
                "packed_at": order.entered_at(OrderStatus.PACKED) if is_packed else None,
                "delivery_code": f"{secrets.randbelow(10_000):04d}",
                "created_at": now,
            }
        )
    for order_id in repack:
        order = documents[order_id]
        load = _order_load(order, weights)
        refreshed.append(
            {
                "b_order_id": order_id,
                "totes": load.totes,
                "weight_g": load.weight_g,
                "basis": "packed",
                "packed_at": order.entered_at(OrderStatus.PACKED) or now,
            }
        )
    repo.add_jobs(added)
    repo.refresh_jobs(refreshed)
    # Only the rows just written are read again: at a busy store the queue holds a hundred orders.
    jobs.update(repo.jobs(tenant_id, missing + repack))
    return jobs


def _order_lines(order: Order) -> list[tuple[str, SoldBy, int]]:
    if order.final_lines is not None:
        return [(line.product_id, line.sold_by, line.quantity) for line in order.final_lines]
    return [(line.product_id, line.sold_by, line.quantity) for line in order.lines]


def _unit_weights(uow: UnitOfWork, tenant_id: str, orders: Iterable[Order]) -> dict[str, int]:
    product_ids = sorted({pid for order in orders for pid, sold_by, _ in _order_lines(order) if sold_by is SoldBy.EACH})
    if not product_ids:
        return {}
    return {pid: p.unit_weight_g for pid, p in catalog.products_by_ids(uow, tenant_id, product_ids).items()}


def _order_load(order: Order, weights: dict[str, int]) -> Any:
    return estimate_load(
        ParcelLine(sold_by is SoldBy.WEIGHT, quantity, weights.get(pid, 0))
        for pid, sold_by, quantity in _order_lines(order)
    )


# -- helpers --------------------------------------------------------------------------------------
def _near(a: Point, b: Point) -> bool:
    return haversine_km(a, b) * 1000 <= ARRIVAL_RADIUS_M


def _ride(a: Point, b: Point, speed_kmh: float) -> timedelta:
    return timedelta(seconds=DEFAULT_SETTINGS.travel.duration_s(a, b, speed_kmh))


def _courier_view(row: Any) -> CourierView:
    return CourierView(
        id=row.id,
        store_id=row.store_id,
        user_id=row.user_id,
        name=row.name,
        vehicle=row.vehicle,
        on_shift=bool(row.on_shift),
        state=row.state,
        position=Point(row.lat, row.lon) if row.lat is not None and row.lon is not None else None,
        position_at=row.position_at,
        free_at=row.free_at,
        shift_id=row.shift_id,
    )


def _trip_view(repo: DeliveryRepository, tenant_id: str, trip_id: str) -> TripView:
    views = _trip_views(repo.trip_stop_rows(tenant_id, [trip_id]))
    if views:
        return views[0]
    row = repo.trip(tenant_id, trip_id)  # a trip whose stops were all handed back
    return TripView(
        row.id,
        row.store_id,
        row.courier_id,
        TripStatus(row.status),
        row.policy,
        row.planned_start,
        row.planned_back,
        row.loaded_at,
        row.departed_at,
        row.returned_at,
        (),
    )


def _trip_views(rows: Iterable[Any]) -> list[TripView]:
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(row.trip_id, []).append(row)
    views = []
    for trip_rows in grouped.values():
        first = trip_rows[0]
        views.append(
            TripView(
                id=first.trip_id,
                store_id=first.store_id,
                courier_id=first.courier_id,
                status=TripStatus(first.trip_status),
                policy=first.policy,
                planned_start=first.planned_start,
                planned_back=first.planned_back,
                loaded_at=first.loaded_at,
                departed_at=first.departed_at,
                returned_at=first.returned_at,
                stops=tuple(
                    StopView(
                        id=r.stop_id,
                        order_id=r.order_id,
                        sequence=r.sequence,
                        status=StopStatus(r.stop_status),
                        eta=r.eta,
                        drop_off=Point(r.lat, r.lon),
                        promised_by=r.promised_by,
                        delivered_at=r.delivered_at,
                        failure_reason=r.failure_reason,
                    )
                    for r in sorted(trip_rows, key=lambda r: r.sequence)
                ),
            )
        )
    return views
