"""Promise accuracy on a busy evening: promised versus actual pick-complete time, in the digital twin.

Simulated customers, pickers and couriers drive the real services (``scenarios/city-small.yaml`` by
default: three stores, 90 orders per hour each for three hours); the couriers are dispatched by the
real dispatcher with the ``optimised`` policy (``courier_model: dispatcher:optimised``).

Prints ONE JSON object, the twin's report. The numbers this benchmark is for: ``promise_mae_minutes``
(mean absolute error, promised pick-complete versus the moment the order was packed), its bias and
90th percentile, ``express_offered_rate`` (share of delivery quotes offering express: the promise
offers it only when picking, the courier queue and the ride fit the express limit), pick time and
queue wait percentiles, and ``sim_speedup`` (simulated seconds per wall second). The delivery KPIs
(on time, click to door, courier utilisation) come with it.

    python benchmarks/promise_accuracy.py [--scenario scenarios/city-small.yaml] [--hours 3] [--seed 7]
        [--database postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import twin_or_benchmark_engine as engine_for
from newretail.sim.runner import report, simulate
from newretail.sim.scenario import load_scenario

DEFAULT_SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "city-small.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default=str(DEFAULT_SCENARIO))
    parser.add_argument("--hours", type=float, default=None, help="override the scenario's duration")
    parser.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    parser.add_argument("--database", default=None, help="SQLAlchemy URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario).with_overrides(hours=args.hours, seed=args.seed)
    with engine_for(args.database) as engine:
        result = simulate(engine, scenario)
    print(json.dumps(report(result)))


if __name__ == "__main__":
    main()
