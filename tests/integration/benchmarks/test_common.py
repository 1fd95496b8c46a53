"""The benchmarks' SQLite set-up: every run on a fresh file, so running one twice on the same URL works."""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

import pytest

from newretail.core.runtime import Runtime
from newretail.core.settings import Settings

BENCHMARKS = Path(__file__).parents[3] / "benchmarks"


def test_inventory_contention_reruns_on_the_same_sqlite_url_and_leaves_the_named_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import _common as a sibling
    common = importlib.import_module("_common")
    contention = importlib.import_module("inventory_contention")
    named = tmp_path / "bench.db"
    with sqlite3.connect(named) as conn:  # someone's existing database at that path
        conn.execute("CREATE TABLE keep (n int)")
    before = named.read_bytes()
    for _ in range(2):  # the fixed tenant slug made the second run a Conflict on a reused file
        with common.benchmark_engine(f"sqlite:///{named}", pool_size=4) as engine:
            runtime = Runtime(engine=engine, settings=Settings(argon2_time_cost=1, argon2_memory_kib=64))
            result = contention.run_reservations(runtime, attempts=40, threads=2, seed=7)
        assert result["oversold_units"] == 0
        assert result["succeeded"] + result["failed_out_of_stock"] == 40
    assert named.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bench.db"]  # the run's own file and WAL are gone
