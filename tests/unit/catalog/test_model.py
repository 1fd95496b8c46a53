"""Catalog model rules: GTIN check digits, product validation, shelf order, substitute ranking."""

from __future__ import annotations

import zlib
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.catalog.model import (
    PricedProduct,
    Product,
    ShelfLocation,
    SoldBy,
    TemperatureZone,
    canonical_gtin,
    gtin_check_digit,
    gtin_equivalents,
    rank_substitutes,
    validate_gtin,
)
from newretail.core.errors import ValidationFailed
from newretail.core.money import Money


@pytest.mark.parametrize(
    "gtin",
    ["4006381333931", "5000159484695", "036000291452", "96385074", "10614141000415", "0036000291452"],
)
def test_real_world_gtins_pass_the_check(gtin: str) -> None:
    assert validate_gtin(gtin) == gtin


@pytest.mark.parametrize(
    ("gtin", "reason"),
    [
        ("4006381333932", "check digit"),
        ("400638133393", "check digit"),  # a 12-digit prefix of a valid EAN-13 is not itself valid
        ("40063813339", "8, 12, 13 or 14"),
        ("400638133393A", "8, 12, 13 or 14"),
        ("", "8, 12, 13 or 14"),
        ("4006381333931 ", "8, 12, 13 or 14"),
        ("\u0664\u0660\u0660\u0666\u0663\u0668\u0661\u0663\u0663\u0663\u0669\u0663\u0661", "8, 12, 13 or 14"),
    ],
)
def test_bad_gtins_are_refused_with_a_reason(gtin: str, reason: str) -> None:
    with pytest.raises(ValidationFailed, match=reason):
        validate_gtin(gtin)


@given(body=st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_the_computed_check_digit_always_validates(body: str) -> None:
    validate_gtin(body + str(gtin_check_digit(body)))


@given(
    body=st.text(alphabet="0123456789", min_size=12, max_size=12),
    position=st.integers(0, 12),
    delta=st.integers(1, 9),
)
def test_any_single_digit_typo_is_caught(body: str, position: int, delta: int) -> None:
    good = body + str(gtin_check_digit(body))
    typo = good[:position] + str((int(good[position]) + delta) % 10) + good[position + 1 :]
    with pytest.raises(ValidationFailed):
        validate_gtin(typo)


def test_upc_a_ean_13_and_gtin_14_spellings_are_the_same_item() -> None:
    assert canonical_gtin("036000291452") == canonical_gtin("0036000291452") == "00036000291452"
    assert set(gtin_equivalents("036000291452")) == {"036000291452", "0036000291452", "00036000291452"}
    assert gtin_equivalents("4006381333931") == ("4006381333931", "04006381333931")
    assert "96385074" in gtin_equivalents("00000096385074")


def _product(**overrides: object) -> Product:
    values: dict[str, object] = {
        "id": "p1",
        "tenant_id": "t1",
        "sku": "DAI-0001",
        "gtin": "4006381333931",
        "name": "Semi-Skimmed Milk 2 pints",
        "brand": "Meadow Vale",
        "category": "Dairy & Eggs",
        "sold_by": SoldBy.EACH,
        "unit_weight_g": 1170,
        "temperature_zone": TemperatureZone.CHILLED,
    }
    values.update(overrides)
    return Product(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sku", ""),
        ("sku", "has space"),
        ("sku", "x" * 65),
        ("gtin", "4006381333932"),
        ("name", "  "),
        ("name", " padded"),
        ("name", "n" * 301),
        ("category", ""),
        ("unit_weight_g", 0),
        ("unit_weight_g", -5),
        ("unit_weight_g", 100_001),
        ("sold_by", "litre"),
        ("temperature_zone", "warm"),
    ],
)
def test_product_refuses_bad_fields(field: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _product(**{field: value})
    assert caught.value.details.get("field") == field


def test_loose_produce_may_have_no_brand() -> None:
    assert _product(brand="", sold_by=SoldBy.WEIGHT).brand == ""
    assert SoldBy.WEIGHT.price_unit == "kg"
    assert SoldBy.EACH.price_unit == "each"


def test_shelf_locations_sort_in_walk_order_and_refuse_nonsense() -> None:
    spots = [ShelfLocation(3, 1, 1), ShelfLocation(1, 12, 5), ShelfLocation(1, 2, 6), ShelfLocation(1, 2, 1)]
    assert sorted(spots) == [
        ShelfLocation(1, 2, 1),
        ShelfLocation(1, 2, 6),
        ShelfLocation(1, 12, 5),
        ShelfLocation(3, 1, 1),
    ]
    with pytest.raises(ValidationFailed):
        ShelfLocation(-1, 1, 1)
    with pytest.raises(ValidationFailed):
        ShelfLocation(1, 10_000, 1)


def _priced(pid: str, amount: int, *, category: str = "Dairy & Eggs", sold_by: SoldBy = SoldBy.EACH) -> PricedProduct:
    gtin_body = f"{zlib.crc32(pid.encode()):012d}"
    product = _product(
        id=pid,
        sku=pid,
        name=f"Product {pid}",
        category=category,
        sold_by=sold_by,
        gtin=gtin_body + str(gtin_check_digit(gtin_body)),
    )
    return PricedProduct(product, Money(amount, "GBP"))


def test_substitutes_rank_by_price_closeness_with_the_cheaper_first_on_ties_within_the_band() -> None:
    original = _priced("orig", 200)
    pool = [
        original,
        _priced("far", 400),
        _priced("too-far", 401),
        _priced("above", 210),
        _priced("below", 190),
        _priced("exact", 200),
        _priced("other-category", 200, category="Cheese"),
        _priced("by-weight", 200, sold_by=SoldBy.WEIGHT),
    ]
    ranked = rank_substitutes(original.product, original.price, pool, limit=10)
    assert [c.product.id for c in ranked] == ["exact", "below", "above", "far"]  # "too-far": over twice the price
    narrow = rank_substitutes(original.product, original.price, pool, limit=10, price_band_percent=50)
    assert [c.product.id for c in narrow] == ["exact", "below", "above"]
    assert [c.product.id for c in rank_substitutes(original.product, original.price, pool, limit=2)] == [
        "exact",
        "below",
    ]


def test_substitutes_never_mix_currencies_and_need_a_positive_limit() -> None:
    original = _priced("orig", 200)
    euro = PricedProduct(_priced("eur", 200).product, Money(200, "EUR"))
    assert rank_substitutes(original.product, original.price, [euro], limit=3) == []
    with pytest.raises(ValidationFailed):
        rank_substitutes(original.product, original.price, [], limit=0)


@given(prices=st.lists(st.integers(1, 10_000), max_size=30), target=st.integers(1, 10_000), limit=st.integers(1, 40))
def test_substitute_ranking_is_sorted_by_distance_and_complete(prices: list[int], target: int, limit: int) -> None:
    original = _priced("orig", target)
    pool = [_priced(f"c{i}", p) for i, p in enumerate(prices)]
    in_band = [c for c in pool if abs(c.price.amount - target) * 100 <= target * 100]
    ranked = rank_substitutes(original.product, original.price, pool, limit)
    distances = [abs(c.price.amount - target) for c in ranked]
    assert distances == sorted(distances)
    assert len(ranked) == min(limit, len(in_band))
    if ranked and len(ranked) < len(in_band):
        cut = max(distances)
        left_out = [c for c in in_band if c not in ranked]
        assert all(abs(c.price.amount - target) >= cut for c in left_out)


def test_substitutes_that_share_the_originals_name_come_first() -> None:
    def named(pid: str, brand: str, name: str, amount: int) -> PricedProduct:
        priced = _priced(pid, amount)
        return PricedProduct(replace(priced.product, brand=brand, name=f"{brand} {name}"), priced.price)

    original = named("orig", "Clover Fields", "Creme Fraiche 300ml", 150)
    pool = [
        named("pudding", "FreshMart", "Rice Pudding 400g", 150),
        named("other-brand", "Meadow Vale", "Creme Fraiche 200ml", 130),
        named("yoghurt", "Clover Fields", "Greek Yoghurt 500g", 150),  # sharing the brand does not make it alike
    ]
    ranked = rank_substitutes(original.product, original.price, pool, limit=3)
    assert ranked[0].product.id == "other-brand"  # then the others by price, then name
