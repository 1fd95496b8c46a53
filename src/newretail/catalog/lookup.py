"""Read helpers other contexts call inside their own transaction (they never query our tables)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from newretail.catalog.model import UnknownProduct
from newretail.catalog.tables import products
from newretail.core.db import not_indexed


def require_products(conn: Connection, tenant_id: str, product_ids: Iterable[str]) -> None:
    """Raise ``UnknownProduct`` naming every id that is not a product of this tenant."""
    wanted = set(product_ids)
    if not wanted:
        return
    known = set(
        conn.execute(
            select(products.c.id).where(not_indexed(products.c.tenant_id) == tenant_id, products.c.id.in_(wanted))
        ).scalars()
    )
    missing = sorted(wanted - known)
    if missing:
        raise UnknownProduct(f"unknown product(s): {', '.join(missing)}", product_ids=missing)
