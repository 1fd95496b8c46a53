"""Catalog use cases against SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from newretail.catalog import services
from newretail.catalog.demo import generate_demo_catalog
from newretail.catalog.import_csv import CatalogImportRejected, ImportMode, RowError
from newretail.catalog.model import DuplicateProduct, NotSoldInStore, ShelfLocation, SoldBy, UnknownProduct
from newretail.catalog.tables import product_locations, products, store_prices
from newretail.core.errors import NotFound, ValidationFailed
from newretail.core.messaging import outbox
from newretail.core.money import Money
from newretail.core.runtime import Runtime

HEADER = "sku,gtin,name,brand,category,sold_by,unit_weight_g,temperature_zone,price_minor,aisle,bay,shelf\n"


def _count(runtime: Runtime, table) -> int:  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_create_read_search_and_update(runtime: Runtime, world, make_product) -> None:  # type: ignore[no-untyped-def]
    milk = make_product(world.tenant_id, "Semi-Skimmed Milk 2 pints", gtin="036000291452")
    make_product(world.tenant_id, "Mature Cheddar 400g", brand="Castle Cheddar Co", category="Cheese")
    uow = runtime.uow
    assert services.get_product(uow(), world.tenant_id, milk.id) == milk
    # a scanner reading the EAN-13 or GTIN-14 spelling of a UPC-A finds the same product
    assert services.product_by_gtin(uow(), world.tenant_id, "0036000291452").id == milk.id
    assert services.product_by_gtin(uow(), world.tenant_id, "00036000291452").id == milk.id
    assert [p.name for p in services.list_products(uow(), world.tenant_id, search="cheddar co")] == [
        "Mature Cheddar 400g"
    ]
    assert [p.name for p in services.list_products(uow(), world.tenant_id, search="MILK")] == [milk.name]
    assert [p.id for p in services.list_products(uow(), world.tenant_id, search=milk.sku)] == [milk.id]
    assert [p.category for p in services.list_products(uow(), world.tenant_id, category="Cheese")] == ["Cheese"]
    assert services.list_products(uow(), world.tenant_id, search="100%") == []  # LIKE wildcards are literal
    assert [(c.name, c.product_count) for c in services.categories(uow(), world.tenant_id)] == [
        ("Cheese", 1),
        ("Dairy & Eggs", 1),
    ]

    renamed = services.update_product(uow(), tenant_id=world.tenant_id, product_id=milk.id, name=" Milk 2 pints ")
    assert renamed.name == "Milk 2 pints"
    assert services.get_product(uow(), world.tenant_id, milk.id).name == "Milk 2 pints"
    with pytest.raises(ValidationFailed, match="sold_by cannot change"):
        services.update_product(uow(), tenant_id=world.tenant_id, product_id=milk.id, sold_by="weight")
    with runtime.engine.connect() as conn:
        names = [row.name for row in conn.execute(select(outbox.c.name).order_by(outbox.c.id))]
    assert names.count("ProductCreated") == 2 and names.count("ProductUpdated") == 1


def test_duplicates_and_unknowns_are_typed_errors(runtime: Runtime, world, other_world, make_product) -> None:  # type: ignore[no-untyped-def]
    milk = make_product(world.tenant_id, gtin="036000291452")
    with pytest.raises(DuplicateProduct) as caught:
        make_product(world.tenant_id, sku=milk.sku)
    assert (caught.value.code, caught.value.http_status, caught.value.details["field"]) == (
        "duplicate_product",
        409,
        "sku",
    )
    with pytest.raises(DuplicateProduct, match=milk.sku):
        make_product(world.tenant_id, gtin="0036000291452")  # the same item spelled as EAN-13
    make_product(other_world.tenant_id, sku=milk.sku, gtin=milk.gtin)  # another retailer may reuse both
    with pytest.raises(UnknownProduct) as unknown:
        services.get_product(runtime.uow(), other_world.tenant_id, milk.id)
    assert (unknown.value.code, unknown.value.http_status) == ("unknown_product", 404)
    with pytest.raises(UnknownProduct) as several:
        services.products_by_ids(runtime.uow(), world.tenant_id, [milk.id, "nope-1", "nope-2"])
    assert several.value.details["product_ids"] == ["nope-1", "nope-2"]
    with pytest.raises(ValidationFailed):
        services.product_by_gtin(runtime.uow(), world.tenant_id, "12345")


def test_prices_locations_and_the_read_helpers(runtime: Runtime, world, other_world, make_product) -> None:  # type: ignore[no-untyped-def]
    milk = make_product(world.tenant_id)
    bananas = make_product(world.tenant_id, "Loose Bananas", category="Fruit", sold_by="weight", unit_weight_g=120)
    unpriced = make_product(world.tenant_id, "Cream 300ml")
    store = world.store.id
    price = services.set_store_price(
        runtime.uow(), tenant_id=world.tenant_id, store_id=store, product_id=milk.id, price_minor=65
    )
    assert (price.price, price.per) == (Money(65, "GBP"), "each")
    per_kg = services.set_store_price(
        runtime.uow(), tenant_id=world.tenant_id, store_id=store, product_id=bananas.id, price_minor=95
    )
    assert per_kg.per == "kg"
    services.set_store_price(
        runtime.uow(), tenant_id=world.tenant_id, store_id=store, product_id=milk.id, price_minor=69
    )
    services.set_location(
        runtime.uow(), tenant_id=world.tenant_id, store_id=store, product_id=milk.id, aisle=14, bay=2, shelf=3
    )

    ids = [milk.id, bananas.id, unpriced.id]
    assert services.price_lines(runtime.uow(), world.tenant_id, store, ids) == {
        milk.id: Money(69, "GBP"),
        bananas.id: Money(95, "GBP"),
    }
    assert services.locations(runtime.uow(), world.tenant_id, store, ids) == {milk.id: ShelfLocation(14, 2, 3)}
    with pytest.raises(UnknownProduct):
        services.price_lines(runtime.uow(), other_world.tenant_id, store, [milk.id])
    # another tenant's store is not found, and its id cannot be used to write into this tenant
    with pytest.raises(NotFound):
        services.set_store_price(
            runtime.uow(), tenant_id=world.tenant_id, store_id=other_world.store.id, product_id=milk.id, price_minor=1
        )
    with pytest.raises(ValidationFailed):
        services.set_store_price(
            runtime.uow(), tenant_id=world.tenant_id, store_id=store, product_id=milk.id, price_minor=0
        )
    assert _count(runtime, store_prices) == 2 and _count(runtime, product_locations) == 1


def test_read_helpers_join_the_callers_transaction(runtime: Runtime, world, make_product) -> None:  # type: ignore[no-untyped-def]
    milk = make_product(world.tenant_id)
    with runtime.uow() as uow:
        services.set_store_price(
            uow, tenant_id=world.tenant_id, store_id=world.store.id, product_id=milk.id, price_minor=70
        )
        # uncommitted, yet visible to a read in the same transaction
        assert services.price_lines(uow, world.tenant_id, world.store.id, [milk.id]) == {milk.id: Money(70, "GBP")}
        assert services.products_by_ids(uow, world.tenant_id, [milk.id]) == {milk.id: milk}
        uow.conn  # noqa: B018 - still open after the helpers ran
    # never committed: rolled back
    assert services.price_lines(runtime.uow(), world.tenant_id, world.store.id, [milk.id]) == {}


def test_substitutes_share_category_and_sold_by_and_rank_by_likeness_then_price(
    runtime: Runtime, world, make_product
) -> None:  # type: ignore[no-untyped-def]
    store = world.store.id
    wanted = make_product(world.tenant_id, "Whole Milk 2 pints")
    offers = {
        "Semi-Skimmed Milk 2 pints": 112,
        "Organic Whole Milk 2 pints": 150,
        "Skimmed Milk 2 pints": 105,
        "Whole Milk 4 pints": 155,
        "Oat Drink 1L": 175,
        "Luxury Milk Hamper": 900,  # more than twice the price: never offered
    }
    made = {name: make_product(world.tenant_id, name) for name in offers}
    loose = make_product(world.tenant_id, "Loose Cheese", sold_by="weight", unit_weight_g=200)
    cheese = make_product(world.tenant_id, "Cheddar 400g", category="Cheese")
    make_product(world.tenant_id, "Unpriced Milk")  # not sold in this store: never offered
    prices = {wanted.id: 110, loose.id: 110, cheese.id: 110} | {made[n].id: p for n, p in offers.items()}
    for product_id, price in prices.items():
        services.set_store_price(
            runtime.uow(), tenant_id=world.tenant_id, store_id=store, product_id=product_id, price_minor=price
        )

    ranked = services.substitute_candidates(runtime.uow(), world.tenant_id, store, wanted.id, limit=3)
    assert [c.product.name for c in ranked] == [
        "Organic Whole Milk 2 pints",  # whole milk for whole milk first, the closer price first
        "Whole Milk 4 pints",
        "Semi-Skimmed Milk 2 pints",
    ]
    assert [c.price.amount for c in ranked] == [150, 155, 112]
    everything = services.substitute_candidates(runtime.uow(), world.tenant_id, store, wanted.id, limit=50)
    assert all(c.product.category == "Dairy & Eggs" and c.product.sold_by == SoldBy.EACH for c in everything)
    assert len(everything) == 5  # all within twice the price

    unpriced = make_product(world.tenant_id, "Goat Milk")
    with pytest.raises(NotSoldInStore) as caught:
        services.substitute_candidates(runtime.uow(), world.tenant_id, store, unpriced.id)
    assert caught.value.code == "not_sold_in_store"


def test_a_csv_with_bad_rows_imports_nothing_and_lists_every_problem(runtime: Runtime, world, make_product) -> None:  # type: ignore[no-untyped-def]
    existing = make_product(world.tenant_id, gtin="4006381333931")
    text = (
        HEADER
        + "NEW-1,5000159484695,Seeded Loaf 800g,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
        + f"{existing.sku},5012345678900,Clash by SKU,,Dairy & Eggs,each,590,chilled,65,,,\n"  # line 3
        + "NEW-3,04006381333931,Clash by GTIN,,Dairy & Eggs,each,590,chilled,65,,,\n"  # line 4
        + "NEW-4,5012345678901,Bad check digit,,Bakery,each,800,ambient,1.75,3,1,1\n"  # line 5
    )
    before = _count(runtime, products)
    with pytest.raises(CatalogImportRejected) as caught:
        services.import_catalog_csv(
            runtime.uow(), tenant_id=world.tenant_id, data=text.encode(), store_id=world.store.id
        )
    assert [(e.line, e.field) for e in caught.value.errors] == [
        (3, "sku"),
        (4, "gtin"),
        (5, "gtin"),
        (5, "price_minor"),
    ]
    assert caught.value.errors[1] == RowError(4, "gtin", f"already belongs to the product with SKU {existing.sku!r}")
    assert (_count(runtime, products), _count(runtime, store_prices), _count(runtime, product_locations)) == (
        before,
        0,
        0,
    )


def test_csv_create_then_upsert(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    store = world.store.id
    first = (
        HEADER
        + "BAK-1,5000159484695,Seeded Loaf 800g,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
        + "FRU-1,2100001000004,Loose Bananas,,Fruit,weight,120,ambient,95,1,1,1\n"
    )
    summary = services.import_catalog_csv(runtime.uow(), tenant_id=world.tenant_id, data=first, store_id=store)
    assert (summary.products_created, summary.prices_set, summary.locations_set) == (2, 2, 2)
    with pytest.raises(CatalogImportRejected):
        services.import_catalog_csv(runtime.uow(), tenant_id=world.tenant_id, data=first, store_id=store)

    second = (
        HEADER
        + "BAK-1,5000159484695,Seeded Batch Loaf 800g,Millbrook,Bakery,each,800,ambient,179,3,1,2\n"
        + "FRU-1,2100001000004,Loose Bananas,,Fruit,weight,120,ambient,,,,\n"
        + "FRU-2,2100002000003,Loose Gala Apples,,Fruit,weight,160,ambient,230,1,1,2\n"
    )
    summary = services.import_catalog_csv(
        runtime.uow(), tenant_id=world.tenant_id, data=second, store_id=store, mode=ImportMode.UPSERT
    )
    assert (summary.products_created, summary.products_updated, summary.products_unchanged) == (1, 1, 1)
    loaf = services.product_by_gtin(runtime.uow(), world.tenant_id, "5000159484695")
    assert loaf.name == "Seeded Batch Loaf 800g"
    assert services.price_lines(runtime.uow(), world.tenant_id, store, [loaf.id]) == {loaf.id: Money(179, "GBP")}

    switch = HEADER + "FRU-1,2100001000004,Loose Bananas,,Fruit,each,120,ambient,,,,\n"
    with pytest.raises(CatalogImportRejected) as caught:
        services.import_catalog_csv(runtime.uow(), tenant_id=world.tenant_id, data=switch, mode=ImportMode.UPSERT)
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "sold_by")]


def test_an_import_for_another_tenants_store_is_not_found(runtime: Runtime, world, other_world) -> None:  # type: ignore[no-untyped-def]
    text = HEADER + "FRU-1,2100001000004,Loose Bananas,,Fruit,weight,120,ambient,95,1,1,1\n"
    with pytest.raises(NotFound):
        services.import_catalog_csv(runtime.uow(), tenant_id=world.tenant_id, data=text, store_id=other_world.store.id)
    assert _count(runtime, products) == 0


def test_the_whole_demo_catalog_imports_through_the_csv_path(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    catalog = generate_demo_catalog(42, store_count=1)
    summary = services.import_catalog_csv(
        runtime.uow(), tenant_id=world.tenant_id, data=catalog.to_csv(0), store_id=world.store.id
    )
    assert summary.products_created == summary.prices_set == summary.locations_set == len(catalog.products)
    again = services.import_catalog_csv(
        runtime.uow(),
        tenant_id=world.tenant_id,
        data=catalog.to_csv(0),
        store_id=world.store.id,
        mode=ImportMode.UPSERT,
    )
    assert (again.products_created, again.products_updated, again.products_unchanged) == (0, 0, len(catalog.products))
