from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from newretail.core.messaging import PublishedEvent, outbox
from newretail.core.runtime import Runtime
from newretail.inventory import services as inventory
from newretail.maintenance import run_once


def test_one_run_expires_holds_and_redelivers_failed_events(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    failing = {"on": True}

    def flaky(event: PublishedEvent) -> None:
        if failing["on"]:
            raise RuntimeError("the broker is down")
        seen.append(event.payload["reservation_id"])

    runtime.bus.subscribe("StockReserved", flaky)
    inventory.receive(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=product_ids[0], quantity=2
    )
    held = inventory.reserve(
        runtime.uow(),
        tenant_id=world.tenant_id,
        store_id=world.store.id,
        lines=[(product_ids[0], 2)],
        owner_type="cart",
        owner_id="c",
        ttl=timedelta(minutes=5),
    )
    with runtime.engine.connect() as conn:
        pending = conn.execute(select(outbox.c.attempts).where(outbox.c.published_at.is_(None))).scalars().all()
    assert pending == [1]  # the handler failed once; the event waits in the outbox

    failing["on"] = False
    runtime.clock.advance(timedelta(minutes=6))  # type: ignore[attr-defined]
    report = run_once(runtime)
    assert report.reservations_expired == 1
    assert report.events_redelivered >= 1
    assert seen == [held["id"]]
    level = inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [product_ids[0]])[product_ids[0]]
    assert level.reserved == 0
