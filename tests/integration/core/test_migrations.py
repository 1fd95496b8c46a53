"""The Alembic migrations build exactly the schema the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from newretail.core.db import make_engine
from newretail.migrate import upgrade
from newretail.schema import load_all_tables


def _assert_no_drift(engine) -> None:  # type: ignore[no-untyped-def]
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), load_all_tables())
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    _assert_no_drift(make_engine(f"sqlite:///{tmp_path / 'm.db'}"))


def test_postgres_migrations_match_models() -> None:
    url = os.environ.get("NEWRETAIL_TEST_DATABASE_URL")
    if not url:
        pytest.skip("PostgreSQL tests need NEWRETAIL_TEST_DATABASE_URL")
    schema = f"nr_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url, pool_size=1)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        _assert_no_drift(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
