"""Alembic environment: the URL comes from the caller's config (``newretail migrate``) or settings."""

from __future__ import annotations

from alembic import context

from newretail.core.db import make_engine
from newretail.core.settings import get_settings
from newretail.schema import load_all_tables

config = context.config
target_metadata = load_all_tables()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run 'newretail migrate'")
run_migrations_online()
