"""Which stores' rounds are worth running: the events that change what a planner sees."""

from __future__ import annotations

from datetime import UTC, datetime

from newretail.core.messaging import PublishedEvent
from newretail.delivery import services as delivery
from newretail.delivery.triggers import DispatchTriggers, dispatch_on_event, store_of

AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def event(name: str, **payload: object) -> PublishedEvent:
    return PublishedEvent(1, name, "t1", {"store_id": "s1", **payload}, AT)


def test_only_events_that_change_the_plan_mark_a_store() -> None:
    assert store_of(event("OrderPacked")) == ("t1", "s1")
    assert store_of(event("OrderStatusChanged", status="picking")) == ("t1", "s1")
    assert store_of(event("OrderStatusChanged", status="out_for_delivery")) is None  # we did that
    assert store_of(event("OrderDelivered")) is None
    assert store_of(event("CourierBack")) == ("t1", "s1")
    assert store_of(PublishedEvent(1, "OrderPacked", None, {"store_id": "s1"}, AT)) is None


def test_triggers_collect_stores_from_the_bus_and_a_round_follows(runtime, depot) -> None:  # type: ignore[no-untyped-def]
    triggers = DispatchTriggers()
    triggers.register(runtime.bus)
    depot.courier("Eve")
    assert triggers.drain() == {(depot.tenant_id, depot.store_id)}  # the shift started
    assert triggers.drain() == set()
    (order_id,) = depot.packed_orders(1)
    assert triggers.drain() == {(depot.tenant_id, depot.store_id)}
    summary = dispatch_on_event(runtime.uow(), _packed(depot, order_id))
    assert summary is not None and summary.assigned == (order_id,)
    assert isinstance(summary, delivery.TickSummary)


def _packed(depot, order_id: str) -> PublishedEvent:  # type: ignore[no-untyped-def]
    return PublishedEvent(1, "OrderPacked", depot.tenant_id, {"store_id": depot.store_id, "order_id": order_id}, AT)
