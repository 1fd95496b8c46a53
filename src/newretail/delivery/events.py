"""Events the delivery context publishes. Every one names its store, so a listener can tell which
store's dispatch round it concerns (see :mod:`newretail.delivery.triggers`)."""

from __future__ import annotations

from dataclasses import dataclass

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class CourierShiftStarted(Event):
    courier_id: str
    store_id: str
    shift_id: str


@dataclass(frozen=True, kw_only=True)
class CourierShiftEnded(Event):
    courier_id: str
    store_id: str
    shift_id: str | None


@dataclass(frozen=True, kw_only=True)
class OrdersHandedOver(Event):
    """A dispatch round put these packed orders in a courier's bag; the trip leaves at ``planned_start``."""

    trip_id: str
    courier_id: str
    store_id: str
    order_ids: list[str]
    planned_start: str


@dataclass(frozen=True, kw_only=True)
class TripDeparted(Event):
    trip_id: str
    courier_id: str
    store_id: str
    order_ids: list[str]
    expected_back: str


@dataclass(frozen=True, kw_only=True)
class OrderDelivered(Event):
    """Handed to the customer, with the proof: pay-on-delivery payment and insights listen to this."""

    order_id: str
    store_id: str
    trip_id: str
    courier_id: str
    delivered_at: str
    promised_by: str
    late_seconds: int
    proof_distance_m: int
    proof_by_code: bool
    proof_photo_ref: str | None


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(Event):
    """The courier could not hand it over; the bags ride back (the refund follows on return)."""

    order_id: str
    store_id: str
    trip_id: str
    courier_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CourierBack(Event):
    trip_id: str
    courier_id: str
    store_id: str
    returned_order_ids: list[str]
