"""Dispatch rounds through the real services: what one round costs, and how often it can be skipped.

Prints ONE JSON object. One store, a busy stretch replayed minute by minute through the real
services: shoppers check out (express), pickers pick and pack in batches, a dispatch round runs
every simulated minute, couriers leave when their trip is due, deliver at the ETA (a few
customers are absent) and come back. Each policy runs on a fresh database. Timings are wall
clock of the service call as the digital twin would see it.

    python benchmarks/dispatch_tick.py [--minutes 90] [--rate 4] [--couriers 10] [--budget-ms 50] \
        [--database sqlite:///bench.db | postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from _common import benchmark_engine
from newretail.catalog import services as catalog
from newretail.catalog.model import gtin_check_digit
from newretail.core.clock import SimulatedClock
from newretail.core.geo import offset_km
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.delivery import services as delivery
from newretail.delivery.model import DeliveryProof, FailureReason, StopStatus, TripStatus
from newretail.fulfilment import services as fulfilment
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod
from newretail.ordering.promise import OfferNotAvailable
from newretail.ordering.services import DeliveryOption
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role
from newretail.tenancy.security import PasswordHashing

PICKERS = 4
PICK_MINUTES = 4  # a batch is packed this long after it starts
FAIL_RATE = 0.03


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def stats(values: list[float]) -> dict[str, float | int]:
    return {
        "n": len(values),
        "mean_ms": round(statistics.fmean(values), 2) if values else 0.0,
        "p50_ms": round(percentile(values, 0.5), 2),
        "p95_ms": round(percentile(values, 0.95), 2),
        "max_ms": round(max(values), 2) if values else 0.0,
    }


def build_store(runtime: Runtime, couriers: int) -> tuple[str, str, str, list[str]]:
    tenant_id = tenancy.create_tenant(runtime.uow(), slug="bench-dispatch", name="Bench")
    store = tenancy.open_store(
        runtime.uow(), tenant_id=tenant_id, name="Bench", address="x", lat=51.5074, lon=-0.1278, delivery_radius_m=3219
    )
    customer = tenancy.register_user(
        runtime.uow(),
        PasswordHashing(1, 64),
        tenant_id=tenant_id,
        email="shopper@bench.test",
        name="Shopper",
        password="correct horse battery",
        role=Role.CUSTOMER,
    )
    product_ids = []
    for i in range(6):
        body = f"50100000{i:04d}"
        product = catalog.create_product(
            runtime.uow(),
            tenant_id=tenant_id,
            sku=f"SKU-{i}",
            gtin=body + str(gtin_check_digit(body)),
            name=f"Product {i}",
            brand="Bench",
            category="Grocery",
            sold_by="each",
            unit_weight_g=400 + 300 * i,
            temperature_zone="ambient",
        )
        catalog.set_store_price(
            runtime.uow(), tenant_id=tenant_id, store_id=store.id, product_id=product.id, price_minor=199
        )
        catalog.set_location(
            runtime.uow(), tenant_id=tenant_id, store_id=store.id, product_id=product.id, aisle=i + 1, bay=1, shelf=1
        )
        inventory.receive(
            runtime.uow(), tenant_id=tenant_id, store_id=store.id, product_id=product.id, quantity=100_000
        )
        product_ids.append(product.id)
    ordering.set_store_operations(
        runtime.uow(), tenant_id=tenant_id, store_id=store.id, settings={"express_limit_minutes": 45}
    )
    for p in range(PICKERS):
        fulfilment.start_shift(runtime.uow(), tenant_id=tenant_id, store_id=store.id, picker_id=f"p{p}")
    for c in range(couriers):
        view = delivery.add_courier(
            runtime.uow(), tenant_id=tenant_id, store_id=store.id, name=f"C{c}", vehicle="ebike" if c % 3 else "bike"
        )
        delivery.start_shift(runtime.uow(), tenant_id=tenant_id, courier_id=view.id)
    return tenant_id, store.id, customer.id, product_ids


def replay(url: str, policy: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    with benchmark_engine(url, pool_size=4) as engine:
        clock = SimulatedClock()
        runtime = Runtime(engine=engine, settings=Settings(database_url=url), clock=clock)
        tenant_id, store_id, customer_id, product_ids = build_store(runtime, args.couriers)
        location = tenancy.get_store(runtime.uow(), tenant_id, store_id).location
        uow = runtime.uow
        placed: list[str] = []
        batches: dict[str, tuple[Any, Any]] = {}  # picker -> (batch, started at)
        skip_ms: list[float] = []
        solve_tick_ms: list[float] = []
        solve_ms: list[float] = []
        action_ms: list[float] = []
        lost = delivered = late = failed = 0
        for minute in range(args.minutes):
            now = clock.now()
            arrivals = min(20, _poisson(rng, args.rate)) if minute < args.minutes - args.quiet_tail else 0
            for _ in range(arrivals):
                for product_id in rng.sample(product_ids, rng.randint(1, 3)):
                    ordering.set_cart_line(
                        uow(),
                        tenant_id=tenant_id,
                        customer_id=customer_id,
                        product_id=product_id,
                        quantity=rng.randint(1, 4),
                    )
                try:
                    order = ordering.checkout(
                        uow(),
                        tenant_id=tenant_id,
                        customer_id=customer_id,
                        method=FulfilmentMethod.DELIVERY,
                        option=DeliveryOption.EXPRESS,
                        address=offset_km(location, rng.uniform(-2.2, 2.2), rng.uniform(-2.2, 2.2)),
                    )
                    placed.append(order["id"])
                except OfferNotAvailable:
                    lost += 1
                    for product_id in product_ids:
                        ordering.set_cart_line(
                            uow(), tenant_id=tenant_id, customer_id=customer_id, product_id=product_id, quantity=0
                        )
            for picker, (batch, started) in list(batches.items()):
                if now - started >= timedelta(minutes=PICK_MINUTES):
                    _pack(runtime, tenant_id, batch)
                    del batches[picker]
            for p in range(PICKERS):
                picker = f"p{p}"
                if picker not in batches and placed:
                    take, placed = placed[:3], placed[3:]
                    batch = fulfilment.start_batch(
                        uow(), tenant_id=tenant_id, store_id=store_id, picker_id=picker, order_ids=take
                    )
                    batches[picker] = (batch, now)

            summary = delivery.dispatch_tick(uow(), tenant_id, store_id, policy, timedelta(milliseconds=args.budget_ms))
            if summary.solved:
                solve_tick_ms.append(summary.tick_ms)
                solve_ms.append(summary.solve_ms)
            else:
                skip_ms.append(summary.tick_ms)

            for trip in delivery.store_trips(
                uow(),
                tenant_id=tenant_id,
                store_id=store_id,
                statuses=(TripStatus.LOADING, TripStatus.RIDING, TripStatus.RETURNING),
            ):
                started = time.perf_counter()
                if trip.status is TripStatus.LOADING and trip.planned_start <= now:
                    delivery.depart(uow(), tenant_id=tenant_id, trip_id=trip.id)
                elif trip.status is TripStatus.RIDING:
                    for stop in trip.stops_in(StopStatus.OUT):
                        if stop.eta is None or stop.eta > now:
                            continue
                        if rng.random() < FAIL_RATE:
                            delivery.fail_delivery(
                                uow(), tenant_id=tenant_id, stop_id=stop.id, reason=FailureReason.CUSTOMER_ABSENT
                            )
                            failed += 1
                        else:
                            delivery.deliver(
                                uow(),
                                tenant_id=tenant_id,
                                stop_id=stop.id,
                                proof=DeliveryProof(position=stop.drop_off, photo_ref=f"bench/{stop.id}"),
                            )
                            delivered += 1
                            late += now > stop.promised_by
                elif trip.status is TripStatus.RETURNING and trip.planned_back <= now:
                    delivery.arrive_back(uow(), tenant_id=tenant_id, trip_id=trip.id)
                else:
                    continue
                action_ms.append((time.perf_counter() - started) * 1000)
            clock.advance(timedelta(minutes=1))
        all_ticks = skip_ms + solve_tick_ms
        mean_tick = statistics.fmean(all_ticks)
        return {
            "ticks": len(all_ticks),
            "solved_share": round(len(solve_tick_ms) / len(all_ticks), 3),
            "tick_skipped": stats(skip_ms),
            "tick_solved": stats(solve_tick_ms),
            "solver_only": stats(solve_ms),
            "courier_action": stats(action_ms),
            "delivered": delivered,
            "late": late,
            "failed": failed,
            "lost_sales": lost,
            # The twin's budget: 20 stores, a round a minute for 24 hours, must fit 86400 s / 300.
            "projected_dispatch_s_per_20_store_day": round(mean_tick * 20 * 1440 / 1000, 1),
            "twin_budget_s_at_300x": 288,
        }


def _pack(runtime: Runtime, tenant_id: str, batch: Any) -> None:
    for task in batch.pick_list.tasks:
        fulfilment.scan(
            runtime.uow(),
            tenant_id=tenant_id,
            order_id=task.order_id,
            line_id=task.order_line_id,
            barcode=task.barcode,
            units=task.quantity,
        )
    for order_id in batch.order_ids:
        fulfilment.pack(runtime.uow(), tenant_id=tenant_id, order_id=order_id)


def _poisson(rng: random.Random, rate: float) -> int:
    threshold, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=None, help="default: a fresh SQLite file per policy")
    parser.add_argument("--minutes", type=int, default=90)
    parser.add_argument("--rate", type=float, default=4.0, help="orders per minute while the shop is busy")
    parser.add_argument("--couriers", type=int, default=10)
    parser.add_argument("--budget-ms", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quiet-tail", type=int, default=30, help="last minutes without new orders")
    parser.add_argument("--policies", default="fifo-nearest,optimised")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for policy in args.policies.split(","):
            url = args.database or f"sqlite:///{Path(tmp) / f'{policy}.db'}"
            results[policy] = replay(url, policy, args)
    print(
        json.dumps(
            {
                "benchmark": "dispatch_tick",
                "database": (args.database or "sqlite").split(":")[0],
                "store": {
                    "minutes": args.minutes,
                    "orders_per_minute": args.rate,
                    "couriers": args.couriers,
                    "pickers": PICKERS,
                    "budget_ms": args.budget_ms,
                },
                "policies": results,
            }
        )
    )


if __name__ == "__main__":
    main()
