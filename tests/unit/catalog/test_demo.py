"""The demo assortment: big enough, realistic, valid, and the same for the same seed."""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cache

from newretail.catalog.demo import CATEGORIES, FACINGS_PER_SHELF, ZONE_WALK_ORDER, DemoCatalog, generate_demo_catalog
from newretail.catalog.import_csv import parse_catalog_csv
from newretail.catalog.model import SoldBy, TemperatureZone, canonical_gtin, validate_gtin


@cache
def _catalog(seed: int = 42) -> DemoCatalog:
    return generate_demo_catalog(seed, store_count=3)


def test_same_seed_same_catalog_and_another_seed_another() -> None:
    first, again = generate_demo_catalog(7, store_count=3), generate_demo_catalog(7, store_count=3)
    assert first == again
    assert first.to_csv(1) == again.to_csv(1)
    other = generate_demo_catalog(8, store_count=3)
    assert [p.base_price_minor for p in other.products] != [p.base_price_minor for p in first.products]


def test_it_is_a_full_size_grocery_assortment() -> None:
    catalog = _catalog()
    per_category = Counter(p.category for p in catalog.products)
    assert len(catalog.products) >= 2000
    assert len(per_category) >= 20
    assert min(per_category.values()) >= 50
    expected = {"Fruit", "Vegetables", "Bakery", "Dairy & Eggs", "Meat & Poultry", "Fish & Seafood", "Soft Drinks"}
    assert expected | {"Household & Cleaning", "Ice Cream & Desserts"} <= set(per_category)


def test_identifiers_are_valid_and_unique() -> None:
    products = _catalog().products
    for p in products:
        validate_gtin(p.gtin)
        assert len(p.gtin) == 13
    assert len({canonical_gtin(p.gtin) for p in products}) == len(products)
    assert len({p.sku for p in products}) == len(products)
    assert len({p.name for p in products}) == len(products)


def test_zones_match_categories_and_counters_sell_by_weight() -> None:
    zone_of = {c.name: c.zone for c in CATEGORIES}
    products = _catalog().products
    assert all(p.temperature_zone == zone_of[p.category] for p in products)
    assert zone_of["Ice Cream & Desserts"] == TemperatureZone.FROZEN
    assert zone_of["Dairy & Eggs"] == TemperatureZone.CHILLED
    weighed = Counter(p.category for p in products if p.sold_by == SoldBy.WEIGHT)
    assert {"Fruit", "Vegetables", "Meat & Poultry", "Fish & Seafood", "Cheese"} <= set(weighed)
    assert all(weighed[c] >= 5 for c in ("Fruit", "Vegetables", "Meat & Poultry", "Fish & Seafood"))
    assert all(p.unit_weight_g > 0 for p in products)
    bananas = next(p for p in products if p.name == "Loose Bananas")
    assert (bananas.sold_by, bananas.brand, 80 <= bananas.unit_weight_g <= 200) == (SoldBy.WEIGHT, "", True)


def test_prices_are_plausible_and_vary_a_little_per_store() -> None:
    catalog = _catalog()
    assert len(catalog.store_prices) == 3
    differing = 0
    for p in catalog.products:
        per_store = [prices[p.sku] for prices in catalog.store_prices]
        assert all(isinstance(x, int) and x > 0 for x in per_store)
        assert all(abs(x - p.base_price_minor) * 100 <= p.base_price_minor * 10 + 500 for x in per_store)
        differing += len(set(per_store)) > 1
    assert differing > len(catalog.products) // 4
    by_name = {p.name: p for p in catalog.products}
    essentials = [p for p in catalog.products if p.brand == "FreshMart Essentials"]
    cheaper = sum(
        1
        for p in essentials
        if (finest := by_name.get(p.name.replace("Essentials", "Finest")))
        and finest.base_price_minor > p.base_price_minor
    )
    assert cheaper >= 20  # the value range undercuts the premium range


def test_the_layout_walks_ambient_then_chilled_then_frozen_without_overfilling_a_shelf() -> None:
    catalog = _catalog()
    zone_of = {c.name: c.zone for c in CATEGORIES}
    assert [zone_of[c] for c in catalog.categories] == sorted(
        (zone_of[c] for c in catalog.categories), key=ZONE_WALK_ORDER.index
    )
    for layout in catalog.store_layouts:
        assert set(layout) == {p.sku for p in catalog.products}
        aisles: dict[TemperatureZone, set[int]] = defaultdict(set)
        for p in catalog.products:
            aisles[p.temperature_zone].add(layout[p.sku].aisle)
        assert max(aisles[TemperatureZone.AMBIENT]) < min(aisles[TemperatureZone.CHILLED])
        assert max(aisles[TemperatureZone.CHILLED]) < min(aisles[TemperatureZone.FROZEN])
        facings = Counter(layout.values())
        assert max(facings.values()) <= FACINGS_PER_SHELF
        # categories follow the walk: each starts at or after where the previous one ended
        first_spot = {c: min(layout[p.sku] for p in catalog.products if p.category == c) for c in catalog.categories}
        assert [first_spot[c] for c in catalog.categories] == sorted(first_spot.values())
    assert len({max(loc.aisle for loc in layout.values()) for layout in catalog.store_layouts}) > 1  # sizes differ


def test_the_demo_catalog_is_a_valid_import_file() -> None:
    catalog = _catalog()
    parsed = parse_catalog_csv(catalog.to_csv(2), for_store=True)
    assert parsed.errors == []
    assert len(parsed.rows) == len(catalog.products)
    row = parsed.rows[0]
    assert (row.price_minor, row.location) == (
        catalog.store_prices[2][row.sku],
        catalog.store_layouts[2][row.sku],
    )
