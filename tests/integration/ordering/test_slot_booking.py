"""A delivery slot takes bookings up to its capacity and refuses the next one, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newretail.core.runtime import Runtime
from newretail.ordering.repository import OrderingRepository

SLOT = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)


def test_a_slot_fills_up_at_its_capacity_and_slots_are_counted_apart(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    store_id = world.store.id
    with runtime.engine.begin() as conn:
        repo = OrderingRepository(conn)
        taken = [repo.book_slot(world.tenant_id, store_id, SLOT, capacity=2) for _ in range(3)]
        later = repo.book_slot(world.tenant_id, store_id, SLOT + timedelta(hours=1), capacity=2)
        bookings = repo.slot_bookings(store_id, [SLOT, SLOT + timedelta(hours=1)])
    assert taken == [True, True, False]
    assert later is True
    assert bookings == {SLOT: 2, SLOT + timedelta(hours=1): 1}


def test_a_slot_without_capacity_takes_nothing(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    with runtime.engine.begin() as conn:
        repo = OrderingRepository(conn)
        assert repo.book_slot(world.tenant_id, world.store.id, SLOT, capacity=0) is False
        assert repo.slot_bookings(world.store.id, [SLOT]).get(SLOT, 0) == 0
