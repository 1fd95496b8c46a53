"""Capacity planning on the twin: the smallest courier fleet per store that keeps a target.

The operator's question — "how many couriers do I need to keep 95% of orders on time?" — is
answered by running the scenario with fewer or more couriers and reading each store's KPIs off the
event log. Stores do not share couriers, so every store is searched at once: each run gives every
store its own candidate count, and each store's bracket narrows on its own result: a bisection
per store on the first seed (one simulation per step), then single steps up or down on every seed
until one courier fewer fails and the count passes. A store passes when, over the seeds, its
delivery orders were on time at least at the target rate *and* express was offered to at least
that share of delivery quotes — otherwise a thin fleet would "pass" by promising later.

A store's count is its whole courier roster, spread over the scenario's courier shifts in
proportion to their counts (largest remainder), so a day with a lunch and an evening shift keeps
its shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from newretail.sim import events
from newretail.sim.engine import SimResult
from newretail.sim.kpis import compute_kpis, courier_hours, courier_time_kpis
from newretail.sim.scenario import Scenario

MAX_COURIERS_PER_STORE = 400

Runner = Callable[[list[Scenario]], list[SimResult]]  # simulates each scenario on a fresh database


@dataclass
class StoreSearch:
    """One store's bracket: ``low`` fails (-1: not known yet), ``high`` keeps the target."""

    index: int
    name: str
    low: int
    high: int | None
    stepping: bool = False  # confirm a first answer by single steps instead of bisecting
    tried: dict[int, dict[str, Any]] = field(default_factory=dict)  # count -> the store's KPIs
    failed: bool = False  # not even MAX_COURIERS_PER_STORE keep the target

    @property
    def done(self) -> bool:
        if self.failed:
            return True
        if self.high is None:
            return False
        return self.high <= 1 or (self.low >= 0 and self.high - self.low <= 1)

    def next_count(self, start: int) -> int:
        if self.high is None:
            if self.low < 0:
                return start
            if self.stepping:
                return self.low + 1
            return min(MAX_COURIERS_PER_STORE, max(start, 2 * self.low, 1))  # look for enough: double
        if self.low < 0:
            return self.high - 1
        return (self.low + self.high) // 2

    def record(self, count: int, kpis: dict[str, Any], target: float) -> bool:
        self.tried[count] = kpis
        kept = passes(kpis, target)
        if kept:
            self.high = count
        else:
            self.low = count
            self.failed = self.high is None and count >= MAX_COURIERS_PER_STORE
        return kept


@dataclass(frozen=True)
class PlanResult:
    policy: str
    target: float
    seeds: tuple[int, ...]
    stores: list[dict[str, Any]]
    runs: int  # simulations run
    at_minimum: dict[str, Any]  # city KPIs (pooled over seeds) with every store at its minimum

    @property
    def total_couriers(self) -> int | None:
        counts = [s["min_couriers"] for s in self.stores]
        return None if any(c is None for c in counts) else sum(counts)


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` couriers over shifts in proportion to ``weights`` (largest remainder)."""
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights, weight_sum = [1] * len(weights), len(weights)
    shares = [total * w / weight_sum for w in weights]
    counts = [math.floor(x) for x in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def store_kpis(results: Sequence[SimResult], store_index: int) -> dict[str, Any]:
    """One store's delivery KPIs pooled over several runs (one per seed)."""
    logs = [_only_store(r.log, r.world.stores[store_index].id) for r in results]
    kpis = pooled_kpis(logs)
    return {k: kpis[k] for k in ("deliveries", "on_time_rate", "express_offered_rate", "p95_click_to_door_min")}


def _only_store(log: events.EventLog, store_id: str) -> events.EventLog:
    """The entries of one store (a quote counts at the store that would have served it)."""
    kept = events.EventLog(log.start)
    kept.entries = [e for e in log if e.store == store_id]
    return kept


def passes(kpis: dict[str, Any], target: float) -> bool:
    on_time, offered = kpis["on_time_rate"], kpis["express_offered_rate"]
    return on_time is not None and offered is not None and on_time >= target and offered >= target


def plan_couriers(
    scenario: Scenario,
    run: Runner,
    *,
    policy: str,
    target: float,
    seeds: Sequence[int],
    progress: Callable[[str], None] | None = None,
) -> PlanResult:
    """Bisect each store's courier count. ``run`` simulates a list of scenarios (one per seed), each
    on a fresh database, in any order or in parallel, and returns their results in order."""
    if not 0 < target <= 1:
        raise ValueError("the on-time target is a share between 0 and 1")
    if not seeds:
        raise ValueError("at least one seed")
    weights = [shift.count for shift in scenario.staff.couriers]
    if not weights:
        raise ValueError("the scenario has no courier shifts to size")
    # Bisect on the first seed (cheap), then confirm on every seed by single steps from there.
    first = [StoreSearch(i, store.name, 0, None) for i, store in enumerate(scenario.stores)]
    starts = [sum(scenario.couriers_at(i)) or 1 for i in range(len(scenario.stores))]
    runs, _, _ = _search(scenario, run, first, starts, seeds[:1], target, weights, progress)
    searches = [StoreSearch(s.index, s.name, -1, None, stepping=True) for s in first]
    for search, quick in zip(searches, first, strict=True):
        search.failed = quick.failed
    starts = [s.high or MAX_COURIERS_PER_STORE for s in first]
    more, last_counts, last_results = _search(scenario, run, searches, starts, seeds, target, weights, progress)
    runs += more

    minimum = [s.high for s in searches]
    at_minimum: dict[str, Any] = {}
    if all(m is not None for m in minimum):
        if last_counts != minimum or len(last_results) != len(seeds):
            final = scenario.with_couriers([spread(m or 0, weights) for m in minimum])
            last_results = run([final.with_overrides(seed=seed) for seed in seeds])
            runs += len(last_results)
        at_minimum = pooled_kpis([r.log for r in last_results])
    return PlanResult(
        policy=policy,
        target=target,
        seeds=tuple(seeds),
        stores=[
            {
                "store": s.name,
                "min_couriers": s.high,
                "couriers_by_shift": spread(s.high, weights) if s.high is not None else None,
                "kpis_at_min": s.tried.get(s.high) if s.high is not None else None,
                "kpis_one_fewer": s.tried.get(s.low) if s.low > 0 else None,
            }
            for s in searches
        ],
        runs=runs,
        at_minimum=at_minimum,
    )


def _search(
    scenario: Scenario,
    run: Runner,
    searches: list[StoreSearch],
    starts: list[int],
    seeds: Sequence[int],
    target: float,
    weights: list[int],
    progress: Callable[[str], None] | None,
) -> tuple[int, list[int], list[SimResult]]:
    """Run until every store's bracket is closed: one run per seed and step, every store at once.
    Returns the runs made and the counts and results of the last step."""
    runs, counts, results = 0, [], []
    while not all(s.done for s in searches):
        counts = [
            (s.high if s.high is not None else max(s.low, 0)) if s.done else s.next_count(start)
            for s, start in zip(searches, starts, strict=True)
        ]
        trial = scenario.with_couriers([spread(n, weights) for n in counts])
        results = run([trial.with_overrides(seed=seed) for seed in seeds])
        runs += len(results)
        for search, count in zip(searches, counts, strict=True):
            if search.done:
                continue
            kept = search.record(count, store_kpis(results, search.index), target)
            if progress is not None:
                verdict = "keeps" if kept else "misses"
                progress(
                    f"{search.name}: {count} couriers {verdict} the target on {len(seeds)} seed(s) {search.tried[count]}"
                )
    return runs, counts, results


def pooled_kpis(logs: Sequence[events.EventLog]) -> dict[str, Any]:
    """KPIs over several runs scored together (each run has its own tenant, so order ids differ;
    people are tagged with the run so shift bookkeeping never mixes runs)."""
    merged = events.EventLog(logs[0].start)
    for n, log in enumerate(logs):
        merged.entries.extend(_tagged(log, n))
    kpis = compute_kpis(merged)
    # A shift or trip still open when a run's log ends counts up to that run's end, not up to the
    # end of the longest run of the pool.
    per_run = [courier_hours(log) for log in logs]
    kpis.update(courier_time_kpis(kpis["delivered"], sum(h for h, _ in per_run), sum(r for _, r in per_run)))
    return kpis


def _tagged(log: events.EventLog, n: int) -> list[events.LogEntry]:
    out = []
    for entry in log:
        data = dict(entry.data)
        if "person" in data:
            data["person"] = f"{n}/{data['person']}"
        if "courier" in data:
            data["courier"] = f"{n}/{data['courier']}"
        out.append(events.LogEntry(entry.at, entry.kind, entry.store, entry.order, data))
    return out
