"""Load and save tenancy rows. Every read of tenant data filters by ``tenant_id``."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from newretail.core.errors import NotFound
from newretail.core.geo import Point
from newretail.tenancy.model import OpeningHours, Store
from newretail.tenancy.tables import api_keys, stores, tenants, users

# Read on every quote, checkout and dispatch round: built once (building a statement costs several
# times running it on SQLite).
_TENANT = select(tenants).where(tenants.c.id == bindparam("id"))
_STORE = select(stores).where(stores.c.tenant_id == bindparam("tenant_id"), stores.c.id == bindparam("id"))
_STORES = select(stores).where(stores.c.tenant_id == bindparam("tenant_id")).order_by(stores.c.name)
_USER = select(users).where(users.c.tenant_id == bindparam("tenant_id"), users.c.id == bindparam("id"))


class TenancyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def tenant_by_slug(self, slug: str) -> Any:
        return self.conn.execute(select(tenants).where(tenants.c.slug == slug)).first()

    def tenant(self, tenant_id: str) -> Any:
        row = self.conn.execute(_TENANT, {"id": tenant_id}).first()
        if row is None:
            raise NotFound("tenant not found")
        return row

    def add_store(self, store: Store, created_at: Any) -> None:
        self.conn.execute(
            insert(stores).values(
                id=store.id,
                tenant_id=store.tenant_id,
                name=store.name,
                address=store.address,
                lat=store.location.lat,
                lon=store.location.lon,
                delivery_radius_m=store.delivery_radius_m,
                timezone=store.timezone,
                opening_hours=store.opening_hours.to_raw(),
                created_at=created_at,
            )
        )

    def store(self, tenant_id: str, store_id: str) -> Store:
        row = self.conn.execute(_STORE, {"tenant_id": tenant_id, "id": store_id}).first()
        if row is None:
            raise NotFound("store not found", store_id=store_id)
        return _store(row)

    def stores(self, tenant_id: str) -> list[Store]:
        rows = self.conn.execute(_STORES, {"tenant_id": tenant_id})
        return [_store(row) for row in rows]

    def user_by_email(self, tenant_id: str, email: str) -> Any:
        return self.conn.execute(
            select(users).where(users.c.tenant_id == tenant_id, users.c.email == email.lower())
        ).first()

    def user(self, tenant_id: str, user_id: str) -> Any:
        row = self.conn.execute(_USER, {"tenant_id": tenant_id, "id": user_id}).first()
        if row is None:
            raise NotFound("user not found", user_id=user_id)
        return row

    def add_user(self, **values: Any) -> None:
        self.conn.execute(insert(users).values(**values))

    def add_api_key(self, **values: Any) -> None:
        self.conn.execute(insert(api_keys).values(**values))

    def api_key_by_prefix(self, prefix: str) -> Any:
        return self.conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()


def _store(row: Any) -> Store:
    return Store(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        address=row.address,
        location=Point(row.lat, row.lon),
        delivery_radius_m=row.delivery_radius_m,
        timezone=row.timezone,
        opening_hours=_opening_hours(tuple(sorted((day, tuple(span)) for day, span in row.opening_hours.items()))),
    )


@lru_cache(maxsize=1024)
def _opening_hours(raw: tuple[tuple[str, tuple[str, ...]], ...]) -> OpeningHours:
    """Parsed once per distinct week (stores of a chain mostly share one); OpeningHours is frozen,
    but its ``days`` dict is shared: nobody may change it."""
    return OpeningHours.parse({day: list(span) for day, span in raw})
