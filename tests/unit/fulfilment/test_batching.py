from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.errors import ValidationFailed
from newretail.fulfilment.batching import (
    BatchingPolicy,
    IdlePicker,
    ReadyOrder,
    assign_batches,
    plan_batches,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def ready(order_id: str, items: int, minute: int) -> ReadyOrder:
    return ReadyOrder(order_id, items, T0 + timedelta(minutes=minute))


def test_oldest_first_capped_by_orders() -> None:
    orders = [ready(f"o{i}", 2, minute=10 - i) for i in range(5)]  # o4 is the oldest
    batches = plan_batches(orders, BatchingPolicy(max_orders=2, max_items=100))
    assert [b.order_ids for b in batches] == [("o4", "o3"), ("o2", "o1"), ("o0",)]
    assert batches[0].item_count == 4
    assert batches[0].oldest_since == T0 + timedelta(minutes=6)


def test_capped_by_items_and_an_oversized_order_rides_alone() -> None:
    orders = [ready("a", 15, 0), ready("b", 10, 1), ready("huge", 60, 2), ready("c", 5, 3), ready("d", 5, 4)]
    batches = plan_batches(orders, BatchingPolicy(max_orders=4, max_items=30))
    assert [b.order_ids for b in batches] == [("a", "b"), ("huge",), ("c", "d")]


def test_an_order_is_batched_once() -> None:
    with pytest.raises(ValidationFailed):
        plan_batches([ready("a", 1, 0), ready("a", 1, 1)])
    with pytest.raises(ValidationFailed):
        BatchingPolicy(max_orders=0)


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 120)), max_size=30),
    st.integers(1, 5),
    st.integers(1, 40),
)
def test_batches_respect_limits_and_keep_age_order(raw: list[tuple[int, int]], max_orders: int, max_items: int) -> None:
    orders = [ready(f"o{i:02d}", items, minute) for i, (items, minute) in enumerate(raw)]
    batches = plan_batches(orders, BatchingPolicy(max_orders, max_items))
    flat = [oid for b in batches for oid in b.order_ids]
    assert flat == [o.order_id for o in sorted(orders, key=lambda o: (o.ready_since, o.order_id))]
    for b in batches:
        assert 1 <= len(b.order_ids) <= max_orders
        assert b.item_count <= max_items or len(b.order_ids) == 1


def test_oldest_batch_goes_to_the_picker_idle_longest() -> None:
    batches = plan_batches([ready(f"o{i}", 5, i) for i in range(6)], BatchingPolicy(max_orders=2))
    pickers = [IdlePicker("pat", T0 + timedelta(minutes=5)), IdlePicker("sam", T0)]
    assignments = assign_batches(batches, pickers)
    assert [(a.picker_id, a.batch.order_ids) for a in assignments] == [("sam", ("o0", "o1")), ("pat", ("o2", "o3"))]
