"""``newretail simulate SCENARIO``: run the digital twin and print its KPIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from newretail.sim.engine import SimResult
from newretail.sim.runner import report, simulate, twin_engine
from newretail.sim.scenario import ScenarioInvalid, load_scenario

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
) -> None:
    """Run the digital twin: simulated customers and pickers drive the real services."""
    try:
        scenario = load_scenario(scenario_file).with_overrides(hours=hours, seed=seed)
    except ScenarioInvalid as exc:
        err_console.print(exc.message)
        raise typer.Exit(code=2) from exc
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

                result = simulate(engine, scenario, advance)
        else:
            result = simulate(engine, scenario)
    if events is not None:
        result.log.write_jsonl(events)
    summary = report(result)
    if as_json:
        print(json.dumps(summary))
        return
    _print_table(summary, result)


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
