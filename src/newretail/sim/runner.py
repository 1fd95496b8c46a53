"""Run a scenario end to end: a database (a fresh SQLite file, or the URL given), the schema, one
runtime on a simulated clock, the simulation, and a flat JSON-ready report of its KPIs."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import QueuePool

from newretail.core.clock import SimulatedClock
from newretail.core.db import make_engine
from newretail.core.runtime import Runtime
from newretail.core.settings import get_settings
from newretail.migrate import upgrade
from newretail.sim.couriers import DispatchingCouriers
from newretail.sim.engine import Progress, SimResult, Simulation
from newretail.sim.kpis import compute_kpis
from newretail.sim.scenario import Scenario


@contextmanager
def twin_engine(database_url: str | None) -> Iterator[Engine]:
    """The URL's database migrated to head, or a fresh SQLite file that is deleted afterwards.

    The twin is one thread making thousands of short transactions, so SQLite gets a small
    connection pool instead of a new connection per unit of work. The scratch file (no URL given)
    is deleted after the run, so it is not synced to disk: with ``synchronous=NORMAL`` every WAL
    checkpoint waits for an fsync, about a millisecond and a half of wall time per simulated order.
    A database given by URL keeps the engine's settings.
    """
    with tempfile.TemporaryDirectory(prefix="newretail-twin-") as scratch:
        url = database_url or f"sqlite:///{Path(scratch) / 'twin.db'}"
        engine = (
            make_engine(url, poolclass=QueuePool, pool_size=2, max_overflow=2)
            if url.startswith("sqlite")
            else make_engine(url)
        )
        if database_url is None:
            event.listen(engine, "connect", _scratch_file_unsynced)
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def _scratch_file_unsynced(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")  # runs after the engine's own PRAGMAs


def simulate(
    engine: Engine, scenario: Scenario, progress: Progress | None = None, *, policy: str = "optimised"
) -> SimResult:
    runtime = Runtime(engine=engine, settings=get_settings(), clock=SimulatedClock(scenario.start))
    return Simulation(runtime, scenario, couriers=DispatchingCouriers(policy)).run(progress)


def simulate_fresh(scenario: Scenario, policy: str = "optimised") -> SimResult:
    """One run on a fresh SQLite file (deleted afterwards): what capacity planning repeats."""
    with twin_engine(None) as engine:
        return simulate(engine, scenario, policy=policy)


def report(result: SimResult) -> dict[str, Any]:
    """One flat JSON object: what ran, the KPIs from the event log, and how fast it ran."""
    scenario = result.scenario
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "hours": scenario.duration_hours,
        "stores": len(scenario.stores),
        "database": result.database,
        "courier_model": result.courier_model,
        **compute_kpis(result.log),
        "simulated_seconds": round(result.simulated_seconds, 1),
        "wall_seconds": round(result.wall_seconds, 2),
        "seeding_seconds": round(result.seeding_seconds, 2),
        "sim_speedup": round(result.sim_speedup, 1),
        "actions": result.actions,
        "log_entries": len(result.log),
    }
