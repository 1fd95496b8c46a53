"""Many threads fight for the last units through the service layer: exactly the stock is sold."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from newretail.core.runtime import Runtime
from newretail.inventory import services
from newretail.inventory.model import OutOfStock

THREADS = 24
STOCK = 10


def test_threads_reserving_the_last_units_never_oversell(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    scarce, plenty = product_ids[:2]
    services.receive(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=scarce, quantity=STOCK
    )
    services.receive(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=plenty, quantity=1000
    )
    start = threading.Barrier(THREADS)

    def attempt(i: int) -> int:
        start.wait()
        won = 0
        for j in range(3):
            # Baskets in both product orders: the fixed lock order must keep this deadlock-free.
            lines = [(scarce, 1), (plenty, 1)] if (i + j) % 2 else [(plenty, 1), (scarce, 1)]
            try:
                services.reserve(
                    runtime.uow(),
                    tenant_id=world.tenant_id,
                    store_id=world.store.id,
                    lines=lines,
                    owner_type="order",
                    owner_id=f"t{i}-{j}",
                    ttl=None,
                )
                won += 1
            except OutOfStock:
                pass
        return won

    with ThreadPoolExecutor(THREADS) as pool:
        wins = sum(pool.map(attempt, range(THREADS)))
    levels = services.availability(runtime.uow(), world.tenant_id, world.store.id, [scarce, plenty])
    assert wins == STOCK
    assert (levels[scarce].reserved, levels[scarce].available) == (STOCK, 0)
    assert levels[plenty].reserved == STOCK  # the losers' lines on the plentiful product were not kept


def test_concurrent_retries_with_one_idempotency_key_reserve_once(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    product = product_ids[0]
    services.receive(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=product, quantity=100
    )
    start = threading.Barrier(16)

    def attempt(_: int) -> str:
        start.wait()
        answer = services.reserve(
            runtime.uow(),
            tenant_id=world.tenant_id,
            store_id=world.store.id,
            lines=[(product, 5)],
            owner_type="order",
            owner_id="o-1",
            ttl=None,
            idempotency_key="same-click",
        )
        return str(answer["id"])

    with ThreadPoolExecutor(16) as pool:
        ids = set(pool.map(attempt, range(16)))
    assert len(ids) == 1
    assert services.availability(runtime.uow(), world.tenant_id, world.store.id, [product])[product].reserved == 5
