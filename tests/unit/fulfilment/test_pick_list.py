from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.catalog.model import ShelfLocation, SoldBy, TemperatureZone
from newretail.core.errors import ValidationFailed
from newretail.core.money import Money
from newretail.fulfilment.model import (
    OrderToPick,
    ProductNotLocated,
    ProductPlacement,
    build_pick_list,
)
from newretail.ordering.model import OrderLine

AMBIENT, CHILLED, FROZEN = TemperatureZone.AMBIENT, TemperatureZone.CHILLED, TemperatureZone.FROZEN

PLACEMENTS = {
    "peas": ProductPlacement("peas", "00000017", ShelfLocation(1, 1, 1), FROZEN),
    "icecream": ProductPlacement("icecream", "00000024", ShelfLocation(2, 3, 0), FROZEN),
    "milk": ProductPlacement("milk", "00000031", ShelfLocation(1, 2, 1), CHILLED),
    "rice": ProductPlacement("rice", "00000048", ShelfLocation(5, 1, 2), AMBIENT),
    "tea": ProductPlacement("tea", "00000055", ShelfLocation(2, 4, 1), AMBIENT),
    "beans": ProductPlacement("beans", "00000062", ShelfLocation(2, 4, 0), AMBIENT),
}


def line(line_id: str, product: str, quantity: int = 1) -> OrderLine:
    return OrderLine(line_id, product, product.title(), SoldBy.EACH, quantity, Money(100))


def test_single_order_walks_aisle_bay_shelf_with_frozen_at_the_very_end() -> None:
    order = OrderToPick("o1", tuple(line(f"l{i}", p) for i, p in enumerate(PLACEMENTS)))
    pick_list = build_pick_list([order], PLACEMENTS)
    assert [t.product_id for t in pick_list.tasks] == ["beans", "tea", "rice", "milk", "peas", "icecream"]
    assert [t.sequence for t in pick_list.tasks] == [1, 2, 3, 4, 5, 6]
    assert {t.tote for t in pick_list.tasks} == {1}
    assert pick_list.tasks[0].barcode == "00000062"


def test_batch_merges_orders_into_one_walk_without_mixing_totes() -> None:
    first = OrderToPick("o1", (line("a1", "milk", 2), line("a2", "rice"), line("a3", "peas")))
    second = OrderToPick("o2", (line("b1", "tea"), line("b2", "milk", 1), line("b3", "icecream")))
    pick_list = build_pick_list([first, second], PLACEMENTS)
    assert [(t.product_id, t.tote) for t in pick_list.tasks] == [
        ("tea", 2),
        ("rice", 1),
        ("milk", 1),
        ("milk", 2),  # same shelf, one task per tote
        ("peas", 1),
        ("icecream", 2),
    ]
    assert pick_list.tote_for("o2") == 2
    for task in pick_list.tasks:
        owner = first if task.tote == 1 else second
        assert task.order_id == owner.order_id
        assert task.order_line_id in {ln.id for ln in owner.lines}
    assert [t.order_line_id for t in pick_list.tasks_for_tote(1)] == ["a2", "a1", "a3"]
    milk_two = next(t for t in pick_list.tasks if t.order_line_id == "b2")
    assert milk_two.quantity == 1


def test_unlocated_products_are_all_named_in_one_error() -> None:
    order = OrderToPick("o1", (line("l1", "ghost"), line("l2", "rice"), line("l3", "phantom")))
    with pytest.raises(ProductNotLocated) as caught:
        build_pick_list([order], PLACEMENTS)
    assert caught.value.details["product_ids"] == ["ghost", "phantom"]


def test_pick_list_needs_distinct_orders() -> None:
    order = OrderToPick("o1", (line("l1", "rice"),))
    with pytest.raises(ValidationFailed):
        build_pick_list([order, order], PLACEMENTS)
    with pytest.raises(ValidationFailed):
        build_pick_list([], PLACEMENTS)


placements_strategy = st.dictionaries(
    keys=st.text("abcdefgh", min_size=1, max_size=3),
    values=st.tuples(st.integers(0, 20), st.integers(0, 10), st.integers(0, 5), st.sampled_from(list(TemperatureZone))),
    min_size=1,
    max_size=15,
)


@given(placements_strategy, st.data())
def test_walk_is_monotonic_in_layout_frozen_last_and_totes_never_mix(
    raw: dict[str, tuple[int, int, int, TemperatureZone]], data: st.DataObject
) -> None:
    placements = {
        pid: ProductPlacement(pid, "00000017", ShelfLocation(a, b, s), zone) for pid, (a, b, s, zone) in raw.items()
    }
    n_orders = data.draw(st.integers(1, 4))
    orders = []
    for o in range(n_orders):
        products = data.draw(st.lists(st.sampled_from(sorted(placements)), min_size=1, max_size=6))
        orders.append(OrderToPick(f"o{o}", tuple(line(f"o{o}-l{i}", p) for i, p in enumerate(products))))

    pick_list = build_pick_list(orders, placements)

    rank = {AMBIENT: 0, CHILLED: 1, FROZEN: 2}
    keys = [(rank[t.zone], t.location.aisle, t.location.bay, t.location.shelf) for t in pick_list.tasks]
    assert keys == sorted(keys)
    zones = [t.zone for t in pick_list.tasks]
    if FROZEN in zones:
        assert all(z is FROZEN for z in zones[zones.index(FROZEN) :])
    assert sorted((t.order_id, t.order_line_id) for t in pick_list.tasks) == sorted(
        (o.order_id, ln.id) for o in orders for ln in o.lines
    )
    for task in pick_list.tasks:
        assert pick_list.totes[task.tote - 1].order_id == task.order_id
