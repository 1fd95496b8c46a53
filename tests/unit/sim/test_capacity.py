"""Capacity planning's search: spreading a roster over shifts, and each store's bracket."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from newretail.sim.capacity import StoreSearch, spread

KEEPS = {"on_time_rate": 0.97, "express_offered_rate": 0.99}
MISSES = {"on_time_rate": 0.97, "express_offered_rate": 0.90}  # on time, but by promising later


@given(st.integers(0, 400), st.lists(st.integers(0, 50), min_size=1, max_size=6))
def test_spread_gives_out_exactly_the_total_in_proportion(total: int, weights: list[int]) -> None:
    counts = spread(total, weights)
    assert sum(counts) == total and len(counts) == len(weights)
    if sum(weights):
        for count, weight in zip(counts, weights, strict=True):
            assert abs(count - total * weight / sum(weights)) < 1


def test_bisection_closes_on_the_smallest_count_that_keeps_the_target() -> None:
    needed = 17
    search = StoreSearch(0, "Soho", 0, None)
    tried = []
    while not search.done:
        count = search.next_count(30)
        tried.append(count)
        search.record(count, KEEPS if count >= needed else MISSES, 0.95)
    assert search.high == needed and search.low == needed - 1
    assert tried[0] == 30 and len(tried) <= 6


def test_a_fleet_too_small_to_start_with_is_doubled_until_it_keeps() -> None:
    search = StoreSearch(0, "Soho", 0, None)
    while not search.done:
        count = search.next_count(5)
        search.record(count, KEEPS if count >= 23 else MISSES, 0.95)
    assert (search.low, search.high) == (22, 23)


def test_confirming_steps_down_then_stops_at_the_first_miss_or_steps_up() -> None:
    down = StoreSearch(0, "Soho", -1, None, stepping=True)
    counts = []
    while not down.done:
        counts.append(count := down.next_count(20))
        down.record(count, KEEPS if count >= 18 else MISSES, 0.95)
    assert counts == [20, 19, 18, 17] and down.high == 18
    up = StoreSearch(0, "Soho", -1, None, stepping=True)
    counts = []
    while not up.done:
        counts.append(count := up.next_count(20))
        up.record(count, KEEPS if count >= 22 else MISSES, 0.95)
    assert counts == [20, 21, 22] and up.high == 22 and up.low == 21
