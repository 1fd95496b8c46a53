from __future__ import annotations

from dataclasses import dataclass

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class BatchStarted(Event):
    batch_id: str
    store_id: str
    picker_id: str
    order_ids: list[str]


@dataclass(frozen=True, kw_only=True)
class SubstituteProposed(Event):
    """The customer's app shows this and asks for an answer before ``respond_by``."""

    order_id: str
    order_line_id: str
    customer_id: str
    substitute_product_id: str
    substitute_name: str
    respond_by: str


@dataclass(frozen=True, kw_only=True)
class OrderPicked(Event):
    order_id: str
    store_id: str
    picker_id: str
    pick_started_at: str
    packed_at: str
    outcome: str
