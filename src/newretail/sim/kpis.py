"""KPIs of a twin run, computed from its event log alone.

The log is folded once into one :class:`OrderTimeline` per order (an order seen placed, started or
packed twice is an inconsistent log and raises: nothing is ever counted twice). Each KPI group is a
function of the timelines and the log; :data:`KPI_GROUPS` lists them in output order.

Delivery KPIs: an order is **on time** when the bag reaches the door by the promise's end (express:
within the express limit of the click; slot: by the slot's end); the rate is over every delivery
order that was not cancelled, so an order still out or brought back counts as late. The **lower
bound** of an order is its own pick time (batch start to packed) plus the direct ride from the store
to its door at its courier's speed; ``mean_ratio_to_lower_bound`` divides the time from pick start
to the door by it, over express orders — the time lost to waiting for a courier and to sharing a
trip. The wait before picking starts is the pick queue's, reported separately
(``queue_wait_*``). The ratio's excess is split in two means over express orders:
``express_courier_wait_mean_minutes`` (packed until the courier leaves the store, the loading
included) and ``express_ride_excess_mean_minutes`` (the ride beyond the direct one: a shared trip's
earlier drops and their handovers).

Percentiles are nearest-rank: the smallest value with at least p% of the values at or below it.
Durations are in minutes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from newretail.sim import events
from newretail.sim.events import EventLog


class InconsistentLog(ValueError):
    """The log says something impossible (an order packed twice, packed but never placed, ...)."""


@dataclass
class OrderTimeline:
    order_id: str
    store: str | None
    method: str
    option: str
    items: int
    placed_at: float
    pick_complete_estimate: float
    promised_by: float
    pick_started_at: float | None = None
    packed_at: float | None = None
    cancelled_at: float | None = None
    dispatched_at: float | None = None
    collected_at: float | None = None
    door_at: float | None = None  # delivered: the courier reached the door
    direct_ride_s: float | None = None
    failed_at: float | None = None
    returned_at: float | None = None

    @property
    def finished_picking(self) -> bool:
        return self.packed_at is not None or self.cancelled_at is not None


def _set_once(timeline: OrderTimeline, attribute: str, value: float) -> None:
    if getattr(timeline, attribute) is not None:
        raise InconsistentLog(f"order {timeline.order_id}: {attribute} recorded twice")
    setattr(timeline, attribute, value)


def timelines(log: EventLog) -> dict[str, OrderTimeline]:
    found: dict[str, OrderTimeline] = {}

    def of(order_id: str | None, kind: str) -> OrderTimeline:
        if order_id is None or order_id not in found:
            raise InconsistentLog(f"{kind} for order {order_id!r}, which was never placed")
        return found[order_id]

    for entry in log:
        if entry.kind == events.ORDER_PLACED:
            if entry.order is None or entry.order in found:
                raise InconsistentLog(f"order {entry.order!r} placed twice")
            data = entry.data
            found[entry.order] = OrderTimeline(
                entry.order,
                entry.store,
                str(data["method"]),
                str(data["option"]),
                int(data["items"]),
                entry.at,
                float(data["pick_complete_estimate"]),
                float(data["promised_by"]),
            )
        elif entry.kind == events.BATCH_STARTED:
            for order_id in entry.data["orders"]:
                _set_once(of(order_id, entry.kind), "pick_started_at", entry.at)
        elif entry.kind == events.ORDER_PACKED:
            _set_once(of(entry.order, entry.kind), "packed_at", entry.at)
        elif entry.kind == events.ORDER_CANCELLED:
            _set_once(of(entry.order, entry.kind), "cancelled_at", entry.at)
        elif entry.kind == events.ORDER_DISPATCHED:
            _set_once(of(entry.order, entry.kind), "dispatched_at", entry.at)
        elif entry.kind == events.ORDER_COLLECTED:
            _set_once(of(entry.order, entry.kind), "collected_at", entry.at)
        elif entry.kind == events.ORDER_DELIVERED:
            timeline = of(entry.order, entry.kind)
            _set_once(timeline, "door_at", entry.at)
            timeline.direct_ride_s = float(entry.data["direct_ride_s"])
        elif entry.kind == events.DELIVERY_FAILED:
            _set_once(of(entry.order, entry.kind), "failed_at", entry.at)
        elif entry.kind == events.ORDER_RETURNED:
            _set_once(of(entry.order, entry.kind), "returned_at", entry.at)
    return found


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value / 60, 3)


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


# -- groups ---------------------------------------------------------------------------------------
def demand_kpis(orders: dict[str, OrderTimeline], log: EventLog) -> dict[str, Any]:
    quotes = [e for e in log if e.kind == events.QUOTED and e.data.get("method") == "delivery"]
    lost = Counter(str(e.data.get("reason")) for e in log if e.kind == events.ORDER_LOST)
    options = Counter(t.option for t in orders.values())
    return {
        "orders": len(orders),
        "orders_express": options.get("express", 0),
        "orders_slot": options.get("slot", 0),
        "orders_collection": options.get("collection", 0),
        "customers_lost": sum(lost.values()),
        "lost_reasons": dict(sorted(lost.items())),
        "delivery_quotes": len(quotes),
        "express_offered_rate": _rate(sum(1 for q in quotes if q.data.get("express_offered")), len(quotes)),
    }


def promise_kpis(orders: dict[str, OrderTimeline], log: EventLog) -> dict[str, Any]:
    """Promised versus actual pick-complete time, over orders packed in the run."""
    errors = [t.packed_at - t.pick_complete_estimate for t in orders.values() if t.packed_at is not None]
    absolute = [abs(e) for e in errors]
    return {
        "promise_mae_minutes": _minutes(_mean(absolute)),
        "promise_bias_minutes": _minutes(_mean(errors)),  # positive: picked later than promised
        "promise_abs_error_p90_minutes": _minutes(percentile(absolute, 90)),
        "promise_late_over_5_min_rate": _rate(sum(1 for e in errors if e > 300), len(errors)),
    }


def picking_kpis(orders: dict[str, OrderTimeline], log: EventLog) -> dict[str, Any]:
    pick_times = [
        t.packed_at - t.pick_started_at
        for t in orders.values()
        if t.packed_at is not None and t.pick_started_at is not None
    ]
    waits = [t.pick_started_at - t.placed_at for t in orders.values() if t.pick_started_at is not None]
    shorts = [e for e in log if e.kind == events.LINE_SHORT]
    answers = [e for e in log if e.kind == events.SUBSTITUTION_ANSWERED]
    batches = [e for e in log if e.kind == events.BATCH_STARTED]
    return {
        "orders_packed": sum(1 for t in orders.values() if t.packed_at is not None),
        "orders_cancelled_by_store": sum(1 for t in orders.values() if t.cancelled_at is not None),
        "orders_unfinished": sum(1 for t in orders.values() if not t.finished_picking),
        "pick_time_p50_minutes": _minutes(percentile(pick_times, 50)),
        "pick_time_p95_minutes": _minutes(percentile(pick_times, 95)),
        "queue_wait_mean_minutes": _minutes(_mean(waits)),
        "queue_wait_p50_minutes": _minutes(percentile(waits, 50)),
        "queue_wait_p95_minutes": _minutes(percentile(waits, 95)),
        "batches": len(batches),
        "orders_per_batch": round(sum(len(b.data["orders"]) for b in batches) / len(batches), 3) if batches else None,
        "lines_short": len(shorts),
        "substitutes_proposed": sum(1 for e in shorts if e.data.get("substitute")),
        "substitutes_approved": sum(1 for e in answers if e.data.get("approved")),
    }


def delivery_kpis(orders: dict[str, OrderTimeline], log: EventLog) -> dict[str, Any]:
    deliveries = [t for t in orders.values() if t.method == "delivery" and t.cancelled_at is None]
    delivered = [t for t in deliveries if t.door_at is not None]
    on_time = [t for t in delivered if t.door_at is not None and t.door_at <= t.promised_by]
    express = [t for t in deliveries if t.option == "express"]
    express_on_time = [t for t in express if t.door_at is not None and t.door_at <= t.promised_by]
    click_to_door = [t.door_at - t.placed_at for t in delivered if t.option == "express" and t.door_at is not None]
    legs = [leg for t in delivered if t.option == "express" and (leg := _express_legs(t)) is not None]
    ratios = [(door - started) / (packed - started + direct) for started, packed, _, door, direct in legs]
    # The ratio's excess, split exactly (door - pick start = pick + courier wait + ride; bound = pick
    # + direct ride): waiting at the store for a courier to leave (the loading minute included),
    # then riding longer than the direct ride (earlier drops of a shared trip, their handovers).
    courier_waits = [left - packed for _, packed, left, _, _ in legs]
    ride_excess = [door - left - direct for _, _, left, door, direct in legs]
    dispatch_waits = [
        t.dispatched_at - t.packed_at for t in delivered if t.dispatched_at is not None and t.packed_at is not None
    ]
    return {
        "deliveries": len(deliveries),
        "delivered": len(delivered),
        "deliveries_failed": sum(1 for t in deliveries if t.failed_at is not None),
        "deliveries_unfinished": sum(1 for t in deliveries if t.door_at is None and t.failed_at is None),
        "on_time_rate": _rate(len(on_time), len(deliveries)),
        "express_on_time_rate": _rate(len(express_on_time), len(express)),
        "p50_click_to_door_min": _minutes(percentile(click_to_door, 50)),
        "p95_click_to_door_min": _minutes(percentile(click_to_door, 95)),
        "mean_ratio_to_lower_bound": round(m, 4) if (m := _mean(ratios)) is not None else None,
        "dispatch_wait_mean_minutes": _minutes(_mean(dispatch_waits)),
        "express_courier_wait_mean_minutes": _minutes(_mean(courier_waits)),
        "express_ride_excess_mean_minutes": _minutes(_mean(ride_excess)),
        "trips": len(log.of_kind(events.TRIP_DEPARTED)),
        "orders_per_trip": _ratio(
            sum(1 for t in orders.values() if t.dispatched_at is not None), len(log.of_kind(events.TRIP_DEPARTED))
        ),
        **courier_time_kpis(len(delivered), *courier_hours(log)),
    }


def courier_time_kpis(delivered: int, shift_hours: float, riding_hours: float) -> dict[str, Any]:
    """Courier hours on shift, the share of them out on trips, and orders delivered per hour."""
    return {
        "courier_hours": round(shift_hours, 3),
        "courier_utilisation": _ratio(riding_hours, shift_hours),
        "orders_per_courier_hour": _ratio(delivered, shift_hours),
    }


def _express_legs(t: OrderTimeline) -> tuple[float, float, float, float, float] | None:
    """(pick started, packed, left the store, at the door, direct ride seconds) of a delivered order."""
    if (
        t.pick_started_at is None
        or t.packed_at is None
        or t.dispatched_at is None
        or t.door_at is None
        or t.direct_ride_s is None
    ):
        return None
    return t.pick_started_at, t.packed_at, t.dispatched_at, t.door_at, t.direct_ride_s


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def courier_hours(log: EventLog) -> tuple[float, float]:
    """Courier hours on shift and hours out on trips (departure to back). A shift or a trip still
    open when the log ends is counted up to the log's last entry."""
    end = max((e.at for e in log), default=0.0)
    on_shift: dict[str, float] = {}
    out: dict[str, float] = {}
    shift_s = riding_s = 0.0
    for entry in sorted(log, key=lambda e: e.at):
        if entry.data.get("role") == "courier":
            person = str(entry.data["person"])
            if entry.kind == events.SHIFT_STARTED:
                on_shift.setdefault(person, entry.at)
            elif entry.kind == events.SHIFT_ENDED and person in on_shift:
                shift_s += entry.at - on_shift.pop(person)
        elif entry.kind == events.TRIP_DEPARTED:
            out[str(entry.data["courier"])] = entry.at
        elif entry.kind == events.COURIER_BACK:
            courier = str(entry.data["courier"])
            if courier in out:
                riding_s += entry.at - out.pop(courier)
    shift_s += sum(end - began for began in on_shift.values())
    riding_s += sum(end - began for began in out.values())
    return shift_s / 3600, riding_s / 3600


def payment_kpis(orders: dict[str, OrderTimeline], log: EventLog) -> dict[str, Any]:
    """Money, from the payments context's events copied into the log (minor units of the tenant's
    currency): what was captured at packing, given back by refunds, and orders held unpaid."""
    declined = [e for e in log if e.kind == events.ORDER_LOST and str(e.data.get("reason")).startswith("payment")]
    return {
        "payments_captured_minor": sum(int(e.data["captured"]) for e in log if e.kind == events.PAYMENT_CAPTURED),
        "payments_refunded_minor": sum(int(e.data["amount"]) for e in log if e.kind == events.PAYMENT_REFUNDED),
        "payments_declined": len(declined),
        "orders_held_for_payment": sum(1 for e in log if e.kind == events.ORDER_HELD),
        "wallet_reloads": sum(1 for e in log if e.kind == events.WALLET_RELOADED),
    }


KpiGroup = Callable[[dict[str, OrderTimeline], EventLog], dict[str, Any]]
KPI_GROUPS: tuple[KpiGroup, ...] = (demand_kpis, promise_kpis, picking_kpis, delivery_kpis, payment_kpis)


def compute_kpis(log: EventLog) -> dict[str, Any]:
    orders = timelines(log)
    result: dict[str, Any] = {}
    for group in KPI_GROUPS:
        result.update(group(orders, log))
    return result
