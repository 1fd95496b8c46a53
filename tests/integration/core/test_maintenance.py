from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from newretail.core.messaging import Event, PublishedEvent, outbox, prune_published
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


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShelfNoted(Event):
    """A test event: the outbox keeps whatever a service emits."""

    note: str


def _emit(runtime: Runtime, tenant_id: str, *notes: str) -> None:
    with runtime.uow() as uow:
        for note in notes:
            uow.emit(ShelfNoted(tenant_id=tenant_id, note=note))
        uow.commit()


def _outbox_rows(runtime: Runtime) -> dict[int, bool]:
    """Outbox id -> published."""
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.published_at)).all()
    return {row.id: row.published_at is not None for row in rows}


def test_published_events_past_retention_are_pruned_and_undelivered_ones_kept(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    def broker_down(event: PublishedEvent) -> None:
        raise RuntimeError("the broker is down")

    _emit(runtime, world.tenant_id, "aisle 3 tidy", "aisle 4 tidy")  # nobody listens: stored published
    runtime.bus.subscribe("ShelfNoted", broker_down)
    _emit(runtime, world.tenant_id, "aisle 5 tidy")  # its handler fails: stays unpublished
    before = _outbox_rows(runtime)
    undelivered = {event_id for event_id, published in before.items() if not published}
    assert len(undelivered) == 1 and len(before) >= 3

    runtime.clock.advance(runtime.outbox_retention - timedelta(minutes=1))  # type: ignore[attr-defined]
    assert run_once(runtime).events_pruned == 0  # not old enough yet
    assert _outbox_rows(runtime) == before

    runtime.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
    assert run_once(runtime).events_pruned == len(before) - 1
    # The event that never reached its handler stays however old it is: it still owes a delivery.
    assert _outbox_rows(runtime) == {event_id: False for event_id in undelivered}


def test_pruning_goes_oldest_first_in_bounded_batches(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    _emit(runtime, world.tenant_id, "a", "b", "c", "d", "e")
    old = sorted(_outbox_rows(runtime))
    runtime.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    _emit(runtime, world.tenant_id, "too recent")
    recent = sorted(set(_outbox_rows(runtime)) - set(old))
    cutoff = runtime.clock.now()

    assert prune_published(runtime.engine, cutoff, batch_size=2, max_batches=1) == 2
    assert sorted(_outbox_rows(runtime)) == old[2:] + recent  # the two oldest went
    assert prune_published(runtime.engine, cutoff, batch_size=2) == len(old) - 2
    assert sorted(_outbox_rows(runtime)) == recent
    assert prune_published(runtime.engine, cutoff, batch_size=2) == 0
    with pytest.raises(ValueError, match="batch_size"):
        prune_published(runtime.engine, cutoff, batch_size=0)
