from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.errors import ValidationFailed
from newretail.inventory.model import HeldLine, StockLevel, allocate_shortfall, normalise_basket, shortages

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_basket_merges_repeats_and_sorts_for_lock_order() -> None:
    assert list(normalise_basket([("b", 1), ("a", 2), ("b", 3)]).items()) == [("a", 2), ("b", 4)]
    with pytest.raises(ValidationFailed):
        normalise_basket([("a", 0)])
    with pytest.raises(ValidationFailed):
        normalise_basket([])


def test_shortages_name_every_short_line_at_once() -> None:
    levels = {"a": StockLevel("a", 5, 4), "b": StockLevel("b", 10, 0)}
    short = shortages(levels, {"a": 2, "b": 10, "c": 1})
    assert [(s.product_id, s.requested, s.available) for s in short] == [("a", 2, 1), ("c", 1, 0)]


def test_shortfall_takes_from_the_newest_reservations_first() -> None:
    held = [
        HeldLine("old", T0, 3),
        HeldLine("new", T0 + timedelta(minutes=5), 2),
        HeldLine("mid", T0 + timedelta(1), 1),
    ]
    assert allocate_shortfall(held, 4) == [("mid", 1), ("new", 2), ("old", 1)]
    assert allocate_shortfall(held, 0) == []


@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=8), st.data())
def test_shortfall_cuts_exactly_the_shortfall(quantities: list[int], data: st.DataObject) -> None:
    held = [HeldLine(f"r{i}", T0 + timedelta(seconds=i), q) for i, q in enumerate(quantities)]
    shortfall = data.draw(st.integers(min_value=0, max_value=sum(quantities)))
    cuts = allocate_shortfall(held, shortfall)
    assert sum(take for _, take in cuts) == shortfall
    by_id = {h.reservation_id: h.quantity for h in held}
    assert all(0 < take <= by_id[rid] for rid, take in cuts)
