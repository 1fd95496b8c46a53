"""Dispatch policies compared on the digital twin: the smallest fleet keeping the on-time target.

How many couriers each policy needs to keep the on-time target, and how well it serves at that
fleet; plus how fast the twin runs a city-20 day.

For each policy (``optimised``: PyVRP re-planning on events; ``fifo-nearest``: oldest ready order
to the nearest idle courier, one order a trip) the smallest courier count per store that keeps
``--target`` on time over every seed is found by bisection (:mod:`newretail.sim.capacity`), every
seed on the same demand. At that fleet, pooled over the seeds: ``on_time_rate``,
``p50_click_to_door_min``, ``p95_click_to_door_min`` (express orders), ``orders_per_courier_hour``,
``mean_ratio_to_lower_bound`` (pick start to door ÷ own pick time + direct ride; the pick-queue
wait before it is ``queue_wait_mean_minutes``), ``min_couriers_for_95pct_on_time`` (city total).
``couriers_ratio`` = optimised ÷ fifo-nearest minimal couriers. ``sim_speedup``: simulated ÷ wall
seconds of one ``--speed-scenario`` run with the optimised policy (``--speed-hours`` of it).

Prints ONE JSON object.

    python benchmarks/dispatch.py --scenario scenarios/city-small.yaml --seeds 3 [--jobs 2]
        [--hours 3] [--target 0.95] [--speed-scenario scenarios/city-20.yaml] [--speed-hours 24]
        [--skip-speed]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from newretail.sim.capacity import plan_couriers
from newretail.sim.couriers import POLICIES
from newretail.sim.engine import SimResult
from newretail.sim.runner import report, simulate_fresh
from newretail.sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
REPORTED = (
    "on_time_rate",
    "express_on_time_rate",
    "p50_click_to_door_min",
    "p95_click_to_door_min",
    "orders_per_courier_hour",
    "mean_ratio_to_lower_bound",
    "queue_wait_mean_minutes",
    "dispatch_wait_mean_minutes",
    "express_courier_wait_mean_minutes",
    "express_ride_excess_mean_minutes",
    "express_offered_rate",
    "courier_utilisation",
    "orders_per_trip",
    "deliveries",
)


def _simulate(args: tuple[Scenario, str]) -> SimResult:
    return simulate_fresh(*args)


def _plan(
    pool: ProcessPoolExecutor, scenario: Scenario, policy: str, seeds: list[int], target: float
) -> dict[str, Any]:
    def run(trials: list[Scenario]) -> list[SimResult]:
        return list(pool.map(_simulate, [(trial, policy) for trial in trials]))

    began = time.perf_counter()
    plan = plan_couriers(
        scenario,
        run,
        policy=policy,
        target=target,
        seeds=seeds,
        progress=lambda line: print(f"[{policy}] {line}", file=sys.stderr, flush=True),
    )
    at_min = plan.at_minimum
    return {
        **{key: at_min.get(key) for key in REPORTED},
        "min_couriers_for_95pct_on_time": plan.total_couriers,
        "couriers_by_store": {s["store"]: s["min_couriers"] for s in plan.stores},
        "simulations": plan.runs,
        "search_wall_seconds": round(time.perf_counter() - began, 1),
    }


def compare(scenario: Scenario, seeds: list[int], target: float, jobs: int) -> dict[str, Any]:
    """Both policies searched side by side (threads), their simulations sharing one process pool."""
    with ProcessPoolExecutor(max_workers=jobs) as pool, ThreadPoolExecutor(max_workers=len(POLICIES)) as searches:
        futures = {policy: searches.submit(_plan, pool, scenario, policy, seeds, target) for policy in POLICIES}
        result: dict[str, Any] = {policy: future.result() for policy, future in futures.items()}
    optimised = result["optimised"]["min_couriers_for_95pct_on_time"]
    fifo = result["fifo-nearest"]["min_couriers_for_95pct_on_time"]
    result["couriers_ratio"] = round(optimised / fifo, 4) if optimised and fifo else None
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "city-small.yaml"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=None, help="override the scenario's duration")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--jobs", type=int, default=1, help="simulations run in parallel (one per seed)")
    parser.add_argument("--speed-scenario", default=str(ROOT / "scenarios" / "city-20.yaml"))
    parser.add_argument("--speed-hours", type=float, default=None, help="simulate this much of it (default: all)")
    parser.add_argument("--skip-speed", action="store_true", help="leave out the sim_speedup run")
    args = parser.parse_args()

    scenario = load_scenario(args.scenario).with_overrides(hours=args.hours)
    seeds = [scenario.seed + n for n in range(args.seeds)]
    out: dict[str, Any] = {"scenario": scenario.name, "hours": scenario.duration_hours, "seeds": seeds}
    out["target_on_time"] = args.target
    out.update(compare(scenario, seeds, args.target, max(1, args.jobs)))
    optimised = out["optimised"]
    out["targets_met"] = {
        "optimised_on_time_at_min_fleet": (optimised["on_time_rate"] or 0) >= args.target,
        "couriers_ratio_le_0.70": out["couriers_ratio"] is not None and out["couriers_ratio"] <= 0.70,
        "mean_ratio_to_lower_bound_le_1.10": (optimised["mean_ratio_to_lower_bound"] or 99) <= 1.10,
    }
    if not args.skip_speed:
        speed_scenario = load_scenario(args.speed_scenario).with_overrides(hours=args.speed_hours)
        run = report(simulate_fresh(speed_scenario, "optimised"))
        out["sim_speedup"] = run["sim_speedup"]
        out["speed_run"] = {
            key: run[key]
            for key in ("scenario", "hours", "orders", "simulated_seconds", "wall_seconds", "actions", "on_time_rate")
        }
        out["targets_met"]["sim_speedup_ge_300"] = run["sim_speedup"] >= 300
    print(json.dumps(out))


if __name__ == "__main__":
    main()
