"""Shared fixtures.

Database-backed tests run on SQLite always and on PostgreSQL when NEWRETAIL_TEST_DATABASE_URL is
set. PostgreSQL tests use a schema of their own, created here and dropped at the end, so they never
touch other data. In CI (CI=true) an unreachable server fails the run; on a laptop it is skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from newretail.api.app import create_app
from newretail.core.clock import SimulatedClock
from newretail.core.db import make_engine
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.schema import load_all_tables

PG_URL_ENV = "NEWRETAIL_TEST_DATABASE_URL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def _pg_schema_engine() -> Iterator[Engine | None]:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        yield None
        return
    schema = f"nr_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url, pool_size=2)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        if _in_ci():
            pytest.fail(f"PostgreSQL at {PG_URL_ENV} is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL_ENV} is unreachable: {exc}")
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    metadata = load_all_tables()
    metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
        load_all_tables().create_all(eng)
        yield eng
        eng.dispose()
        return
    pg: Engine | None = request.getfixturevalue("_pg_schema_engine")
    if pg is None:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    names = ", ".join(f'"{t.name}"' for t in load_all_tables().sorted_tables)
    with pg.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield pg


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def settings() -> Settings:
    # Cheap argon2 parameters: the tests check behaviour, not hashing cost.
    return Settings(argon2_time_cost=1, argon2_memory_kib=64, database_url="sqlite:///unused.db")


@pytest.fixture
def runtime(engine: Engine, settings: Settings, clock: SimulatedClock) -> Runtime:
    return Runtime(engine=engine, settings=settings, clock=clock)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


class TenantWorld:
    """A retailer with one store, an admin and a customer, made through the real services."""

    def __init__(self, runtime: Runtime, slug: str) -> None:
        from newretail.tenancy import services as tenancy
        from newretail.tenancy.model import Role
        from newretail.tenancy.security import PasswordHashing

        self.runtime = runtime
        self.slug = slug
        self.hashing = PasswordHashing(runtime.settings.argon2_time_cost, runtime.settings.argon2_memory_kib)
        self.tenant_id = tenancy.create_tenant(runtime.uow(), slug=slug, name=f"{slug} Supermarkets")
        self.store = tenancy.open_store(
            runtime.uow(),
            tenant_id=self.tenant_id,
            name=f"{slug} Central",
            address="1 High Street",
            lat=51.5074,
            lon=-0.1278,
            delivery_radius_m=3219,
        )
        self.password = "correct horse battery"
        self.admin = tenancy.register_user(
            runtime.uow(),
            self.hashing,
            tenant_id=self.tenant_id,
            email=f"admin@{slug}.test",
            name="Admin",
            password=self.password,
            role=Role.TENANT_ADMIN,
        )
        self.customer = tenancy.register_user(
            runtime.uow(),
            self.hashing,
            tenant_id=self.tenant_id,
            email=f"shopper@{slug}.test",
            name="Shopper",
            password=self.password,
            role=Role.CUSTOMER,
        )

    def login(self, client: TestClient, email: str | None = None) -> dict[str, str]:
        response = client.post(
            "/auth/login",
            json={"tenant": self.slug, "email": email or self.admin.email, "password": self.password},
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def world(runtime: Runtime) -> TenantWorld:
    return TenantWorld(runtime, "acme")


@pytest.fixture
def other_world(runtime: Runtime) -> TenantWorld:
    return TenantWorld(runtime, "rival")


def make_products(runtime: Runtime, tenant_id: str, count: int, *, prefix: str = "P") -> list[str]:
    """Products straight into the catalog: inventory tests need ids, not catalog behaviour."""
    from newretail.seed import make_plain_products

    return make_plain_products(runtime, tenant_id, count, prefix=f"{prefix}{tenant_id[-6:]}")


@pytest.fixture
def make_product_ids(runtime: Runtime, world: TenantWorld):  # type: ignore[no-untyped-def]
    counter = iter(range(1000))
    return lambda count: make_products(runtime, world.tenant_id, count, prefix=f"M{next(counter)}-")


@pytest.fixture
def product_ids(runtime: Runtime, world: TenantWorld) -> list[str]:
    return make_products(runtime, world.tenant_id, 5)


class Shop:
    """A tenant's store stocked and laid out for ordering tests, built through the real services."""

    def __init__(self, runtime: Runtime, world: TenantWorld) -> None:
        from newretail.catalog import services as catalog
        from newretail.inventory import services as inventory

        self.runtime = runtime
        self.world = world
        specs = [
            # sku, name, category, sold_by, zone, price, aisle, stock
            ("MILK-1", "Whole milk 2L", "Dairy", "each", "chilled", 165, 5, 20),
            ("MILK-2", "Semi-skimmed milk 2L", "Dairy", "each", "chilled", 155, 5, 20),
            ("BREAD-1", "Sourdough loaf", "Bakery", "each", "ambient", 250, 1, 10),
            ("PEAS-1", "Frozen peas 1kg", "Frozen", "each", "frozen", 199, 9, 10),
            ("APPLE-1", "Loose apples", "Fruit", "weight", "ambient", 300, 2, 20_000),
        ]
        self.ids: dict[str, str] = {}
        self.gtins: dict[str, str] = {}
        from newretail.catalog.model import gtin_check_digit

        for i, (sku, name, category, sold_by, zone, price, aisle, stock) in enumerate(specs):
            body = f"501{abs(hash(world.tenant_id)) % 10**5:05d}{i:04d}"
            gtin = body + str(gtin_check_digit(body))
            product = catalog.create_product(
                runtime.uow(),
                tenant_id=world.tenant_id,
                sku=sku,
                gtin=gtin,
                name=name,
                brand="Acme",
                category=category,
                sold_by=sold_by,
                unit_weight_g=1000 if sold_by == "each" else 150,
                temperature_zone=zone,
            )
            catalog.set_store_price(
                runtime.uow(),
                tenant_id=world.tenant_id,
                store_id=world.store.id,
                product_id=product.id,
                price_minor=price,
            )
            catalog.set_location(
                runtime.uow(),
                tenant_id=world.tenant_id,
                store_id=world.store.id,
                product_id=product.id,
                aisle=aisle,
                bay=i + 1,
                shelf=1,
            )
            inventory.receive(
                runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=product.id, quantity=stock
            )
            self.ids[sku] = product.id
            self.gtins[sku] = gtin


@pytest.fixture
def shop(runtime: Runtime, world: TenantWorld) -> Shop:
    return Shop(runtime, world)
