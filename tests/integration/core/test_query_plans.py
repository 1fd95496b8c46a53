"""Key lookups find their rows by key on SQLite, not by walking every row of the tenant.

Without statistics SQLite prefers an equality on the first column of a ``(tenant_id, ...)`` index
to a primary-key ``IN`` list, which made the dispatch round's reads grow with the tenant's history
and its number of stores. Each lookup here runs on an empty schema (the planner's choice does not
depend on the rows) and its ``EXPLAIN QUERY PLAN`` is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, bindparam, event, select
from sqlalchemy.dialects import postgresql, sqlite

from newretail.catalog.lookup import require_products
from newretail.catalog.model import UnknownProduct
from newretail.catalog.repository import CatalogRepository
from newretail.core.db import make_engine, not_indexed
from newretail.delivery.repository import DeliveryRepository
from newretail.delivery.tables import delivery_jobs
from newretail.ordering.repository import OrderingRepository
from newretail.payments.ledger import AccountKind, AccountRef
from newretail.payments.repository import LedgerRepository
from newretail.schema import load_all_tables

TENANT = "tenant-1"
IDS = [f"id-{n:02d}" for n in range(20)]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    load_all_tables().create_all(engine)
    yield engine
    engine.dispose()


def _plans_of(engine: Engine, call: Callable[[Connection], Any]) -> list[str]:
    """The query plan of every statement ``call`` runs (each explained after it ran)."""
    statements: list[tuple[str, Any]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if not statement.startswith("EXPLAIN"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.begin() as conn:
            call(conn)
            driver = conn.connection.dbapi_connection
            assert driver is not None
            return [
                " | ".join(row[3] for row in driver.execute(f"EXPLAIN QUERY PLAN {statement}", parameters))
                for statement, parameters in statements
            ]
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def _require_unknown(conn: Connection) -> None:
    with pytest.raises(UnknownProduct):
        require_products(conn, TENANT, IDS)


LOOKUPS: dict[str, Callable[[Connection], Any]] = {
    "delivery jobs by order": lambda conn: DeliveryRepository(conn).jobs(TENANT, IDS),
    "couriers set waiting": lambda conn: DeliveryRepository(conn).set_waiting(TENANT, IDS, datetime.now(UTC)),
    "order documents by id": lambda conn: OrderingRepository(conn).orders_by_ids(TENANT, IDS),
    "products by id": lambda conn: CatalogRepository(conn).products_by_ids(TENANT, IDS),
    "products in store by id": lambda conn: CatalogRepository(conn).in_store(TENANT, "store-1", IDS),
    "products known": _require_unknown,
    # The read behind ``account_ids`` (which would also open the accounts it does not find).
    "ledger accounts by name": lambda conn: LedgerRepository(conn)._find_accounts(
        TENANT, {AccountRef(AccountKind.WALLET, f"customer-{n}", "GBP") for n in range(4)}
    ),
}


@pytest.mark.parametrize("lookup", sorted(LOOKUPS))
def test_a_lookup_by_key_searches_by_key(sqlite_engine: Engine, lookup: str) -> None:
    plans = _plans_of(sqlite_engine, LOOKUPS[lookup])
    reads = [plan for plan in plans if "SEARCH" in plan or "SCAN" in plan]
    assert reads, f"{lookup}: no statement read a table"
    for plan in reads:
        assert "(tenant_id=?)" not in plan, f"{lookup} walks the tenant's rows: {plan}"
        assert not any(step.strip().startswith("SCAN") and "CONSTANT" not in step for step in plan.split("|")), (
            f"{lookup} scans a table: {plan}"
        )


def test_not_indexed_is_plain_sql_on_postgresql() -> None:
    statement = select(delivery_jobs.c.order_id).where(not_indexed(delivery_jobs.c.tenant_id) == bindparam("t"))
    assert "+delivery_jobs.tenant_id = ?" in str(statement.compile(dialect=sqlite.dialect()))
    on_postgres = str(statement.compile(dialect=postgresql.dialect()))
    assert "delivery_jobs.tenant_id = %(t)s" in on_postgres and "+" not in on_postgres
