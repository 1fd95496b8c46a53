"""Delivery promise: which store serves an address (zone) and when the order can arrive (ETA).

Pure Python, no I/O: the caller gathers the live state (queue, pickers, couriers, slot bookings)
and the current time from the injected clock, and these functions turn it into a quote.

Queueing approximation used by :func:`quote_promise` (deterministic, no randomness):

* **Picking** — parallel pickers, one FIFO queue, batch picking. Each picker on shift is described
  by the instant they are next free (an in-progress batch is folded into that instant; a shift
  starting later is simply a later instant). The queue, with the new order at its tail, is cut into
  batches exactly as the pickers will take them (:func:`newretail.fulfilment.batching.plan_batches`:
  oldest first, within the store's order and item limits); whichever picker frees up first takes
  the next batch ("list scheduling"). A batch takes the sum of its orders' pick times,
  ``seconds_per_order + seconds_per_item * items`` each (one walk, a tote per order), and every
  order in it is complete when the walk ends. The new order's batch is the last one; if it still
  has room and its picker is not free yet, orders arriving meanwhile join it and lengthen the walk:
  their number is the median of a Poisson count at the store's recent order rate, their size that
  of the orders waiting. With ``max_orders=1`` (the default) this is plain one-order-at-a-time FIFO.
* **Dispatch** — an order is ready for a courier ``dispatch_seconds`` after its pick completes
  (a slot order no earlier than its ``not_before``: the dispatcher holds it back until shortly
  before its slot). Couriers are taken first come first served by the rides due before the new
  order could leave (it is ready and a courier who can carry it is free): the trips the
  dispatcher has planned (each keeps a courier from its start until it is back), the picked
  orders not on a trip yet and the queued orders ahead. A queued or picked delivery order whose
  distance is known holds a courier for a round trip (``2 * ride``) divided by the orders a trip
  has recently carried at the store (``orders_per_trip``: 1 with no history, so the model errs on
  the safe side until the dispatcher has shown it batches); our order then leaves when the
  earliest courier who can carry it (its estimated totes and weight fit the vehicle) is back (or
  idle now). Rides due later do not delay it: the dispatcher serves the earlier-ready first. With
  no courier on shift who can carry it, delivery is not quoted at all (``delivery_unavailable``
  says why).
* **Ride** — ``distance_m * detour_factor / courier speed``, rounded up to whole seconds.

Express ("within 30 minutes") is offered only when the resulting delivery ETA is within the
express limit of now. Delivery slots are always listed (the app shows them as the alternative, or
as the only choice when express does not fit): a slot is offered when the store is open throughout
it, it still has room and the ETA falls no later than the slot's end.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from newretail.core.errors import Conflict, ValidationFailed
from newretail.core.geo import Point, haversine_km
from newretail.fulfilment.batching import BatchingPolicy, ReadyOrder, plan_batches

EXPRESS_LIMIT = timedelta(minutes=30)
ONE_ORDER_PER_WALK = BatchingPolicy(max_orders=1)


class OutsideDeliveryZone(ValidationFailed):
    """No store's delivery radius covers the address. Carries the nearest store and its distance."""

    code = "outside_delivery_zone"
    http_status = 422


class NoStoreOpen(Conflict):
    """The address is inside a delivery zone, but every store covering it is closed right now."""

    code = "no_store_open"
    http_status = 409


class NoPickersOnShift(Conflict):
    """Nobody is on (or starting) a picking shift, so no pick time can be promised."""

    code = "no_pickers_on_shift"
    http_status = 409


class OfferNotAvailable(Conflict):
    """The customer chose an option (express, a slot, collection) that this quote does not offer."""

    code = "offer_not_available"
    http_status = 409


def _require_aware(instant: datetime, field: str) -> None:
    if instant.tzinfo is None:
        raise ValidationFailed(f"{field} must be timezone-aware", field=field)


def distance_m(a: Point, b: Point) -> int:
    """Great-circle distance in whole metres."""
    return round(haversine_km(a, b) * 1000)


# --------------------------------------------------------------------------------------------
# Zone: which store serves this address
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreCandidate:
    """A store as seen by checkout: where it is, how far it delivers, and its state right now."""

    store_id: str
    location: Point
    delivery_radius_m: int
    is_open: bool
    has_every_line_in_stock: bool

    def __post_init__(self) -> None:
        if self.delivery_radius_m <= 0:
            raise ValidationFailed("delivery radius must be positive", field="delivery_radius_m")


@dataclass(frozen=True, slots=True)
class StoreChoice:
    store_id: str
    distance_m: int
    has_every_line_in_stock: bool


def choose_store(address: Point, candidates: Sequence[StoreCandidate]) -> StoreChoice:
    """Pick the store that serves ``address``.

    Eligible: the address is within the store's radius (great-circle) and the store is open.
    Among eligible stores, one with every line in stock wins; then the nearest; then the
    smallest id, so the answer is deterministic.

    Raises :class:`OutsideDeliveryZone` (with the nearest store and its distance) when no radius
    covers the address, and :class:`NoStoreOpen` when the covering stores are all closed.
    """
    measured = sorted(((distance_m(address, c.location), c.store_id, c) for c in candidates), key=lambda t: t[:2])
    if not measured:
        raise OutsideDeliveryZone("no store delivers here", nearest_store_id=None, nearest_distance_m=None)
    covering = [(d, c) for d, _, c in measured if d <= c.delivery_radius_m]
    if not covering:
        nearest_distance, nearest_id, _ = measured[0]
        raise OutsideDeliveryZone(
            f"the address is outside every delivery zone; the nearest store is {nearest_distance} m away",
            nearest_store_id=nearest_id,
            nearest_distance_m=nearest_distance,
        )
    open_covering = [(d, c) for d, c in covering if c.is_open]
    if not open_covering:
        nearest_distance, nearest = covering[0]
        raise NoStoreOpen(
            "every store delivering here is closed right now",
            nearest_store_id=nearest.store_id,
            nearest_distance_m=nearest_distance,
        )
    best_distance, best = min(open_covering, key=lambda dc: (not dc[1].has_every_line_in_stock, dc[0], dc[1].store_id))
    return StoreChoice(best.store_id, best_distance, best.has_every_line_in_stock)


# --------------------------------------------------------------------------------------------
# Promise: configuration, live state, quote
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PickTimeModel:
    """Seconds to pick one order: a fixed part (fetch tote, print, hand over) plus a part per item."""

    seconds_per_order: int = 120
    seconds_per_item: int = 15

    def __post_init__(self) -> None:
        if self.seconds_per_order < 0 or self.seconds_per_item < 0:
            raise ValidationFailed("pick times cannot be negative", field="pick_time_model")

    def pick_seconds(self, item_count: int) -> int:
        if item_count < 0:
            raise ValidationFailed("item count cannot be negative", field="item_count")
        return self.seconds_per_order + self.seconds_per_item * item_count


@dataclass(frozen=True, slots=True)
class RideTimeModel:
    """Ride time = straight-line distance x detour factor / courier speed."""

    detour_factor: float = 1.3
    courier_speed_kmh: float = 15.0

    def __post_init__(self) -> None:
        if self.detour_factor < 1.0:
            raise ValidationFailed("detour factor must be at least 1", field="detour_factor")
        if self.courier_speed_kmh <= 0:
            raise ValidationFailed("courier speed must be positive", field="courier_speed_kmh")

    def ride_seconds(self, distance_m: int) -> int:
        if distance_m < 0:
            raise ValidationFailed("distance cannot be negative", field="distance_m")
        metres_per_second = self.courier_speed_kmh * 1000 / 3600
        return math.ceil(distance_m * self.detour_factor / metres_per_second)


@dataclass(frozen=True, slots=True)
class PromiseConfig:
    pick: PickTimeModel = PickTimeModel()
    ride: RideTimeModel = RideTimeModel()
    express_limit: timedelta = EXPRESS_LIMIT
    dispatch_seconds: int = 60  # pick complete -> courier can leave (bagging, conveyor)
    collection_buffer_seconds: int = 300  # pick complete -> bags at the collection point
    max_slots_offered: int = 4
    batching: BatchingPolicy = ONE_ORDER_PER_WALK  # how the store's pickers batch orders

    def __post_init__(self) -> None:
        if self.express_limit <= timedelta(0):
            raise ValidationFailed("express limit must be positive", field="express_limit")
        if self.dispatch_seconds < 0 or self.collection_buffer_seconds < 0:
            raise ValidationFailed("buffers cannot be negative", field="promise_config")
        if self.max_slots_offered < 0:
            raise ValidationFailed("max slots offered cannot be negative", field="max_slots_offered")


@dataclass(frozen=True, slots=True)
class QueuedOrder:
    """An order at the store waiting for a picker (not yet started)."""

    order_id: str
    item_count: int
    queued_at: datetime
    distance_m: int | None = None  # delivery distance; None for click-and-collect (needs no courier)
    not_before: datetime | None = None  # a slot order rides no earlier than this

    def __post_init__(self) -> None:
        _require_aware(self.queued_at, "queued_at")
        if self.not_before is not None:
            _require_aware(self.not_before, "not_before")
        if self.item_count < 0:
            raise ValidationFailed("item count cannot be negative", field="item_count")


@dataclass(frozen=True, slots=True)
class DeliverySlot:
    start: datetime
    end: datetime
    capacity: int
    booked: int = 0

    def __post_init__(self) -> None:
        _require_aware(self.start, "start")
        _require_aware(self.end, "end")
        if self.end <= self.start:
            raise ValidationFailed("a slot must end after it starts", field="slot")
        if self.capacity < 0 or self.booked < 0:
            raise ValidationFailed("slot capacity and bookings cannot be negative", field="slot")

    @property
    def remaining(self) -> int:
        return max(0, self.capacity - self.booked)


_LAST_MOMENT = timedelta(seconds=1)  # a slot ending at closing time is open to its last second


def slot_starts(
    first_start: datetime,
    count: int,
    length: timedelta = timedelta(hours=1),
    is_open: Callable[[datetime], bool] | None = None,
) -> list[datetime]:
    """The starts of ``count`` back-to-back slots from ``first_start``, leaving out every slot the
    store is not open for from start to end (``is_open``): nobody delivers while it is closed."""
    starts = (first_start + i * length for i in range(count))
    if is_open is None:
        return list(starts)
    return [s for s in starts if is_open(s) and is_open(s + length - _LAST_MOMENT)]


def slot_grid(
    starts: Sequence[datetime],
    capacity: int,
    booked: Mapping[datetime, int] | None = None,
    length: timedelta = timedelta(hours=1),
) -> tuple[DeliverySlot, ...]:
    """A slot of ``length`` at each of ``starts``, each with ``capacity`` and its bookings."""
    booked = booked or {}
    return tuple(DeliverySlot(start, start + length, capacity, booked.get(start, 0)) for start in starts)


@dataclass(frozen=True, slots=True)
class CourierRide:
    """Courier time already spoken for: a ride leaving no earlier than ``leaves`` that keeps one
    courier for ``busy`` (a trip the dispatcher planned, or a picked order's share of a trip)."""

    leaves: datetime
    busy: timedelta

    def __post_init__(self) -> None:
        _require_aware(self.leaves, "leaves")
        if self.busy < timedelta(0):
            raise ValidationFailed("a ride cannot take negative time", field="busy")


@dataclass(frozen=True, slots=True)
class StoreLoad:
    """Live state of one store at ``now``.

    ``picker_free_at``: one instant per picker on (or starting) shift — when they are next free;
    an instant at or before ``now`` means idle. ``courier_free_at``: likewise per courier (idle
    now, or back from the current ride), and for a courier rostered later, the start of its shift;
    ``courier_off_at`` says when each one's rostered shift ends (``None``, or empty for all: not
    rostered to end), and a courier takes no ride at or after that; ``courier_can_carry`` says,
    courier by courier, whether it can carry the new order (empty: every courier can). ``courier_rides``: rides already due
    that will take a courier when they leave (planned trips, picked orders). ``orders_per_hour``:
    the store's recent order rate (``None``: unknown, estimate it from the queue).
    """

    now: datetime
    queued_orders: Sequence[QueuedOrder] = ()
    picker_free_at: Sequence[datetime] = ()
    courier_free_at: Sequence[datetime] = ()
    courier_can_carry: Sequence[bool] = ()
    courier_off_at: Sequence[datetime | None] = ()
    courier_rides: Sequence[CourierRide] = ()
    slots: Sequence[DeliverySlot] = ()
    orders_per_hour: float | None = None
    orders_per_trip: float = 1.0  # recent average: orders queued for couriers share rides at this rate

    def __post_init__(self) -> None:
        _require_aware(self.now, "now")
        if self.orders_per_hour is not None and self.orders_per_hour < 0:
            raise ValidationFailed("the order rate cannot be negative", field="orders_per_hour")
        if self.orders_per_trip < 1:
            raise ValidationFailed("a trip carries at least one order", field="orders_per_trip")
        for instant in (*self.picker_free_at, *self.courier_free_at):
            _require_aware(instant, "free_at")
        if self.courier_can_carry and len(self.courier_can_carry) != len(self.courier_free_at):
            raise ValidationFailed("say for every courier whether it can carry the order", field="courier_can_carry")
        if self.courier_off_at and len(self.courier_off_at) != len(self.courier_free_at):
            raise ValidationFailed("say for every courier when its shift ends (or None)", field="courier_off_at")
        for off in self.courier_off_at:
            if off is not None:
                _require_aware(off, "off_at")


class PromiseKind(StrEnum):
    EXPRESS = "express"
    SLOT = "slot"
    COLLECTION = "collection"


@dataclass(frozen=True, slots=True)
class DeliveryPromise:
    """What the customer was promised at checkout; recorded on the order.

    Express: the window is [quoted_at, quoted_at + express limit]. Slot: the slot. Collection:
    ``window_start`` is the promised ready time and ``window_end`` equals it.
    ``estimate`` is our own estimate inside the window (ETA or ready time).
    """

    kind: PromiseKind
    quoted_at: datetime
    window_start: datetime
    window_end: datetime
    estimate: datetime

    def __post_init__(self) -> None:
        for name in ("quoted_at", "window_start", "window_end", "estimate"):
            _require_aware(getattr(self, name), name)
        if self.window_end < self.window_start:
            raise ValidationFailed("a promise window must not end before it starts", field="promise")

    @property
    def is_delivery(self) -> bool:
        return self.kind is not PromiseKind.COLLECTION


@dataclass(frozen=True, slots=True)
class ExpressOffer:
    eta: datetime
    deadline: datetime  # now + express limit: what we promise


@dataclass(frozen=True, slots=True)
class SlotOffer:
    start: datetime
    end: datetime
    remaining: int


@dataclass(frozen=True, slots=True)
class PromiseQuote:
    quoted_at: datetime
    queue_position: int  # orders ahead of this one in the pick queue
    pick_starts_at: datetime
    pick_complete_at: datetime
    collection_ready_at: datetime
    delivery_eta: datetime | None  # None when not quoting delivery or no courier on shift can carry it
    express: ExpressOffer | None
    slots: tuple[SlotOffer, ...]
    delivery_unavailable: str | None = None  # why a delivery quote has no ETA, for the customer

    def express_promise(self) -> DeliveryPromise:
        if self.express is None:
            raise OfferNotAvailable(self._not_offered("express delivery is not offered right now"), option="express")
        return DeliveryPromise(
            PromiseKind.EXPRESS, self.quoted_at, self.quoted_at, self.express.deadline, self.express.eta
        )

    def slot_promise(self, slot_start: datetime) -> DeliveryPromise:
        for slot in self.slots:
            if slot.start == slot_start:
                assert self.delivery_eta is not None  # slots are only offered with an ETA
                estimate = max(self.delivery_eta, slot.start)
                return DeliveryPromise(PromiseKind.SLOT, self.quoted_at, slot.start, slot.end, estimate)
        raise OfferNotAvailable(
            self._not_offered("this delivery slot is not offered"), option="slot", slot_start=slot_start.isoformat()
        )

    def _not_offered(self, what: str) -> str:
        return what if self.delivery_unavailable is None else f"{what}: {self.delivery_unavailable}"

    def collection_promise(self) -> DeliveryPromise:
        ready = self.collection_ready_at
        return DeliveryPromise(PromiseKind.COLLECTION, self.quoted_at, ready, ready, ready)


def quote_promise(
    load: StoreLoad,
    item_count: int,
    distance_m: int | None,
    config: PromiseConfig = PromiseConfig(),
) -> PromiseQuote:
    """Quote pick-complete, collection-ready and delivery times for a new order of ``item_count``.

    ``distance_m`` is the store-to-address distance (from :func:`choose_store`); ``None`` quotes
    click-and-collect only. See the module docstring for the queueing approximation.
    """
    if not load.picker_free_at:
        raise NoPickersOnShift("no picker is on shift at this store")
    now = load.now
    queue = sorted(load.queued_orders, key=lambda q: (q.queued_at, q.order_id))
    pick_starts_at, pick_complete_at, ahead_ready = _pick_schedule(load, queue, item_count, config)
    collection_ready_at = pick_complete_at + timedelta(seconds=config.collection_buffer_seconds)

    delivery_eta: datetime | None = None
    unavailable: str | None = None
    can_carry = list(load.courier_can_carry) or [True] * len(load.courier_free_at)
    off_at = list(load.courier_off_at) or [None] * len(load.courier_free_at)
    if distance_m is not None and not load.courier_free_at:
        unavailable = "no courier is on shift"
    elif distance_m is not None and not any(can_carry):
        unavailable = "no courier on shift can carry an order this large"
    elif distance_m is not None:
        ready = pick_complete_at + timedelta(seconds=config.dispatch_seconds)
        leaves = _our_departure(load, can_carry, off_at, ready, ahead_ready, config)
        if leaves is None:
            unavailable = "every courier who can carry it ends their shift before it is ready"
        else:
            delivery_eta = leaves + timedelta(seconds=config.ride.ride_seconds(distance_m))

    express: ExpressOffer | None = None
    slots: tuple[SlotOffer, ...] = ()
    if delivery_eta is not None:
        deadline = now + config.express_limit
        if delivery_eta <= deadline:
            express = ExpressOffer(delivery_eta, deadline)
        eta = delivery_eta
        carriers = [
            (max(free_at, now), off)
            for free_at, fits, off in zip(load.courier_free_at, can_carry, off_at, strict=True)
            if fits
        ]

        def someone_rostered(slot: DeliverySlot) -> bool:
            return any(free < slot.end and (off is None or off > slot.start) for free, off in carriers)

        feasible = sorted(
            (s for s in load.slots if s.remaining > 0 and s.end > now and eta <= s.end and someone_rostered(s)),
            key=lambda s: s.start,
        )
        slots = tuple(SlotOffer(s.start, s.end, s.remaining) for s in feasible[: config.max_slots_offered])

    return PromiseQuote(
        quoted_at=now,
        queue_position=len(queue),
        pick_starts_at=pick_starts_at,
        pick_complete_at=pick_complete_at,
        collection_ready_at=collection_ready_at,
        delivery_eta=delivery_eta,
        express=express,
        slots=slots,
        delivery_unavailable=unavailable,
    )


def _our_departure(
    load: StoreLoad,
    can_carry: Sequence[bool],
    off_at: Sequence[datetime | None],
    ready: datetime,
    ahead_ready: Sequence[tuple[datetime, int]],
    config: PromiseConfig,
) -> datetime | None:
    """When the new order leaves the store: once it is ready and a courier who can carry it is
    free, after every ride due before that (``None``: each such courier's shift ends first)."""
    now = load.now
    # (free at, can carry ours, which), kept sorted: the rides ahead take whichever courier is
    # free first, on a tie one that could not carry ours; a courier whose shift has ended takes none.
    couriers = sorted(
        (max(free_at, now), fits, i)
        for i, (free_at, fits) in enumerate(zip(load.courier_free_at, can_carry, strict=True))
    )

    def on_shift_at(which: int, instant: datetime) -> bool:
        off = off_at[which]
        return off is None or instant < off

    def ours() -> datetime | None:
        # max(ready, free at) never falls along the sorted list: the first courier who can take
        # ours is the earliest departure.
        for at, fits, which in couriers:
            leaving = max(ready, at)
            if fits and on_shift_at(which, leaving):
                return leaving
        return None

    share = load.orders_per_trip
    rides = [(r.leaves, r.busy) for r in load.courier_rides]
    rides += [
        (ready_ahead, timedelta(seconds=2 * config.ride.ride_seconds(distance_ahead) / share))
        for ready_ahead, distance_ahead in ahead_ready
    ]
    # Every ride due before ours could leave goes first: due before it is ready, or before the
    # first courier who can carry it is free (a planned trip's start is often just its courier's
    # return). Ties go to the others: they were placed or planned earlier.
    for leaves_at, busy in sorted(rides):
        departure = ours()
        if departure is None or leaves_at > departure:
            break
        while couriers:
            free_at, fits, which = couriers.pop(0)
            starts = max(leaves_at, free_at)
            if on_shift_at(which, starts):
                bisect.insort(couriers, (starts + busy, fits, which))
                break
            # gone home: no ride for this courier any more
    return ours()


_NEW_ORDER = "\uffff new order"  # sorts after every real id, so the new order joins the tail


def _pick_schedule(
    load: StoreLoad, queue: Sequence[QueuedOrder], item_count: int, config: PromiseConfig
) -> tuple[datetime, datetime, list[tuple[datetime, int]]]:
    """When the new order's batch starts and ends, and when each queued delivery order ahead is
    ready for a courier: (ready, distance). See the module docstring."""
    now = load.now
    pick = config.pick
    policy = config.batching
    ready = [ReadyOrder(q.order_id, q.item_count, q.queued_at) for q in queue]
    ready.append(ReadyOrder(_NEW_ORDER, item_count, now))
    by_id = {q.order_id: q for q in queue}
    pickers = [max(free_at, now) for free_at in load.picker_free_at]
    heapq.heapify(pickers)
    ahead_ready: list[tuple[datetime, int]] = []
    for batch in plan_batches(ready, policy):
        start = heapq.heappop(pickers)
        seconds = sum(pick.pick_seconds(by_id[oid].item_count) for oid in batch.order_ids if oid != _NEW_ORDER)
        mine = _NEW_ORDER in batch.order_ids
        if mine:
            seconds += pick.pick_seconds(item_count)
            seconds += _joiners_seconds(load, queue, start, len(batch.order_ids), batch.item_count, config)
        done = start + timedelta(seconds=seconds)
        heapq.heappush(pickers, done)
        # The orders ahead, in earlier batches or in the new order's own (they are packed with it
        # and were placed first), will want couriers.
        for oid in batch.order_ids:
            queued = by_id.get(oid)
            if queued is not None and queued.distance_m is not None:
                for_courier = done + timedelta(seconds=config.dispatch_seconds)
                if queued.not_before is not None:
                    for_courier = max(for_courier, queued.not_before)
                ahead_ready.append((for_courier, queued.distance_m))
        if mine:
            return start, done, ahead_ready
    raise AssertionError("the new order is always in a batch")  # pragma: no cover


def _joiners_seconds(
    load: StoreLoad,
    queue: Sequence[QueuedOrder],
    start: datetime,
    batch_orders: int,
    batch_items: int,
    config: PromiseConfig,
) -> int:
    """Pick seconds of the orders expected to arrive before ``start`` and join the new order's batch.

    Arrivals are Poisson at the store's recent rate (or, unknown, the queue's: it holds every order
    placed since the oldest one still waiting); the count taken is the Poisson median, which
    minimises the absolute error. Newcomers are as big as the orders waiting (or the new one).
    """
    now = load.now
    if start <= now:
        return 0
    if load.orders_per_hour is not None:
        per_second = load.orders_per_hour / 3600
    else:
        age = (now - queue[0].queued_at).total_seconds() if len(queue) >= 2 else 0.0
        per_second = len(queue) / age if age > 0 else 0.0
    expected = per_second * (start - now).total_seconds()
    joiners = math.floor(expected + 1 / 3)  # the median of a Poisson count, to within one
    sizes = [q.item_count for q in queue] or [batch_items]
    typical_items = round(sum(sizes) / len(sizes))
    policy = config.batching
    room = policy.max_orders - batch_orders
    if typical_items > 0:
        room = min(room, (policy.max_items - batch_items) // typical_items)
    return max(0, min(joiners, room)) * config.pick.pick_seconds(typical_items)
