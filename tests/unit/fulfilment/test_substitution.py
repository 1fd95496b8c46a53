from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newretail.catalog.model import ShelfLocation, SoldBy, TemperatureZone
from newretail.core.money import Money
from newretail.fulfilment.model import (
    NoSubstitution,
    NothingToSubstitute,
    OrderPicking,
    OrderToPick,
    OverPicked,
    ProductPlacement,
    StockQuantity,
    SubstituteNotWanted,
    SubstitutionAlreadyProposed,
    SubstitutionPending,
    WrongItemScanned,
)
from newretail.fulfilment.substitution import (
    InvalidSubstitute,
    SubstituteCandidate,
    SubstitutionAlreadyDecided,
    SubstitutionExpired,
    SubstitutionPreference,
    SubstitutionStatus,
    SubstitutionStillOpen,
)
from newretail.ordering.model import FulfilmentOutcome, LineOutcome, OrderLine

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MILK_GTIN, OAT_GTIN, RICE_GTIN = "00000031", "00000079", "00000055"
PLACEMENTS = {
    "milk": ProductPlacement("milk", MILK_GTIN, ShelfLocation(3, 1, 1), TemperatureZone.CHILLED),
    "rice": ProductPlacement("rice", RICE_GTIN, ShelfLocation(1, 1, 1), TemperatureZone.AMBIENT),
}
ORDER = OrderToPick(
    "o1",
    (
        OrderLine("milk-line", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125)),
        OrderLine("rice-line", "rice", "Rice 1kg", SoldBy.EACH, 1, Money(199)),
    ),
)
OAT = SubstituteCandidate("oat", "Oat drink 1l", OAT_GTIN, "milk", SoldBy.EACH, Money(180))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def milk_out_of_stock(preference: SubstitutionPreference = SubstitutionPreference.REFUND) -> OrderPicking:
    picking = OrderPicking.start(ORDER, PLACEMENTS, preference, T0)
    picking.scan("rice-line", RICE_GTIN, at(1))
    substitution = picking.propose_substitute("milk-line", OAT, at(2))
    assert substitution.respond_by == at(7)  # default 5 minutes
    assert substitution.quantity == 2
    assert picking.line("milk-line").is_closed
    return picking


def test_customer_approves_and_pays_the_substitute_price() -> None:
    picking = milk_out_of_stock()
    picking.scan("milk-line", OAT_GTIN, at(3), units=2)  # picker bags it while waiting
    picking.approve_substitute("milk-line", at(4))
    result = picking.pack(at(5))
    assert [(f.product_id, f.outcome, f.quantity) for f in result.final_lines] == [
        ("milk", LineOutcome.MISSING, 0),
        ("oat", LineOutcome.SUBSTITUTE, 2),
        ("rice", LineOutcome.FULL, 1),
    ]
    assert result.outcome is FulfilmentOutcome.PARTIAL
    assert result.final_total == Money(2 * 180 + 199)
    assert result.commits == (StockQuantity("oat", 2), StockQuantity("rice", 1))
    assert result.releases == (StockQuantity("milk", 2),)
    assert result.put_back == ()


def test_customer_rejects_then_the_picked_substitute_goes_back() -> None:
    picking = milk_out_of_stock()
    picking.scan("milk-line", OAT_GTIN, at(3))
    picking.reject_substitute("milk-line", at(4))
    with pytest.raises(SubstituteNotWanted):
        picking.scan("milk-line", OAT_GTIN, at(4.5))
    result = picking.pack(at(5))
    assert result.final_total == Money(199)
    assert [f.product_id for f in result.final_lines] == ["milk", "rice"]
    assert result.commits == (StockQuantity("rice", 1),)
    assert result.put_back == (StockQuantity("oat", 1),)


@pytest.mark.parametrize(
    ("preference", "status", "total"),
    [
        (SubstitutionPreference.ACCEPT_SUGGESTED, SubstitutionStatus.ACCEPTED_ON_TIMEOUT, 2 * 180 + 199),
        (SubstitutionPreference.REFUND, SubstitutionStatus.REFUNDED_ON_TIMEOUT, 199),
    ],
)
def test_timeout_applies_the_customer_preference(
    preference: SubstitutionPreference, status: SubstitutionStatus, total: int
) -> None:
    picking = milk_out_of_stock(preference)
    picking.scan("milk-line", OAT_GTIN, at(3), units=2)
    with pytest.raises(SubstitutionPending) as caught:
        picking.pack(at(7))  # the deadline itself is still in time
    assert caught.value.details["line_ids"] == ["milk-line"]
    result = picking.pack(at(7.01))
    substitution = picking.line("milk-line").substitution
    assert substitution is not None and substitution.status is status
    assert substitution.decided_at == at(7.01)
    assert result.final_total == Money(total)


def test_acting_twice_or_late_is_a_typed_error() -> None:
    picking = milk_out_of_stock()
    picking.approve_substitute("milk-line", at(3))
    with pytest.raises(SubstitutionAlreadyDecided) as twice:
        picking.reject_substitute("milk-line", at(4))
    assert twice.value.code == "substitution_already_decided"
    assert twice.value.http_status == 409

    late = milk_out_of_stock()
    with pytest.raises(SubstitutionExpired) as expired:
        late.approve_substitute("milk-line", at(7.5))
    assert expired.value.code == "substitution_expired"
    substitution = late.line("milk-line").substitution
    assert substitution is not None and substitution.is_open  # the late answer changed nothing
    assert late.resolve_overdue_substitutions(at(7.5)) == ["milk-line"]
    assert substitution.status is SubstitutionStatus.REFUNDED_ON_TIMEOUT
    with pytest.raises(SubstitutionAlreadyDecided):
        substitution.resolve_timeout(SubstitutionPreference.REFUND, at(8))


def test_timeout_cannot_be_applied_early() -> None:
    picking = milk_out_of_stock()
    substitution = picking.line("milk-line").substitution
    assert substitution is not None
    with pytest.raises(SubstitutionStillOpen):
        substitution.resolve_timeout(SubstitutionPreference.ACCEPT_SUGGESTED, at(6))
    assert picking.resolve_overdue_substitutions(at(6)) == []


def test_proposals_are_checked() -> None:
    picking = milk_out_of_stock()
    with pytest.raises(SubstitutionAlreadyProposed):
        picking.propose_substitute("milk-line", OAT, at(3))
    with pytest.raises(NothingToSubstitute):
        picking.propose_substitute("rice-line", OAT, at(3))
    with pytest.raises(NoSubstitution):
        OrderPicking.start(ORDER, PLACEMENTS, SubstitutionPreference.REFUND, T0).approve_substitute("milk-line", at(1))
    fresh = OrderPicking.start(ORDER, PLACEMENTS, SubstitutionPreference.REFUND, T0)
    by_weight = SubstituteCandidate("loose", "Loose milk", "00000086", "milk", SoldBy.WEIGHT, Money(100))
    with pytest.raises(InvalidSubstitute):
        fresh.propose_substitute("milk-line", by_weight, at(1))
    same = SubstituteCandidate("milk", "Milk 1l", MILK_GTIN, "milk", SoldBy.EACH, Money(125))
    with pytest.raises(InvalidSubstitute):
        fresh.propose_substitute("milk-line", same, at(1))
    assert fresh.line("milk-line").substitution is None
    assert not fresh.line("milk-line").is_closed


def test_substitute_scans_are_checked_against_the_shortfall_and_barcode() -> None:
    picking = OrderPicking.start(ORDER, PLACEMENTS, SubstitutionPreference.REFUND, T0)
    picking.scan("milk-line", MILK_GTIN, at(1))  # one milk found, one missing
    substitution = picking.propose_substitute("milk-line", OAT, at(2))
    assert substitution.quantity == 1
    with pytest.raises(OverPicked):
        picking.scan("milk-line", OAT_GTIN, at(3), units=2)
    with pytest.raises(WrongItemScanned) as caught:
        picking.scan("milk-line", RICE_GTIN, at(3))
    assert caught.value.details["expected"] == [MILK_GTIN, OAT_GTIN]
    picking.scan("milk-line", OAT_GTIN, at(3))
    picking.approve_substitute("milk-line", at(4))
    picking.scan("rice-line", RICE_GTIN, at(4))
    result = picking.pack(at(5))
    assert [(f.product_id, f.outcome) for f in result.final_lines] == [
        ("milk", LineOutcome.SHORT),
        ("oat", LineOutcome.SUBSTITUTE),
        ("rice", LineOutcome.FULL),
    ]
    assert result.releases == (StockQuantity("milk", 1),)
