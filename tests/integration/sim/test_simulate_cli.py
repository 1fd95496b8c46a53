"""``newretail simulate``: one JSON object with --json; a bad scenario exits 2 naming file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from newretail.cli import app
from newretail.core.db import make_engine
from newretail.ordering.tables import orders


def test_simulate_prints_one_json_object_and_keeps_the_database_it_was_given(
    tmp_path: Path, tiny: dict[str, Any]
) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny))
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    events_file = tmp_path / "events.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            str(scenario),
            "--json",
            "--database",
            url,
            "--hours",
            "0.05",
            "--seed",
            "11",
            "--events",
            str(events_file),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # the whole output is one object
    assert summary["scenario"] == "tiny" and summary["seed"] == 11 and summary["hours"] == 0.05
    assert summary["orders"] > 0 and summary["database"] == "sqlite"
    for key in (
        "express_offered_rate",
        "promise_mae_minutes",
        "pick_time_p95_minutes",
        "queue_wait_p95_minutes",
        "sim_speedup",
    ):
        assert key in summary
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == summary["orders"]
    engine.dispose()
    assert len(events_file.read_text().splitlines()) == summary["log_entries"] + 1  # a header line


def test_simulate_refuses_a_bad_scenario_naming_the_file_and_the_field(tmp_path: Path, tiny: dict[str, Any]) -> None:
    tiny["staff"] = {**tiny["staff"], "drivers": 4}
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(yaml.safe_dump(tiny))
    result = CliRunner().invoke(app, ["simulate", str(scenario), "--json"])
    assert result.exit_code == 2
    assert str(scenario) in result.stderr
    assert "staff.drivers: unknown field" in result.stderr
    assert result.stdout == ""


def test_ledger_verify_after_a_simulated_evening_on_the_database_it_kept(tmp_path: Path, tiny: dict[str, Any]) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny))
    url = f"sqlite:///{tmp_path / 'twin.db'}"
    runner = CliRunner()
    simulated = runner.invoke(app, ["simulate", str(scenario), "--json", "--database", url])
    assert simulated.exit_code == 0, simulated.output
    summary = json.loads(simulated.stdout)
    assert summary["payments_captured_minor"] > 0 and summary["orders_held_for_payment"] == 0

    verified = runner.invoke(app, ["ledger", "verify"], env={"NEWRETAIL_DATABASE_URL": url})
    assert verified.exit_code == 0, verified.output
    assert "ledger verified" in verified.stdout and "balances" in verified.stdout


def test_plan_finds_the_smallest_fleet_each_store_needs(tmp_path: Path, tiny: dict[str, Any]) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny))
    args = ["plan", str(scenario), "--target-on-time", "0.75", "--policy", "fifo-nearest", "--hours", "0.05"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["policy"] == "fifo-nearest" and summary["target_on_time"] == 0.75
    assert summary["total_couriers"] == sum(s["min_couriers"] for s in summary["stores"])
    for store in summary["stores"]:
        at_min, fewer = store["kpis_at_min"], store["kpis_one_fewer"]
        assert store["couriers_by_shift"] == [store["min_couriers"]]
        assert at_min["on_time_rate"] >= 0.75 and at_min["express_offered_rate"] >= 0.75
        if store["min_couriers"] > 1:  # one courier fewer misses the target
            assert fewer["on_time_rate"] < 0.75 or fewer["express_offered_rate"] < 0.75
    assert summary["kpis_at_minimum"]["deliveries"] > 0


def test_plan_refuses_a_target_that_is_not_a_share(tmp_path: Path, tiny: dict[str, Any]) -> None:
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny))
    result = CliRunner().invoke(app, ["plan", str(scenario), "--target-on-time", "95"])
    assert result.exit_code == 2 and "between 0 and 1" in result.output
    result = CliRunner().invoke(app, ["plan", str(scenario), "--policy", "random"])
    assert result.exit_code == 2 and "unknown policy" in result.output
