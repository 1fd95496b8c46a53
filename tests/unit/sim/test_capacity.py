"""Capacity planning's search: spreading a roster over shifts, and each store's bracket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.sim import events
from newretail.sim.capacity import StoreSearch, pooled_kpis, spread
from newretail.sim.events import EventLog

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


def _courier_run(end_s: float) -> EventLog:
    """One courier on shift from the start, out on a trip from 600 s, both still open at ``end_s``."""
    log = EventLog(datetime(2026, 3, 3, 17, tzinfo=UTC))
    log.record(0, events.SHIFT_STARTED, store="s1", role="courier", person="c1")
    log.record(600, events.TRIP_DEPARTED, store="s1", courier="c1", trip="t1", orders=[])
    log.record(end_s, events.QUOTED, store="s1", method="delivery", express_offered=True, slots_offered=0)
    return log


def test_pooled_courier_hours_end_each_run_where_that_run_ended() -> None:
    short, long = _courier_run(3600), _courier_run(4 * 3600)
    kpis = pooled_kpis([short, long])
    # 1 h + 4 h on shift and 50 min + 3 h 50 min out, not both runs stretched to the longer one's end
    assert kpis["courier_hours"] == pytest.approx(5.0)
    assert kpis["courier_utilisation"] == pytest.approx((3000 + 13800) / (5 * 3600), abs=1e-4)
    assert kpis["orders_per_courier_hour"] == 0
