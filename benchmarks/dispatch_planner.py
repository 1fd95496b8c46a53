"""Dispatch planner sanity benchmark: fifo-nearest versus optimised on one synthetic store.

Prints ONE JSON object. The instance is fixed by its seed: 30 orders placed over 45 minutes
around one store, each packed 8-12 minutes after it is placed and promised 30 minutes after it is
placed, drop-offs within 3 km, 8 bikes. Both policies only commit each courier's next trip, so each
is judged by executing its decisions: every 60 s the replay shows the policy the orders placed so
far and the couriers as they are, starts the trips it says start before the next tick, and moves
time on. Deliveries happen at the planned ETAs (the replay has no noise: it compares decisions, it
is not the digital twin).

    python benchmarks/dispatch_planner.py [--seed 7] [--orders 30] [--couriers 8]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from newretail.core.geo import Point, offset_km
from newretail.delivery.model import (
    STANDARD_VEHICLES,
    Courier,
    CourierState,
    Depot,
    DispatchOrder,
    DispatchSnapshot,
    PlannedTrip,
    VehicleKind,
)
from newretail.delivery.planning import DEFAULT_TICK, DispatchPolicy, FifoNearestPolicy, OptimisedPolicy
from newretail.delivery.timeline import PlanningSettings

STORE_ID = "store-1"
STORE = Point(31.2304, 121.4737)
START = datetime(2026, 1, 5, 11, 30, tzinfo=UTC)


@dataclass(frozen=True)
class PlacedOrder:
    order: DispatchOrder
    placed_at: datetime


def make_instance(seed: int, order_count: int, radius_km: float = 3.0) -> list[PlacedOrder]:
    rng = random.Random(seed)
    placed: list[PlacedOrder] = []
    for number in range(order_count):
        placed_at = START + timedelta(seconds=round(rng.uniform(0, 45 * 60)))
        distance = radius_km * math.sqrt(rng.random())  # uniform over the disc
        angle = rng.uniform(0, 2 * math.pi)
        totes = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
        order = DispatchOrder(
            id=f"order-{number:03d}",
            store_id=STORE_ID,
            drop_off=offset_km(STORE, distance * math.cos(angle), distance * math.sin(angle)),
            ready_at=placed_at + timedelta(seconds=round(rng.uniform(8 * 60, 12 * 60))),
            promised_by=placed_at + timedelta(minutes=30),
            totes=totes,
            weight_g=totes * rng.randint(3_000, 7_000),
        )
        placed.append(PlacedOrder(order, placed_at))
    return placed


@dataclass
class Replay:
    policy: DispatchPolicy
    instance: list[PlacedOrder]
    courier_count: int
    settings: PlanningSettings
    budget: timedelta = timedelta(seconds=1)
    tick: timedelta = DEFAULT_TICK
    trips: list[PlannedTrip] = field(default_factory=list)
    current: dict[str, PlannedTrip] = field(default_factory=dict)
    delivered_at: dict[str, datetime] = field(default_factory=dict)
    solve_seconds: list[float] = field(default_factory=list)

    def courier(self, courier_id: str, now: datetime) -> Courier:
        bike = STANDARD_VEHICLES[VehicleKind.BIKE]
        trip = self.current.get(courier_id)
        if trip is None or trip.back_at <= now:
            return Courier(courier_id, STORE_ID, bike, CourierState.IDLE, STORE)
        # Committed trips start before the next tick, so at any tick a busy courier is on its way.
        pending = tuple(oid for oid, at in zip(trip.order_ids, trip.arrivals, strict=True) if at > now)
        done = [oid for oid in trip.order_ids if oid not in pending]
        position = self.orders[done[-1]].drop_off if done else STORE
        state = CourierState.RIDING if pending else CourierState.RETURNING
        return Courier(courier_id, STORE_ID, bike, state, position, back_at=trip.back_at, carrying=pending)

    @property
    def orders(self) -> dict[str, DispatchOrder]:
        return {p.order.id: p.order for p in self.instance}

    def run(self) -> None:
        now = START
        dispatched: set[str] = set()
        courier_ids = [f"bike-{n:02d}" for n in range(self.courier_count)]
        previous = None
        while len(dispatched) < len(self.instance):
            couriers = tuple(self.courier(cid, now) for cid in courier_ids)
            carried = {oid for c in couriers for oid in c.carrying}
            visible = tuple(
                p.order
                for p in self.instance
                if p.placed_at <= now and (p.order.id not in dispatched or p.order.id in carried)
            )
            snapshot = DispatchSnapshot(now, (Depot(STORE_ID, STORE),), couriers, visible, previous=previous)
            started = time.perf_counter()
            plan = self.policy.plan(snapshot, self.budget)
            self.solve_seconds.append(time.perf_counter() - started)
            previous = plan
            for trip in plan.starting_before(now + self.tick):
                self.current[trip.courier_id] = trip
                self.trips.append(trip)
                dispatched.update(trip.order_ids)
                self.delivered_at.update(zip(trip.order_ids, trip.arrivals, strict=True))
            now += self.tick
            if now > START + timedelta(hours=6):
                raise RuntimeError(f"{self.policy.name} left orders undelivered for hours")

    def report(self) -> dict[str, Any]:
        travel = self.settings.travel
        lateness_min = [
            max(0.0, (self.delivered_at[p.order.id] - p.order.promised_by).total_seconds() / 60) for p in self.instance
        ]
        click_to_door = [(self.delivered_at[p.order.id] - p.placed_at).total_seconds() / 60 for p in self.instance]
        total_m = 0
        for trip in self.trips:
            stops = [STORE, *(self.orders[oid].drop_off for oid in trip.order_ids), STORE]
            total_m += sum(travel.distance_m(a, b) for a, b in itertools.pairwise(stops))
        late = [m for m in lateness_min if m > 0]
        return {
            "orders_late": len(late),
            "on_time_rate": round(1 - len(late) / len(self.instance), 3),
            "lateness_min_total": round(sum(late), 1),
            "lateness_min_max": round(max(lateness_min), 1),
            "click_to_door_min_mean": round(statistics.mean(click_to_door), 1),
            "total_travel_km": round(total_m / 1000, 2),
            "trips": len(self.trips),
            "orders_per_trip": round(len(self.instance) / len(self.trips), 2),
            "plan_calls": len(self.solve_seconds),
            "solve_seconds_mean": round(statistics.mean(self.solve_seconds), 4),
            "solve_seconds_max": round(max(self.solve_seconds), 4),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--orders", type=int, default=30)
    parser.add_argument("--couriers", type=int, default=8)
    args = parser.parse_args(argv)
    settings = PlanningSettings()
    instance = make_instance(args.seed, args.orders)
    policies: list[DispatchPolicy] = [FifoNearestPolicy(settings), OptimisedPolicy(settings, seed=args.seed)]
    results: dict[str, Any] = {}
    for policy in policies:
        replay = Replay(policy, instance, args.couriers, settings)
        replay.run()
        results[policy.name] = replay.report()
    fifo, best = results["fifo-nearest"], results["optimised"]
    out = {
        "benchmark": "dispatch_planner",
        "instance": {
            "seed": args.seed,
            "orders": args.orders,
            "couriers": f"{args.couriers} bikes",
            "placed_over_min": 45,
            "promise_min": 30,
            "radius_km": 3.0,
            "tick_s": int(DEFAULT_TICK.total_seconds()),
        },
        "policies": results,
        "optimised_vs_fifo": {
            "orders_late": best["orders_late"] - fifo["orders_late"],
            "total_travel_km": round(best["total_travel_km"] - fifo["total_travel_km"], 2),
            "click_to_door_min_mean": round(best["click_to_door_min_mean"] - fifo["click_to_door_min_mean"], 1),
        },
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
