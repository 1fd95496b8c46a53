"""Shared set-up for benchmarks: a database of the run's own, removed afterwards — a private schema
on PostgreSQL, a fresh file on SQLite — so a rerun starts from the same empty state. The one
exception is a SQLite URL given to the twin's engine, which is used as it is: the twin seeds a
retailer of its own per run, so runs can share that file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, make_url, text

from newretail.core.db import make_engine
from newretail.schema import load_all_tables


@contextmanager
def benchmark_engine(url: str, pool_size: int) -> Iterator[Engine]:
    """An engine on a database of its own, removed afterwards: a schema of its own on PostgreSQL, a
    fresh file beside the given one on SQLite (the given file itself is never touched)."""
    if url.startswith("sqlite"):
        with _fresh_sqlite_file(url) as fresh_url:
            engine = make_engine(fresh_url)
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
def _fresh_sqlite_file(url: str) -> Iterator[str]:
    """The URL of a new file next to the one named (same disk, so the timing is the one asked for),
    deleted with its WAL files afterwards: the SQLite counterpart of the private schema."""
    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:"):
        yield url  # make_engine refuses it with the reason
        return
    given = Path(parsed.database)
    fresh = given.with_name(f"{given.stem}.nr_bench_{uuid.uuid4().hex[:10]}{given.suffix}")
    try:
        yield parsed.set(database=str(fresh)).render_as_string(hide_password=False)
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)


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
