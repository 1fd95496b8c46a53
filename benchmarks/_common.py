"""Shared set-up for benchmarks: a private schema on PostgreSQL, a fresh file on SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

from newretail.core.db import make_engine
from newretail.schema import load_all_tables


@contextmanager
def benchmark_engine(url: str, pool_size: int) -> Iterator[Engine]:
    """An engine on a schema of its own (PostgreSQL, dropped afterwards) or the given SQLite file."""
    if url.startswith("sqlite"):
        engine = make_engine(url)
        load_all_tables().create_all(engine)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    schema = f"nr_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url, pool_size=1)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, pool_size=pool_size, max_overflow=4, connect_args={"options": f"-csearch_path={schema}"})
    try:
        load_all_tables().create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def twin_or_benchmark_engine(url: str | None) -> Iterator[Engine]:
    """The twin's own engine (a fresh SQLite file by default, or the SQLite URL given); on
    PostgreSQL a schema of the benchmark's own, dropped afterwards."""
    from newretail.sim.runner import twin_engine

    if url is None or url.startswith("sqlite"):
        with twin_engine(url) as engine:
            yield engine
        return
    with benchmark_engine(url, pool_size=4) as engine:
        yield engine
