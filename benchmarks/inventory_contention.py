"""Contention on the store stock ledger: many threads reserving baskets from few products.

Prints ONE JSON object. On PostgreSQL it also measures, in the same run and with the same threads,
the simplest possible contended write (``UPDATE counter SET n = n - 1`` on one row) as a baseline.

    python benchmarks/inventory_contention.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test \
        --attempts 20000 --threads 16
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import Engine, text

from _common import benchmark_engine
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.inventory import services
from newretail.inventory.model import OutOfStock
from newretail.seed import make_plain_products
from newretail.tenancy import services as tenancy

PRODUCTS = 8


def run_reservations(runtime: Runtime, attempts: int, threads: int, seed: int) -> dict[str, float | int]:
    tenant_id = tenancy.create_tenant(runtime.uow(), slug=f"bench-{seed}", name="Bench")
    store = tenancy.open_store(
        runtime.uow(), tenant_id=tenant_id, name="Bench", address="x", lat=51.5, lon=-0.1, delivery_radius_m=3219
    )
    product_ids = make_plain_products(runtime, tenant_id, PRODUCTS)
    # Demand is ~1.5 units per attempt; stock covers about 60% of it, so the tail of the run fights
    # over the last units and many attempts fail for lack of stock.
    per_product = max(1, int(attempts * 1.5 * 0.6 / PRODUCTS))
    for product_id in product_ids:
        services.receive(
            runtime.uow(), tenant_id=tenant_id, store_id=store.id, product_id=product_id, quantity=per_product
        )
    counter = iter(range(attempts))
    lock = threading.Lock()
    succeeded = failed = 0

    def worker(worker_id: int) -> tuple[int, int]:
        rng = random.Random(seed * 1000 + worker_id)
        ok = short = 0
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return ok, short
            basket = rng.sample(product_ids, rng.choice((1, 2)))
            try:
                services.reserve(
                    runtime.uow(),
                    tenant_id=tenant_id,
                    store_id=store.id,
                    lines=[(p, rng.choice((1, 1, 2))) for p in basket],
                    owner_type="bench",
                    owner_id=f"a{n}",
                    ttl=timedelta(minutes=20),
                )
                ok += 1
            except OutOfStock:
                short += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for ok, short in pool.map(worker, range(threads)):
            succeeded += ok
            failed += short
    elapsed = time.perf_counter() - started
    levels = services.availability(runtime.uow(), tenant_id, store.id, product_ids)
    oversold = sum(max(0, level.reserved - level.on_hand) for level in levels.values())
    return {
        "succeeded": succeeded,
        "failed_out_of_stock": failed,
        "oversold_units": oversold,
        "units_received": per_product * PRODUCTS,
        "units_reserved": sum(level.reserved for level in levels.values()),
        "reservations_per_s": round(attempts / elapsed, 1),
        "elapsed_s": round(elapsed, 2),
    }


def run_single_row_updates(engine: Engine, attempts: int, threads: int) -> float:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_counter (id int PRIMARY KEY, n bigint NOT NULL)"))
        conn.execute(text("INSERT INTO bench_counter VALUES (1, :n)"), {"n": attempts})
    counter = iter(range(attempts))
    lock = threading.Lock()

    def worker(_: int) -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            with engine.begin() as conn:
                conn.execute(text("UPDATE bench_counter SET n = n - 1 WHERE id = 1"))

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return attempts / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        required=True,
        help="SQLAlchemy URL: sqlite:///path.db (the run uses a fresh file beside it) or postgresql+psycopg://...",
    )
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.attempts < 1 or args.threads < 1:
        parser.error("--attempts and --threads must be positive")
    with benchmark_engine(args.database, pool_size=args.threads + 2) as engine:
        runtime = Runtime(engine=engine, settings=Settings(argon2_time_cost=1, argon2_memory_kib=64))
        result: dict[str, object] = {
            "backend": engine.dialect.name,
            "attempts": args.attempts,
            "threads": args.threads,
            **run_reservations(runtime, args.attempts, args.threads, args.seed),
        }
        if engine.dialect.name == "postgresql":
            baseline = run_single_row_updates(engine, args.attempts, args.threads)
            result["pg_single_row_updates_per_s"] = round(baseline, 1)
            result["ratio_to_single_row_update"] = round(float(result["reservations_per_s"]) / baseline, 3)  # type: ignore[arg-type]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
