"""The demo city: one retailer, three stores in London, staff and customers, made through services.

Each context adds its part here (catalog, stock, couriers, ...) so ``newretail seed`` gives a demo
that exercises everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from newretail.core.runtime import Runtime
from newretail.payments.seed import seed_demo_wallets
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role, Store
from newretail.tenancy.repository import TenancyRepository
from newretail.tenancy.security import PasswordHashing

DEMO_TENANT = "freshmart"
DEMO_PASSWORD = "demo-password"
DEMO_STORES = (
    ("FreshMart Soho", "12 Old Compton St, London W1D", 51.5136, -0.1318),
    ("FreshMart Islington", "200 Upper St, London N1", 51.5417, -0.1030),
    ("FreshMart Brixton", "5 Electric Ave, London SW9", 51.4622, -0.1141),
)


@dataclass
class DemoCity:
    tenant_id: str
    stores: list[Store]
    logins: dict[str, str] = field(default_factory=dict)  # role -> email


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
        )
        for name, address, lat, lon in DEMO_STORES
    ]
    city = DemoCity(tenant_id=tenant_id, stores=stores)
    people = [
        ("admin@freshmart.test", "Ada Admin", Role.TENANT_ADMIN, None),
        ("manager@freshmart.test", "Mo Manager", Role.STORE_MANAGER, stores[0].id),
        ("picker@freshmart.test", "Pat Picker", Role.PICKER, stores[0].id),
        ("courier@freshmart.test", "Cass Courier", Role.COURIER, stores[0].id),
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
    return city
