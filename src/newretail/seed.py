"""The demo city: one retailer, three stores in London, staff and customers, made through services.

Each context adds its part here (catalog, stock, couriers, ...) so ``newretail seed`` gives a demo
that exercises everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newretail.catalog.demo import seed_demo_catalog
from newretail.catalog.model import PricedProduct
from newretail.core.runtime import Runtime
from newretail.delivery.demo import seed_demo_couriers
from newretail.payments.seed import seed_demo_wallets
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import OpeningHours, Role, Store
from newretail.tenancy.repository import TenancyRepository
from newretail.tenancy.security import PasswordHashing

DEMO_TENANT = "freshmart"
DEMO_PASSWORD = "demo-password"
DEMO_STORES = (
    ("FreshMart Soho", "12 Old Compton St, London W1D", 51.5136, -0.1318),
    ("FreshMart Islington", "200 Upper St, London N1", 51.5417, -0.1030),
    ("FreshMart Brixton", "5 Electric Ave, London SW9", 51.4622, -0.1141),
)

# Where the demo's people work (the manager, picker and courier logins). Live traffic
# (``serve --live-orders``) runs at the other stores, so people and simulated staff never share a
# pick queue or a courier pool.
DEMO_STAFFED_STORE = DEMO_STORES[0][0]


@dataclass
class DemoCity:
    tenant_id: str
    stores: list[Store]
    logins: dict[str, str] = field(default_factory=dict)  # role -> email


DEMO_PICKERS = 3


class AlreadySeeded(RuntimeError):
    pass


def seed_demo(runtime: Runtime, *, seed: int = 42) -> DemoCity:
    with runtime.uow() as uow:
        if TenancyRepository(uow.conn).tenant_by_slug(DEMO_TENANT) is not None:
            raise AlreadySeeded(f"the demo tenant {DEMO_TENANT!r} already exists in this database")
    hashing = PasswordHashing(runtime.settings.argon2_time_cost, runtime.settings.argon2_memory_kib)
    tenant_id = tenancy.create_tenant(runtime.uow(), slug=DEMO_TENANT, name="FreshMart Supermarkets")
    stores = [
        tenancy.open_store(
            runtime.uow(),
            tenant_id=tenant_id,
            name=name,
            address=address,
            lat=lat,
            lon=lon,
            delivery_radius_m=runtime.settings.default_delivery_radius_m,
            # Open around the clock, so the demo takes orders whenever someone tries it.
            opening_hours=OpeningHours.every_day("00:00", "00:00"),
        )
        for name, address, lat, lon in DEMO_STORES
    ]
    seed_demo_catalog(runtime.uow(), tenant_id=tenant_id, store_ids=[s.id for s in stores], seed=seed)
    city = DemoCity(tenant_id=tenant_id, stores=stores)
    for index, store in enumerate(stores):
        seed_store_stock(runtime, tenant_id, store.id, seed=seed + index)
        seed_store_staff(runtime, tenant_id, store.id, pickers=DEMO_PICKERS, couriers=0)
    staffed = next(s for s in stores if s.name == DEMO_STAFFED_STORE)
    people = [
        ("admin@freshmart.test", "Ada Admin", Role.TENANT_ADMIN, None),
        ("manager@freshmart.test", "Mo Manager", Role.STORE_MANAGER, staffed.id),
        ("picker@freshmart.test", "Pat Picker", Role.PICKER, staffed.id),
        ("courier@freshmart.test", "Cass Courier", Role.COURIER, staffed.id),
        ("shopper@freshmart.test", "Sam Shopper", Role.CUSTOMER, None),
    ]
    for email, name, role, store_id in people:
        tenancy.register_user(
            runtime.uow(),
            hashing,
            tenant_id=tenant_id,
            email=email,
            name=name,
            password=DEMO_PASSWORD,
            role=role,
            store_id=store_id,
        )
        city.logins[role.value] = email
    seed_demo_wallets(runtime, tenant_id=tenant_id, customer_emails=[city.logins[Role.CUSTOMER.value]])
    seed_demo_couriers(
        runtime,
        tenant_id=tenant_id,
        store_ids=[s.id for s in stores],
        courier_email=city.logins["courier"],
        on_shift=True,
    )
    return city


def seed_store_stock(runtime: Runtime, tenant_id: str, store_id: str, *, seed: int) -> int:
    """Opening stock for every product the store sells: a few low lines, so shelves do run empty."""
    import random

    from newretail.catalog.model import SoldBy
    from newretail.inventory import services as inventory

    rng = random.Random(seed)
    quantities: dict[str, int] = {}
    for item in _all_priced(runtime, tenant_id, store_id):
        if item.product.sold_by is SoldBy.WEIGHT:
            quantities[item.product.id] = rng.randint(5, 60) * 1000  # grams
        else:
            quantities[item.product.id] = rng.choice((2, 4, 8, 12, 20, 30, 40, 60))
    return inventory.receive_many(
        runtime.uow(), tenant_id=tenant_id, store_id=store_id, quantities=quantities, reference="opening stock"
    )


def seed_store_staff(
    runtime: Runtime, tenant_id: str, store_id: str, *, pickers: int, couriers: int, picker_prefix: str = "demo-picker-"
) -> None:
    """Pickers on shift and bikes on the road, so the promise has people to count on."""
    from newretail.delivery import services as delivery
    from newretail.fulfilment import services as fulfilment

    for i in range(pickers):
        fulfilment.start_shift(runtime.uow(), tenant_id=tenant_id, store_id=store_id, picker_id=f"{picker_prefix}{i}")
    for i in range(couriers):
        courier = delivery.add_courier(runtime.uow(), tenant_id=tenant_id, store_id=store_id, name=f"Bike {i + 1}")
        delivery.start_shift(runtime.uow(), tenant_id=tenant_id, courier_id=courier.id)


def make_plain_products(runtime: Runtime, tenant_id: str, count: int, *, prefix: str = "PLAIN") -> list[str]:
    """Plain products for benchmarks, tests and load runs (the demo catalog is richer)."""
    from newretail.catalog.model import gtin_check_digit
    from newretail.catalog.tables import products
    from newretail.core.ids import new_id

    # A GTIN body unique per prefix, so several batches can live in one tenant.
    prefix_code = int.from_bytes(prefix.encode()[-4:].rjust(4, b"\0"), "big") % 10**5
    ids = [new_id() for _ in range(count)]
    rows = [
        {
            "id": product_id,
            "tenant_id": tenant_id,
            "sku": f"{prefix}-{i:05d}",
            "gtin": (body := f"2{prefix_code:05d}{i:06d}") + str(gtin_check_digit(body)),
            "name": f"{prefix} product {i}",
            "brand": "Plain",
            "category": "Pantry",
            "sold_by": "each",
            "unit_weight_g": 500,
            "temperature_zone": "ambient",
            "created_at": runtime.clock.now(),
        }
        for i, product_id in enumerate(ids)
    ]
    with runtime.engine.begin() as conn:
        conn.execute(products.insert(), rows)
    return ids


def _all_priced(runtime: Runtime, tenant_id: str, store_id: str) -> list[PricedProduct]:
    from newretail.catalog import services as catalog
    from newretail.catalog.services import MAX_PRICE_LIST_PAGE

    found: list[PricedProduct] = []
    while page := catalog.price_list(runtime.uow(), tenant_id, store_id, limit=MAX_PRICE_LIST_PAGE, offset=len(found)):
        found.extend(page)
    return found
