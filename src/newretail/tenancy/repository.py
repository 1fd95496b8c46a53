"""Load and save tenancy rows. Every read of tenant data filters by ``tenant_id``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from newretail.core.errors import NotFound
from newretail.core.geo import Point
from newretail.tenancy.model import OpeningHours, Store
from newretail.tenancy.tables import api_keys, stores, tenants, users


class TenancyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def tenant_by_slug(self, slug: str) -> Any:
        return self.conn.execute(select(tenants).where(tenants.c.slug == slug)).first()

    def tenant(self, tenant_id: str) -> Any:
        row = self.conn.execute(select(tenants).where(tenants.c.id == tenant_id)).first()
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
        row = self.conn.execute(select(stores).where(stores.c.tenant_id == tenant_id, stores.c.id == store_id)).first()
        if row is None:
            raise NotFound("store not found", store_id=store_id)
        return _store(row)

    def stores(self, tenant_id: str) -> list[Store]:
        rows = self.conn.execute(select(stores).where(stores.c.tenant_id == tenant_id).order_by(stores.c.name))
        return [_store(row) for row in rows]

    def user_by_email(self, tenant_id: str, email: str) -> Any:
        return self.conn.execute(
            select(users).where(users.c.tenant_id == tenant_id, users.c.email == email.lower())
        ).first()

    def user(self, tenant_id: str, user_id: str) -> Any:
        row = self.conn.execute(select(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id)).first()
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
        opening_hours=OpeningHours.parse(row.opening_hours),
    )
