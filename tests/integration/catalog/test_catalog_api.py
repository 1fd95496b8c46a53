"""Catalog over HTTP: roles, idempotency, CSV upload, and tenant isolation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from newretail.catalog import services
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role

HEADER = "sku,gtin,name,brand,category,sold_by,unit_weight_g,temperature_zone,price_minor,aisle,bay,shelf\n"
MILK = {
    "sku": "DAI-0001",
    "gtin": "5000159484695",
    "name": "Semi-Skimmed Milk 2 pints",
    "brand": "Meadow Vale",
    "category": "Dairy & Eggs",
    "sold_by": "each",
    "unit_weight_g": 1170,
    "temperature_zone": "chilled",
}


def _milk_with_price(client: TestClient, world, headers: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    created = client.post("/catalog/products", headers=headers, json=MILK)
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    price = client.put(
        f"/catalog/stores/{world.store.id}/prices/{product_id}", headers=headers, json={"price_minor": 110}
    )
    assert price.status_code == 200, price.text
    assert price.json() == {
        "store_id": world.store.id,
        "product_id": product_id,
        "price_minor": 110,
        "currency": "GBP",
        "per": "each",
    }
    place = client.put(
        f"/catalog/stores/{world.store.id}/locations/{product_id}",
        headers=headers,
        json={"aisle": 14, "bay": 2, "shelf": 3},
    )
    assert place.status_code == 200, place.text
    return product_id


def test_a_manager_builds_the_catalog_and_a_shopper_reads_it(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    admin = world.login(client)
    product_id = _milk_with_price(client, world, admin)
    shopper = world.login(client, world.customer.email)

    one = client.get(f"/catalog/products/{product_id}", headers=shopper, params={"store_id": world.store.id})
    assert one.status_code == 200
    assert one.json()["price"] == {"amount_minor": 110, "currency": "GBP", "per": "each"}
    assert one.json()["location"] == {"aisle": 14, "bay": 2, "shelf": 3}
    assert client.get(f"/catalog/products/{product_id}", headers=shopper).json()["price"] is None

    scanned = client.get("/catalog/barcodes/05000159484695", headers=shopper)  # GTIN-14 spelling
    assert scanned.status_code == 200 and scanned.json()["id"] == product_id
    assert client.get("/catalog/barcodes/5000159484696", headers=shopper).status_code == 422
    missing = client.get("/catalog/barcodes/4006381333931", headers=shopper)
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_product")

    found = client.get("/catalog/products", headers=shopper, params={"q": "skimmed", "store_id": world.store.id})
    assert [p["id"] for p in found.json()] == [product_id]
    assert found.json()[0]["price"]["amount_minor"] == 110
    assert client.get("/catalog/products", headers=shopper, params={"category": "Bakery"}).json() == []
    assert client.get("/catalog/categories", headers=shopper).json() == [{"name": "Dairy & Eggs", "product_count": 1}]
    prices = client.get(f"/catalog/stores/{world.store.id}/prices", headers=shopper)
    assert [(p["sku"], p["price"]["amount_minor"]) for p in prices.json()] == [("DAI-0001", 110)]

    patched = client.patch(f"/catalog/products/{product_id}", headers=admin, json={"name": "Semi-Skimmed Milk 2pt"})
    assert patched.status_code == 200 and patched.json()["name"] == "Semi-Skimmed Milk 2pt"
    assert client.get("/catalog/products").status_code == 401


def test_customers_read_but_cannot_write(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    product_id = _milk_with_price(client, world, world.login(client))
    shopper = world.login(client, world.customer.email)
    attempts = [
        client.post("/catalog/products", headers=shopper, json={**MILK, "sku": "X-1", "gtin": "4006381333931"}),
        client.patch(f"/catalog/products/{product_id}", headers=shopper, json={"name": "Hacked"}),
        client.put(f"/catalog/stores/{world.store.id}/prices/{product_id}", headers=shopper, json={"price_minor": 1}),
        client.put(
            f"/catalog/stores/{world.store.id}/locations/{product_id}",
            headers=shopper,
            json={"aisle": 1, "bay": 1, "shelf": 1},
        ),
        client.post("/catalog/imports", headers={**shopper, "Content-Type": "text/csv"}, content=HEADER),
    ]
    assert [r.status_code for r in attempts] == [403] * 5
    product = client.get(f"/catalog/products/{product_id}", headers=shopper, params={"store_id": world.store.id}).json()
    assert (product["name"], product["price"]["amount_minor"]) == (MILK["name"], 110)


def test_another_tenant_sees_404_and_changes_nothing(client: TestClient, runtime: Runtime, world, other_world) -> None:  # type: ignore[no-untyped-def]
    product_id = _milk_with_price(client, world, world.login(client))
    rival = other_world.login(client)  # a tenant admin, just of another retailer
    store = world.store.id
    reads = [
        client.get(f"/catalog/products/{product_id}", headers=rival),
        client.get(f"/catalog/barcodes/{MILK['gtin']}", headers=rival),
        client.get(f"/catalog/stores/{store}/prices", headers=rival),
        client.get(f"/catalog/products/{product_id}/substitutes", headers=rival, params={"store_id": store}),
        client.get(f"/catalog/products/{product_id}", headers=rival, params={"store_id": other_world.store.id}),
    ]
    assert [r.status_code for r in reads] == [404] * 5
    assert client.get("/catalog/products", headers=rival).json() == []
    writes = [
        client.patch(f"/catalog/products/{product_id}", headers=rival, json={"name": "Hijacked"}),
        client.put(f"/catalog/stores/{store}/prices/{product_id}", headers=rival, json={"price_minor": 1}),
        client.put(
            f"/catalog/stores/{other_world.store.id}/prices/{product_id}", headers=rival, json={"price_minor": 1}
        ),
        client.put(
            f"/catalog/stores/{store}/locations/{product_id}", headers=rival, json={"aisle": 9, "bay": 9, "shelf": 9}
        ),
        client.post(
            "/catalog/imports",
            headers={**rival, "Content-Type": "text/csv"},
            params={"store_id": store},
            content=HEADER + "X-1,4006381333931,Intruder,,Fruit,each,100,ambient,1,1,1,1\n",
        ),
    ]
    assert [r.status_code for r in writes] == [404] * 5
    assert all(r.json()["code"] in {"not_found", "unknown_product"} for r in writes)
    # nothing changed for the owner
    assert services.get_product(runtime.uow(), world.tenant_id, product_id).name == MILK["name"]
    assert services.price_lines(runtime.uow(), world.tenant_id, store, [product_id]) == {product_id: Money(110, "GBP")}
    assert services.list_products(runtime.uow(), other_world.tenant_id) == []
    # and the same GTIN is free for the rival's own catalog
    assert client.post("/catalog/products", headers=rival, json=MILK).status_code == 201


def test_a_store_bound_manager_acts_only_in_their_store(client: TestClient, runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    product_id = _milk_with_price(client, world, world.login(client))
    second = tenancy.open_store(
        runtime.uow(),
        tenant_id=world.tenant_id,
        name="acme North",
        address="2 North St",
        lat=51.55,
        lon=-0.1,
        delivery_radius_m=3219,
    )
    tenancy.register_user(
        runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email="manager@acme.test",
        name="Mo",
        password=world.password,
        role=Role.STORE_MANAGER,
        store_id=second.id,
    )
    manager = world.login(client, "manager@acme.test")
    own = client.put(f"/catalog/stores/{second.id}/prices/{product_id}", headers=manager, json={"price_minor": 115})
    assert own.status_code == 200
    other = client.put(
        f"/catalog/stores/{world.store.id}/prices/{product_id}", headers=manager, json={"price_minor": 1}
    )
    assert other.status_code == 404
    assert services.price_lines(runtime.uow(), world.tenant_id, world.store.id, [product_id])[product_id].amount == 110


def test_idempotency_key_makes_a_retry_harmless(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    admin = world.login(client)
    keyed = {**admin, "Idempotency-Key": "create-milk-1"}
    first = client.post("/catalog/products", headers=keyed, json=MILK)
    retry = client.post("/catalog/products", headers=keyed, json=MILK)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert first.json() == retry.json()
    assert len(client.get("/catalog/products", headers=admin).json()) == 1
    reused = client.post("/catalog/products", headers=keyed, json={**MILK, "name": "Other"})
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    duplicate = client.post("/catalog/products", headers=admin, json=MILK)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "duplicate_product")
    bad = client.post("/catalog/products", headers=admin, json={**MILK, "sku": "D-2", "gtin": "5000159484696"})
    assert (bad.status_code, bad.json()["details"]["field"]) == (422, "gtin")


def test_csv_upload_is_all_or_nothing(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    admin = world.login(client)
    csv_headers = {**admin, "Content-Type": "text/csv"}
    bad = (
        HEADER
        + "BAK-1,5000159484695,Seeded Loaf 800g,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
        + "BAK-2,5000159484696,Bad Check,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
        + "BAK-1,4006381333931,Dup,Millbrook,Bakery,each,-800,ambient,175,3,1,1\n"
    )
    rejected = client.post("/catalog/imports", headers=csv_headers, params={"store_id": world.store.id}, content=bad)
    assert rejected.status_code == 422
    assert rejected.json()["code"] == "catalog_import_rejected"
    assert [(e["line"], e["field"]) for e in rejected.json()["details"]["errors"]] == [
        (3, "gtin"),
        (4, "sku"),
        (4, "unit_weight_g"),
    ]
    assert client.get("/catalog/products", headers=admin).json() == []

    good = HEADER + "BAK-1,5000159484695,Seeded Loaf 800g,Millbrook,Bakery,each,800,ambient,175,3,1,1\n"
    imported = client.post(
        "/catalog/imports",
        headers={**csv_headers, "Idempotency-Key": "upload-1"},
        params={"store_id": world.store.id},
        content=good.encode(),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json() == {
        "products_created": 1,
        "products_updated": 0,
        "products_unchanged": 0,
        "prices_set": 1,
        "locations_set": 1,
    }
    retried = client.post(
        "/catalog/imports",
        headers={**csv_headers, "Idempotency-Key": "upload-1"},
        params={"store_id": world.store.id},
        content=good.encode(),
    )
    assert retried.json() == imported.json()
    upsert = client.post(
        "/catalog/imports", headers=csv_headers, params={"mode": "upsert"}, content=good.replace("175,3,1,1", ",,,")
    )
    assert upsert.json()["products_unchanged"] == 1

    multipart = client.post("/catalog/imports", headers=admin, files={"file": ("c.csv", good.encode(), "text/csv")})
    assert multipart.status_code == 422
    assert "text/csv" in multipart.json()["message"]


def test_substitutes_over_http(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    admin = world.login(client)
    rows = "".join(
        f"DAI-{i},{gtin},{name},Meadow Vale,Dairy & Eggs,each,1170,chilled,{price},14,1,{i}\n"
        for i, (gtin, name, price) in enumerate(
            [
                ("5000159484695", "Whole Milk 2 pints", 110),
                ("4006381333931", "Semi-Skimmed Milk 2 pints", 112),
                ("036000291452", "Organic Whole Milk 2 pints", 150),
                ("96385074", "Skimmed Milk 2 pints", 105),
            ],
            start=1,
        )
    )
    client.post(
        "/catalog/imports",
        headers={**admin, "Content-Type": "text/csv"},
        params={"store_id": world.store.id},
        content=HEADER + rows,
    ).raise_for_status()
    wanted = client.get("/catalog/barcodes/5000159484695", headers=admin).json()
    shopper = world.login(client, world.customer.email)
    offered = client.get(
        f"/catalog/products/{wanted['id']}/substitutes",
        headers=shopper,
        params={"store_id": world.store.id, "limit": 2},
    )
    assert offered.status_code == 200
    assert [(p["name"], p["price"]["amount_minor"]) for p in offered.json()] == [
        ("Organic Whole Milk 2 pints", 150),  # the most alike by name, within the price band
        ("Semi-Skimmed Milk 2 pints", 112),
    ]
