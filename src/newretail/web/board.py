"""The operations board: per store, what an operator watches while orders flow.

It reads through each context's services (ordering, fulfilment, the courier roster) with the
caller's tenant; ``promise_standing`` is the one rule of its own: is an order keeping its promise?
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from newretail.core.runtime import Runtime
from newretail.delivery import roster
from newretail.fulfilment import services as fulfilment
from newretail.ordering import services as ordering
from newretail.ordering.model import Order, OrderStatus
from newretail.ordering.promise import PromiseKind
from newretail.tenancy.model import Store

RECENT_ORDERS = 12
AT_RISK_WITHIN = timedelta(minutes=5)
# Couriers in these states are away from the store with (or for) an order.
COURIER_AWAY_STATES = frozenset({"to_store", "riding", "returning"})


class Standing(StrEnum):
    ON_TIME = "on time"  # kept its promise (done within the window) or still well inside it
    AT_RISK = "at risk"  # not done, and the promise ends within AT_RISK_WITHIN
    LATE = "late"  # done after the promise, or not done and the promise has passed
    CANCELLED = "cancelled"


# Where the promise is met: a delivery when it is delivered, a collection when it is ready.
_DONE = {
    PromiseKind.EXPRESS: frozenset({OrderStatus.DELIVERED}),
    PromiseKind.SLOT: frozenset({OrderStatus.DELIVERED}),
    PromiseKind.COLLECTION: frozenset({OrderStatus.READY_FOR_COLLECTION, OrderStatus.COLLECTED}),
}


def promise_standing(order: Order, now: datetime) -> Standing:
    if order.status is OrderStatus.CANCELLED:
        return Standing.CANCELLED
    done = _DONE[order.promise.kind]
    kept_at = next((h.at for h in order.history if h.to_status in done), None)
    deadline = order.promise.window_end
    if kept_at is not None:
        return Standing.ON_TIME if kept_at <= deadline else Standing.LATE
    if now > deadline:
        return Standing.LATE
    if deadline - now <= AT_RISK_WITHIN:
        return Standing.AT_RISK
    return Standing.ON_TIME


@dataclass(frozen=True)
class RecentOrder:
    order: Order
    standing: Standing


@dataclass(frozen=True)
class StoreBoard:
    store: Store
    now: datetime
    counts: dict[OrderStatus, int]
    queue_length: int
    oldest_waiting: timedelta | None
    pickers_on_shift: int
    pickers_picking: int
    couriers_on_shift: int
    couriers_away: int
    recent: list[RecentOrder]

    @property
    def late_open(self) -> int:
        return sum(
            1 for r in self.recent if r.standing is Standing.LATE and r.order.status not in ordering.FINISHED_STATUSES
        )

    def count(self, *statuses: OrderStatus) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)


def local_midnight(now: datetime, timezone: str) -> datetime:
    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def store_board(runtime: Runtime, tenant_id: str, store: Store) -> StoreBoard:
    now = runtime.clock.now()
    orders = ordering.store_order_board(
        runtime.uow(),
        tenant_id=tenant_id,
        store_id=store.id,
        finished_since=local_midnight(now, store.timezone),
        recent=RECENT_ORDERS,
    )
    queue = fulfilment.pick_queue(runtime.uow(), tenant_id=tenant_id, store_id=store.id)
    oldest = min((datetime.fromisoformat(q["placed_at"]) for q in queue), default=None)
    pickers = fulfilment.pickers_on_shift(runtime.uow(), tenant_id=tenant_id, store_id=store.id)
    with runtime.uow() as uow:
        couriers = [c for c in roster.store_couriers(uow.conn, tenant_id, store.id) if c.on_shift]
    return StoreBoard(
        store=store,
        now=now,
        counts=orders.counts,
        queue_length=len(queue),
        oldest_waiting=max(now - oldest, timedelta(0)) if oldest else None,
        pickers_on_shift=pickers.on_shift,
        pickers_picking=pickers.picking,
        couriers_on_shift=len(couriers),
        couriers_away=sum(1 for c in couriers if c.state in COURIER_AWAY_STATES),
        recent=[RecentOrder(o, promise_standing(o, now)) for o in orders.recent],
    )
