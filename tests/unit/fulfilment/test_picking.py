from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newretail.catalog.model import ShelfLocation, SoldBy, TemperatureZone
from newretail.core.errors import ValidationFailed
from newretail.core.money import Money
from newretail.fulfilment.model import (
    LineAlreadyClosed,
    LinesStillOpen,
    OrderPicking,
    OrderToPick,
    OverPicked,
    PickingClosed,
    ProductPlacement,
    StockQuantity,
    UnknownOrderLine,
    WeighedTolerance,
    WrongItemScanned,
)
from newretail.fulfilment.substitution import SubstitutionPreference
from newretail.ordering.model import FulfilmentOutcome, LineOutcome, NothingPicked, OrderLine

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MILK_GTIN, STEAK_GTIN, RICE_GTIN = "00000031", "00000048", "00000055"
PLACEMENTS = {
    "milk": ProductPlacement("milk", MILK_GTIN, ShelfLocation(3, 1, 1), TemperatureZone.CHILLED),
    "steak": ProductPlacement("steak", STEAK_GTIN, ShelfLocation(4, 2, 1), TemperatureZone.CHILLED),
    "rice": ProductPlacement("rice", RICE_GTIN, ShelfLocation(1, 1, 1), TemperatureZone.AMBIENT),
}
ORDER = OrderToPick(
    "o1",
    (
        OrderLine("milk-line", "milk", "Milk 1l", SoldBy.EACH, 3, Money(125)),
        OrderLine("steak-line", "steak", "Sirloin", SoldBy.WEIGHT, 400, Money(2500)),  # 25.00 per kg
        OrderLine("rice-line", "rice", "Rice 1kg", SoldBy.EACH, 1, Money(199)),
    ),
)


def start() -> OrderPicking:
    return OrderPicking.start(ORDER, PLACEMENTS, SubstitutionPreference.REFUND, T0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_full_pick_with_weighed_item_repriced_on_actual_grams() -> None:
    picking = start()
    picking.scan("rice-line", RICE_GTIN, at(1))
    picking.scan("milk-line", MILK_GTIN, at(2))
    picking.scan("milk-line", MILK_GTIN, at(2.1), units=2)
    picking.scan("steak-line", STEAK_GTIN, at(3), grams=412)
    assert picking.open_line_ids == []

    result = picking.pack(at(5))
    assert result.outcome is FulfilmentOutcome.COMPLETE
    steak = next(f for f in result.final_lines if f.product_id == "steak")
    assert steak.quantity == 412
    assert steak.total == Money(2500).per_kilogram(412) == Money(1030)
    assert result.final_total == Money(3 * 125 + 1030 + 199)
    assert result.commits == (
        StockQuantity("milk", 3),
        StockQuantity("rice", 1),
        StockQuantity("steak", 412),  # 12 g over the 400 g reserved: on-hand still drops by 412
    )
    assert result.releases == ()
    assert result.put_back == ()
    assert result.pick_started_at == T0
    assert result.first_scan_at == at(1)
    assert result.last_line_closed_at == at(3)


def test_wrong_barcode_is_a_clear_error_and_changes_nothing() -> None:
    picking = start()
    with pytest.raises(WrongItemScanned) as caught:
        picking.scan("milk-line", RICE_GTIN, at(1))
    assert caught.value.code == "wrong_item_scanned"
    assert caught.value.http_status == 422
    assert caught.value.details["expected"] == [MILK_GTIN]
    assert picking.line("milk-line").picked == 0


def test_over_picking_is_refused() -> None:
    picking = start()
    picking.scan("milk-line", MILK_GTIN, at(1), units=2)
    with pytest.raises(OverPicked):
        picking.scan("milk-line", MILK_GTIN, at(1), units=2)
    assert picking.line("milk-line").picked == 2
    with pytest.raises(OverPicked):  # 10 % over 400 g is the most
        picking.scan("steak-line", STEAK_GTIN, at(2), grams=441)
    picking.scan("steak-line", STEAK_GTIN, at(2), grams=440)


def test_weighed_line_closes_only_within_tolerance_and_adds_up() -> None:
    picking = start()
    picking.scan("steak-line", STEAK_GTIN, at(1), grams=200)
    assert not picking.line("steak-line").is_closed
    picking.scan("steak-line", STEAK_GTIN, at(2), grams=160)  # 360 g = 90 %: full
    assert picking.line("steak-line").is_closed
    with pytest.raises(LineAlreadyClosed):
        picking.scan("steak-line", STEAK_GTIN, at(3), grams=10)


def test_weight_and_unit_inputs_match_how_the_product_is_sold() -> None:
    picking = start()
    with pytest.raises(ValidationFailed):
        picking.scan("steak-line", STEAK_GTIN, at(1))
    with pytest.raises(ValidationFailed):
        picking.scan("milk-line", MILK_GTIN, at(1), grams=500)
    with pytest.raises(ValidationFailed):
        picking.scan("milk-line", MILK_GTIN, at(1), units=0)
    with pytest.raises(UnknownOrderLine):
        picking.scan("nope", MILK_GTIN, at(1))


def test_short_pick_charges_and_commits_only_what_was_picked() -> None:
    picking = start()
    picking.scan("milk-line", MILK_GTIN, at(1))
    picking.report_short("milk-line", at(2))  # only one milk on the shelf
    picking.scan("steak-line", STEAK_GTIN, at(3), grams=250)  # not enough steak either
    picking.report_short("steak-line", at(3))
    picking.report_short("rice-line", at(4))  # none at all

    result = picking.pack(at(5))
    outcomes = {f.order_line_id: f.outcome for f in result.final_lines}
    assert outcomes == {
        "milk-line": LineOutcome.SHORT,
        "steak-line": LineOutcome.SHORT,
        "rice-line": LineOutcome.MISSING,
    }
    assert result.outcome is FulfilmentOutcome.PARTIAL
    assert result.final_total == Money(125 + Money(2500).per_kilogram(250).amount)
    assert result.commits == (StockQuantity("milk", 1), StockQuantity("steak", 250))
    assert result.releases == (StockQuantity("milk", 2), StockQuantity("rice", 1), StockQuantity("steak", 150))


def test_short_lines_close_once_and_packing_needs_every_line_closed() -> None:
    picking = start()
    picking.report_short("rice-line", at(1))
    with pytest.raises(LineAlreadyClosed):
        picking.report_short("rice-line", at(2))
    with pytest.raises(LineAlreadyClosed):
        picking.scan("rice-line", RICE_GTIN, at(2))
    with pytest.raises(LinesStillOpen) as caught:
        picking.pack(at(3))
    assert caught.value.details["line_ids"] == ["milk-line", "steak-line"]
    assert not picking.is_finished


def test_nothing_picked_cannot_be_packed_but_can_be_abandoned() -> None:
    picking = start()
    picking.scan("milk-line", MILK_GTIN, at(1))
    picking.report_short("milk-line", at(1))
    for line_id in ("steak-line", "rice-line"):
        picking.report_short(line_id, at(2))
    # one milk was picked, so this order can be packed; an order with nothing picked cannot
    empty = start()
    for line_id in ("milk-line", "steak-line", "rice-line"):
        empty.report_short(line_id, at(2))
    with pytest.raises(NothingPicked):
        empty.pack(at(3))
    abandoned = picking.abandon(at(4))
    assert abandoned.releases == (StockQuantity("milk", 3), StockQuantity("rice", 1), StockQuantity("steak", 400))
    assert abandoned.put_back == (StockQuantity("milk", 1),)
    with pytest.raises(PickingClosed):
        picking.scan("milk-line", MILK_GTIN, at(5))


def test_finished_picking_refuses_more_work() -> None:
    picking = start()
    picking.scan("rice-line", RICE_GTIN, at(1))
    picking.scan("milk-line", MILK_GTIN, at(1), units=3)
    picking.scan("steak-line", STEAK_GTIN, at(1), grams=400)
    picking.pack(at(2))
    with pytest.raises(PickingClosed):
        picking.pack(at(3))
    with pytest.raises(PickingClosed):
        picking.abandon(at(3))


def test_tolerance_is_configurable() -> None:
    strict = OrderPicking.start(ORDER, PLACEMENTS, SubstitutionPreference.REFUND, T0, WeighedTolerance(0, 0))
    strict.scan("steak-line", STEAK_GTIN, at(1), grams=399)
    assert not strict.line("steak-line").is_closed
    with pytest.raises(OverPicked):
        strict.scan("steak-line", STEAK_GTIN, at(1), grams=2)
    strict.scan("steak-line", STEAK_GTIN, at(1), grams=1)
    assert strict.line("steak-line").is_closed
