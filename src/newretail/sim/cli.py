"""``newretail simulate SCENARIO`` (run the digital twin, print its KPIs) and ``newretail plan
SCENARIO`` (the smallest courier fleet that keeps an on-time target)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from newretail.sim.capacity import plan_couriers
from newretail.sim.couriers import POLICIES
from newretail.sim.engine import SimResult
from newretail.sim.runner import report, simulate, simulate_fresh, twin_engine
from newretail.sim.scenario import Scenario, ScenarioInvalid, load_scenario

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def simulate_command(
    scenario_file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="a scenario YAML file (or a name in scenarios/)")
    ],
    database: Annotated[
        str | None,
        typer.Option("--database", help="SQLAlchemy URL to run against (default: a fresh SQLite file, deleted after)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object and nothing else")] = False,
    hours: Annotated[float | None, typer.Option("--hours", help="simulate this many hours instead")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="override the scenario's random seed")] = None,
    events: Annotated[Path | None, typer.Option("--events", help="also write the event log here (JSON lines)")] = None,
    policy: Annotated[str, typer.Option("--policy", help="dispatch policy: optimised or fifo-nearest")] = "optimised",
) -> None:
    """Run the digital twin: simulated customers, pickers and couriers drive the real services."""
    scenario = _load(scenario_file, hours, seed)
    _check_policy(policy)
    with twin_engine(database) as engine:
        if err_console.is_terminal:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task(f"{scenario.name}: seeding the world", total=scenario.duration.total_seconds())

                def advance(done: float, total: float) -> None:
                    bar.update(task, completed=done, description=f"{scenario.name}: simulating")

                result = simulate(engine, scenario, advance, policy=policy)
        else:
            result = simulate(engine, scenario, policy=policy)
    if events is not None:
        result.log.write_jsonl(events)
    summary = report(result)
    if as_json:
        print(json.dumps(summary))
        return
    _print_table(summary, result)


def plan_command(
    scenario_file: Annotated[
        Path, typer.Argument(metavar="SCENARIO", help="a scenario YAML file (or a name in scenarios/)")
    ],
    target_on_time: Annotated[
        float, typer.Option("--target-on-time", help="share of delivery orders on time (and express offered)")
    ] = 0.95,
    policy: Annotated[str, typer.Option("--policy", help="dispatch policy: optimised or fifo-nearest")] = "optimised",
    seeds: Annotated[
        int, typer.Option("--seeds", help="run each fleet on this many seeds (scenario seed, +1, ...)")
    ] = 1,
    hours: Annotated[float | None, typer.Option("--hours", help="simulate this many hours instead")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object and nothing else")] = False,
) -> None:
    """The smallest courier fleet per store that keeps the on-time target (bisection on the twin)."""
    scenario = _load(scenario_file, hours, None)
    _check_policy(policy)
    if not 0 < target_on_time <= 1:
        err_console.print("--target-on-time is a share between 0 and 1, e.g. 0.95")
        raise typer.Exit(code=2)
    if seeds < 1:
        err_console.print("--seeds must be at least 1")
        raise typer.Exit(code=2)

    def run(trials: list[Scenario]) -> list[SimResult]:
        return [simulate_fresh(trial, policy) for trial in trials]

    def say(line: str) -> None:
        if not as_json:
            err_console.print(line)

    result = plan_couriers(
        scenario,
        run,
        policy=policy,
        target=target_on_time,
        seeds=[scenario.seed + n for n in range(seeds)],
        progress=say,
    )
    summary = {
        "scenario": scenario.name,
        "policy": result.policy,
        "target_on_time": result.target,
        "seeds": list(result.seeds),
        "total_couriers": result.total_couriers,
        "stores": result.stores,
        "kpis_at_minimum": result.at_minimum,
        "simulations": result.runs,
    }
    if as_json:
        print(json.dumps(summary))
    else:
        table = Table(title=f"{scenario.name}: couriers to keep {target_on_time:.0%} on time ({policy})")
        for column in ("store", "couriers", "by shift", "on time at min", "express offered at min"):
            table.add_column(column)
        for store in result.stores:
            at_min = store["kpis_at_min"] or {}
            table.add_row(
                store["store"],
                _format(store["min_couriers"]),
                _format(store["couriers_by_shift"]),
                _format(at_min.get("on_time_rate")),
                _format(at_min.get("express_offered_rate")),
            )
        console.print(table)
        console.print(f"total couriers: {_format(result.total_couriers)} ({result.runs} simulations)")
    if result.total_couriers is None:
        err_console.print("some store cannot keep the target with any fleet tried (see its KPIs)")
        raise typer.Exit(code=1)


def _load(scenario_file: Path, hours: float | None, seed: int | None) -> Scenario:
    try:
        return load_scenario(scenario_file).with_overrides(hours=hours, seed=seed)
    except ScenarioInvalid as exc:
        err_console.print(exc.message)
        raise typer.Exit(code=2) from exc


def _check_policy(policy: str) -> None:
    if policy not in POLICIES:
        err_console.print(f"unknown policy {policy!r}: choose {' or '.join(POLICIES)}")
        raise typer.Exit(code=2)


def _print_table(summary: dict[str, Any], result: SimResult) -> None:
    table = Table(
        title=f"{summary['scenario']}: {summary['hours']} h, {summary['stores']} stores, seed {summary['seed']}"
    )
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in ("scenario", "hours", "stores", "seed"):
            continue
        table.add_row(key.replace("_", " "), _format(value))
    console.print(table)
    if result.unfinished_orders:
        err_console.print(
            f"[yellow]{result.unfinished_orders} orders were still being picked when the run stopped[/yellow]"
        )


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "-"
    return str(value)
