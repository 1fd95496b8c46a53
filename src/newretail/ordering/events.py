from __future__ import annotations

from dataclasses import dataclass

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(Event):
    order_id: str
    store_id: str
    customer_id: str
    method: str
    promise_kind: str
    promised_by: str
    total_minor: int
    currency: str


@dataclass(frozen=True, kw_only=True)
class OrderStatusChanged(Event):
    order_id: str
    store_id: str
    status: str


@dataclass(frozen=True, kw_only=True)
class OrderPacked(Event):
    """Ready for a courier (delivery) or for the collection point: dispatch listens to this."""

    order_id: str
    store_id: str
    method: str
    final_total_minor: int
    estimated_total_minor: int
    currency: str
    partially_fulfilled: bool


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(Event):
    order_id: str
    store_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class OrderReturned(Event):
    """An undelivered order is back in the store and its goods restocked.

    The refund seam: payments refunds ``refund_due_minor`` (zero when nothing was charged yet,
    i.e. pay on delivery)."""

    order_id: str
    store_id: str
    customer_id: str
    reason: str
    payment_mode: str
    refund_due_minor: int
    currency: str
