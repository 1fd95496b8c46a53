"""How fast the digital twin runs, and where its wall time goes.

Runs a slice of a scenario (``scenarios/city-20.yaml`` by default: by default the two busiest hours
of its demand profile; ``--hours 24 --from-hour 0`` is the whole day) through the real services
exactly as ``newretail simulate`` does (``sim.runner``), and prints ONE JSON object:

* ``orders``, ``actions``, ``simulated_seconds`` (including the drain), ``wall_seconds`` (the event
  loop), ``sim_speedup`` (simulated ÷ wall seconds), ``ms_per_order`` and ``seeding_seconds``;
* ``services``: per service function the twin calls, its calls, wall seconds, ``share`` of the
  event loop's wall time and ms per call, measured by a thin timing wrapper around the function
  (the call itself is unchanged), plus ``agents_and_loop`` for everything outside the services;
  with ``--round-trips`` also statements (BEGIN straight to the driver not included) and commits
  per call and per order;
* ``kpis``: the run's KPIs, so two runs of one seed can be checked to behave identically.

    python benchmarks/sim_speed.py [--scenario scenarios/city-20.yaml] [--hours 2] [--from-hour 17]
        [--seed 20] [--database postgresql+psycopg://...] [--profile profile.txt] [--round-trips]
        [--rounds-log rounds.jsonl]

``cpu_seconds`` / ``cpu_ms_per_order`` are this process's CPU time over the event loop: steadier
than wall time when the machine is shared. ``--profile FILE`` also runs cProfile over the event
loop and writes the top functions (by cumulative and by own time) to FILE and the raw statistics
beside it (FILE.pstats); it slows the run, so its ``sim_speedup`` is not comparable.
``--rounds-log FILE`` writes one JSON line per dispatch round (store, simulated instant, whether it
searched or rebased, orders planned and postponed, how many postponed for each of the planner's
reasons, solve and round milliseconds), to tell which stores and hours a day's dispatch time goes
to, and why an order waits; the writing is outside the timed call.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import pstats
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, event

from _common import twin_or_benchmark_engine as engine_for
from newretail.delivery import services as delivery
from newretail.fulfilment import services as fulfilment
from newretail.ordering import services as ordering
from newretail.sim import engine as sim_engine
from newretail.sim.runner import report, simulate
from newretail.sim.scenario import Scenario, load_scenario

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "city-20.yaml"

# The service functions the twin calls (sim/engine.py looks them up on these modules at call time).
TIMED: dict[ModuleType, tuple[str, ...]] = {
    ordering: ("set_cart_line", "quote", "checkout", "advance"),
    fulfilment: (
        "start_shift",
        "end_shift",
        "start_batch",
        "scan",
        "suggest_substitutes",
        "propose_substitute",
        "report_short",
        "answer_substitution",
        "pack",
    ),
    delivery: ("start_shift", "end_shift", "dispatch_tick", "depart", "deliver", "fail_delivery", "arrive_back"),
}


class Timings:
    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.statements: dict[str, int] = {}  # round trips to the database (an executemany is one)
        self.transactions: dict[str, int] = {}
        self.current = "agents_and_loop"
        self.cpu_began = 0.0  # process CPU seconds when the event loop began
        self._depth = 0  # a timed service calling another timed one is counted once, as the outer

    def reset(self) -> None:
        for counter in (self.calls, self.seconds, self.statements, self.transactions):
            counter.clear()
        self.cpu_began = time.process_time()

    def watch(self, engine: Engine) -> None:
        def statement(*_: Any) -> None:
            self.statements[self.current] = self.statements.get(self.current, 0) + 1

        def commit(*_: Any) -> None:
            self.transactions[self.current] = self.transactions.get(self.current, 0) + 1

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return function(*args, **kwargs)
            self._depth += 1
            self.current = name
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began
                self.calls[name] = self.calls.get(name, 0) + 1
                self.current = "agents_and_loop"
                self._depth -= 1

        return timed


@contextmanager
def timed_services(timings: Timings) -> Iterator[None]:
    originals = [(module, name, getattr(module, name)) for module, names in TIMED.items() for name in names]
    try:
        for module, name, function in originals:
            setattr(module, name, timings.wrap(name, function))
        yield
    finally:
        for module, name, function in originals:
            setattr(module, name, function)


@contextmanager
def rounds_logged(path: Path | None) -> Iterator[None]:
    """Write a JSON line per dispatch round to ``path`` (nothing when None)."""
    if path is None:
        yield
        return
    tick = delivery.dispatch_tick
    with path.open("w") as out:

        def logged(*args: Any, **kwargs: Any) -> Any:
            summary = tick(*args, **kwargs)
            line = {
                "store": summary.store_id,
                "at": summary.at.isoformat(),
                "solved": summary.solved,
                "rebased": summary.rebased,
                "planned": len(summary.planned),
                "postponed": len(summary.postponed),
                "why_postponed": dict(Counter(p.reason.value for p in summary.postponed)),
                "solve_ms": round(summary.solve_ms, 2),
                "tick_ms": round(summary.tick_ms, 2),
            }
            out.write(json.dumps(line) + "\n")
            return summary

        delivery.dispatch_tick = logged
        try:
            yield
        finally:
            delivery.dispatch_tick = tick


@contextmanager
def after_seeding(timings: Timings, profiler: cProfile.Profile | None) -> Iterator[None]:
    """Count and profile the event loop only: seeding is timed apart by the runner."""
    seed_world = getattr(sim_engine, "seed_world")  # noqa: B009 - the name the engine calls

    def seeded(*args: Any, **kwargs: Any) -> Any:
        world = seed_world(*args, **kwargs)
        timings.reset()
        if profiler is not None:
            profiler.enable()
        return world

    setattr(sim_engine, "seed_world", seeded)  # noqa: B010
    try:
        yield
    finally:
        setattr(sim_engine, "seed_world", seed_world)  # noqa: B010


def busiest_hours(scenario: Scenario, hours: float) -> int:
    """The hour of day that starts the busiest ``hours``-long window of the demand profile."""
    span = max(1, round(hours))
    return max(range(24), key=lambda h: sum(scenario.demand.rate((h + i) % 24) for i in range(span)))


def sliced(scenario: Scenario, hours: float | None, from_hour: int | None, seed: int | None) -> Scenario:
    if hours is None or hours >= scenario.duration_hours:
        return scenario.with_overrides(seed=seed)
    start_hour = busiest_hours(scenario, hours) if from_hour is None else from_hour
    local_midnight = scenario.start.replace(hour=0, minute=0, second=0, microsecond=0)
    start = local_midnight + timedelta(hours=start_hour)
    if start < scenario.start:
        start += timedelta(days=1)
    return scenario.with_overrides(hours=hours, seed=seed).model_copy(update={"start": start})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO))
    parser.add_argument("--hours", type=float, default=2.0, help="hours of demand to simulate (24: the whole day)")
    parser.add_argument("--from-hour", type=int, default=None, help="hour of day to start at (default: busiest)")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a fresh SQLite file)")
    parser.add_argument("--profile", type=Path, default=None, help="also write a cProfile summary here")
    parser.add_argument("--rounds-log", type=Path, default=None, help="write a JSON line per dispatch round here")
    parser.add_argument(
        "--round-trips",
        action="store_true",
        help="also count statements and commits per service (an engine event per statement: a little slower)",
    )
    args = parser.parse_args()
    scenario = sliced(load_scenario(args.scenario), args.hours, args.from_hour, args.seed)

    timings = Timings()
    profiler = cProfile.Profile() if args.profile else None
    with (
        engine_for(args.database) as engine,
        timed_services(timings),
        rounds_logged(args.rounds_log),
        after_seeding(timings, profiler),
    ):
        if args.round_trips:
            timings.watch(engine)
        result = simulate(engine, scenario)
        cpu = time.process_time() - timings.cpu_began
    if profiler is not None:
        profiler.disable()
    summary = report(result)
    wall = result.wall_seconds
    services: dict[str, dict[str, Any]] = {}
    for name, seconds in sorted(timings.seconds.items(), key=lambda item: -item[1]):
        calls = timings.calls[name]
        services[name] = {
            "calls": calls,
            "seconds": round(seconds, 2),
            "share": round(seconds / wall, 3),
            "ms_per_call": round(1000 * seconds / calls, 3),
        }
        if args.round_trips:
            services[name]["statements_per_call"] = round(timings.statements.get(name, 0) / calls, 2)
            services[name]["transactions_per_call"] = round(timings.transactions.get(name, 0) / calls, 2)
    outside = wall - sum(timings.seconds.values())
    services["agents_and_loop"] = {"seconds": round(outside, 2), "share": round(outside / wall, 3)}
    timing = ("simulated_seconds", "wall_seconds", "sim_speedup", "seeding_seconds")
    kpis = {k: v for k, v in summary.items() if k not in timing}
    orders = summary["orders"]
    print(
        json.dumps(
            {
                "scenario": scenario.name,
                "start": scenario.start.isoformat(),
                "hours": scenario.duration_hours,
                "database": result.database,
                "profiled": profiler is not None,
                "orders": orders,
                "actions": result.actions,
                "simulated_seconds": round(result.simulated_seconds, 1),
                "wall_seconds": round(wall, 2),
                "sim_speedup": round(result.sim_speedup, 1),
                "ms_per_order": round(1000 * wall / orders, 2) if orders else None,
                # CPU time of this process over the event loop: steadier than wall time on a shared machine.
                "cpu_seconds": round(cpu, 2),
                "cpu_ms_per_order": round(1000 * cpu / orders, 2) if orders else None,
                **(
                    {
                        "statements_per_order": round(sum(timings.statements.values()) / orders, 1),
                        "transactions_per_order": round(sum(timings.transactions.values()) / orders, 1),
                    }
                    if args.round_trips and orders
                    else {}
                ),
                "seeding_seconds": round(result.seeding_seconds, 2),
                "services": services,
                "kpis": kpis,
            }
        )
    )
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(80)
        stats.sort_stats("tottime").print_stats(60)
        args.profile.write_text(out.getvalue())
        stats.dump_stats(args.profile.with_suffix(".pstats"))  # for pstats or snakeviz


if __name__ == "__main__":
    main()
