"""The promise plans picking the way the store's pickers batch orders (plan_batches)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from newretail.fulfilment.batching import BatchingPolicy, ReadyOrder, plan_batches
from newretail.ordering.promise import PickTimeModel, PromiseConfig, QueuedOrder, StoreLoad, quote_promise

NOW = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
PICK = PickTimeModel(seconds_per_order=60, seconds_per_item=10)


def config(max_orders: int = 4, max_items: int = 40) -> PromiseConfig:
    return PromiseConfig(pick=PICK, batching=BatchingPolicy(max_orders, max_items))


def waiting(*items: int) -> list[QueuedOrder]:
    return [QueuedOrder(f"q{i}", n, NOW - timedelta(minutes=len(items) - i)) for i, n in enumerate(items)]


def seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


def test_orders_in_one_batch_are_complete_together_when_the_walk_ends() -> None:
    load = StoreLoad(NOW, waiting(10, 10), picker_free_at=[NOW + seconds(600)], orders_per_hour=0)
    quote = quote_promise(load, item_count=10, distance_m=None, config=config())
    # q0, q1 and the new order fit one batch (30 items): one walk of 3 x (60 + 100) s.
    assert quote.pick_starts_at == NOW + seconds(600)
    assert quote.pick_complete_at == NOW + seconds(600 + 3 * 160)


def test_without_batching_each_order_is_its_own_walk() -> None:
    load = StoreLoad(NOW, waiting(10, 10), picker_free_at=[NOW + seconds(600)], orders_per_hour=0)
    quote = quote_promise(load, item_count=10, distance_m=None, config=config(max_orders=1))
    assert quote.pick_starts_at == NOW + seconds(600 + 2 * 160)
    assert quote.pick_complete_at == NOW + seconds(600 + 3 * 160)


def test_batches_are_cut_exactly_as_start_batch_will_cut_them() -> None:
    # 30 items, then 15: the second does not fit the first batch (45 > 40) and opens the next,
    # which the new order (5 items) joins. Two pickers free now take one batch each.
    load = StoreLoad(NOW, waiting(30, 15), picker_free_at=[NOW, NOW], orders_per_hour=0)
    quote = quote_promise(load, item_count=5, distance_m=None, config=config())
    assert quote.pick_starts_at == NOW
    assert quote.pick_complete_at == NOW + seconds((60 + 150) + (60 + 50))


def test_orders_arriving_before_the_picker_is_free_join_the_new_orders_batch() -> None:
    # One order a minute; the only picker is free in 10 minutes: ~10 more orders will have come,
    # but a batch takes at most 4 orders, so 3 join the new one, each as big as it (no queue).
    load = StoreLoad(NOW, (), picker_free_at=[NOW + seconds(600)], orders_per_hour=60)
    quote = quote_promise(load, item_count=5, distance_m=None, config=config(max_orders=4, max_items=100))
    assert quote.pick_complete_at == NOW + seconds(600 + 4 * 110)


def test_joiners_are_limited_by_the_batch_item_limit() -> None:
    load = StoreLoad(NOW, waiting(10, 10), picker_free_at=[NOW + seconds(600)], orders_per_hour=60)
    quote = quote_promise(load, item_count=10, distance_m=None, config=config(max_orders=4, max_items=35))
    # q0 + q1 + new = 30 items; a typical newcomer (10 items) would make 40 > 35: nobody joins.
    assert quote.pick_complete_at == NOW + seconds(600 + 3 * 160)


def test_a_slow_trickle_adds_nobody_and_an_idle_picker_waits_for_nobody() -> None:
    trickle = StoreLoad(NOW, (), picker_free_at=[NOW + seconds(600)], orders_per_hour=3)  # 0.5 expected
    assert quote_promise(trickle, 5, None, config()).pick_complete_at == NOW + seconds(600 + 110)
    idle = StoreLoad(NOW, (), picker_free_at=[NOW], orders_per_hour=600)
    assert quote_promise(idle, 5, None, config()).pick_complete_at == NOW + seconds(110)


def test_without_a_known_rate_the_queue_gives_it() -> None:
    # Two orders waiting, the oldest 2 minutes old: one a minute; the picker frees in 3 minutes.
    load = StoreLoad(NOW, waiting(10, 10), picker_free_at=[NOW + seconds(180)])
    quote = quote_promise(load, item_count=10, distance_m=None, config=config())
    assert quote.pick_complete_at == NOW + seconds(180 + 4 * 160)  # one joins (3 expected, room for 1)


@given(
    st.lists(st.integers(min_value=0, max_value=30), max_size=12),
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=60),
)
def test_the_new_order_is_in_the_last_batch_start_batch_would_form(
    queued_items: list[int], new_items: int, max_orders: int, max_items: int
) -> None:
    """With one idle picker per batch, the new order starts at once and its walk is exactly the
    sum of the pick times of the last batch plan_batches forms from the queue plus the new order."""
    queue = waiting(*queued_items)
    policy = BatchingPolicy(max_orders, max_items)
    ready = [ReadyOrder(q.order_id, q.item_count, q.queued_at) for q in queue]
    ready.append(ReadyOrder("zz-new", new_items, NOW))
    batches = plan_batches(ready, policy)
    last = batches[-1]
    sizes = {q.order_id: q.item_count for q in queue} | {"zz-new": new_items}
    load = StoreLoad(NOW, queue, picker_free_at=[NOW] * len(batches), orders_per_hour=0)
    quote = quote_promise(load, new_items, None, PromiseConfig(pick=PICK, batching=policy))
    assert quote.pick_starts_at == NOW
    assert quote.pick_complete_at == NOW + seconds(sum(PICK.pick_seconds(sizes[o]) for o in last.order_ids))
