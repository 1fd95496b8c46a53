"""Demo seeding writes the catalog for every store, fast and deterministically."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from sqlalchemy import func, select

from newretail.catalog import services
from newretail.catalog.demo import generate_demo_catalog
from newretail.catalog.tables import product_locations, products, store_prices
from newretail.core.runtime import Runtime
from newretail.seed import seed_demo


def test_seed_demo_creates_the_catalog_with_prices_and_places_in_all_three_stores(runtime: Runtime) -> None:
    city = seed_demo(runtime, seed=42)
    expected = len(generate_demo_catalog(42, store_count=3).products)
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(products)).scalar_one() == expected
        for store in city.stores:
            for table in (store_prices, product_locations):
                count = conn.execute(select(func.count()).select_from(table).where(table.c.store_id == store.id))
                assert count.scalar_one() == expected
    bananas = services.list_products(runtime.uow(), city.tenant_id, search="Loose Bananas")[0]
    prices = [services.price_lines(runtime.uow(), city.tenant_id, s.id, [bananas.id])[bananas.id] for s in city.stores]
    assert all(p.currency == "GBP" and 50 <= p.amount <= 200 for p in prices)  # per kg
    first_aisle = services.locations(runtime.uow(), city.tenant_id, city.stores[0].id, [bananas.id])[bananas.id]
    assert first_aisle.aisle == 1  # fruit and veg greet you at the door


def test_the_generator_does_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "import hashlib; from newretail.catalog.demo import generate_demo_catalog; "
        "print(hashlib.sha256(generate_demo_catalog(42, 3).to_csv(0).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(generate_demo_catalog(42, 3).to_csv(0).encode()).hexdigest()}
