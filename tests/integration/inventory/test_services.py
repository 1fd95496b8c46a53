from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from newretail.catalog.model import UnknownProduct
from newretail.core.clock import SimulatedClock
from newretail.core.errors import IdempotencyKeyReused, NotFound
from newretail.core.messaging import outbox
from newretail.core.runtime import Runtime
from newretail.inventory import services
from newretail.inventory.model import (
    MovementReason,
    OutOfStock,
    ReservationClosed,
    StockCountMismatch,
)


def _stock(runtime: Runtime, world, product_id: str):  # type: ignore[no-untyped-def]
    return services.availability(runtime.uow(), world.tenant_id, world.store.id, [product_id])[product_id]


def _receive(runtime: Runtime, world, product_id: str, quantity: int) -> None:  # type: ignore[no-untyped-def]
    services.receive(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=product_id, quantity=quantity
    )


def _reserve(runtime: Runtime, world, lines, ttl=None, key=None, owner="order-1"):  # type: ignore[no-untyped-def]
    return services.reserve(
        runtime.uow(),
        tenant_id=world.tenant_id,
        store_id=world.store.id,
        lines=lines,
        owner_type="order",
        owner_id=owner,
        ttl=ttl,
        idempotency_key=key,
    )


def test_reserve_is_all_or_nothing_and_names_every_short_line(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a, b, c = product_ids[:3]
    _receive(runtime, world, a, 5)
    _receive(runtime, world, b, 1)
    with pytest.raises(OutOfStock) as err:
        _reserve(runtime, world, [(a, 2), (b, 3), (c, 1)])
    assert {line["product_id"] for line in err.value.details["lines"]} == {b, c}
    assert _stock(runtime, world, a).available == 5  # nothing half-reserved
    reservation = _reserve(runtime, world, [(a, 2), (b, 1)])
    assert reservation["status"] == "active"
    assert _stock(runtime, world, a).available == 3
    assert _stock(runtime, world, b).available == 0


def test_unknown_and_foreign_products_are_refused(runtime: Runtime, world, other_world, product_ids) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownProduct):
        _reserve(runtime, world, [("no-such-product", 1)])
    with pytest.raises(NotFound):
        services.receive(
            runtime.uow(),
            tenant_id=other_world.tenant_id,
            store_id=other_world.store.id,
            product_id=product_ids[0],
            quantity=1,
        )


def test_release_returns_stock_and_is_repeatable(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    _receive(runtime, world, a, 3)
    reservation = _reserve(runtime, world, [(a, 3)])
    services.release(runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation["id"])
    services.release(runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation["id"])
    assert _stock(runtime, world, a).available == 3


def test_commit_takes_what_was_picked_and_returns_the_rest(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a, b = product_ids[:2]
    _receive(runtime, world, a, 10)
    _receive(runtime, world, b, 10)
    reservation = _reserve(runtime, world, [(a, 4), (b, 2)])
    services.commit(runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation["id"], picked={a: 3})
    assert (_stock(runtime, world, a).on_hand, _stock(runtime, world, a).available) == (7, 7)
    assert (_stock(runtime, world, b).on_hand, _stock(runtime, world, b).available) == (10, 10)
    with pytest.raises(ReservationClosed):
        services.release(runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation["id"])


def test_picks_beyond_the_reservation_come_from_free_stock_only(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a, substitute = product_ids[:2]
    _receive(runtime, world, a, 5)
    _receive(runtime, world, substitute, 2)
    reservation = _reserve(runtime, world, [(a, 2)])
    _reserve(runtime, world, [(a, 3), (substitute, 1)], owner="someone-else")
    with pytest.raises(OutOfStock) as err:
        services.commit(
            runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation["id"], picked={a: 3, substitute: 2}
        )  # a: 1 over, none free; substitute: 1 free, 2 wanted
    assert {line["product_id"] for line in err.value.details["lines"]} == {a, substitute}
    services.commit(
        runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation["id"], picked={a: 1, substitute: 1}
    )
    assert (_stock(runtime, world, a).on_hand, _stock(runtime, world, a).reserved) == (4, 3)
    assert (_stock(runtime, world, substitute).on_hand, _stock(runtime, world, substitute).available) == (1, 0)


def test_expired_reservations_stop_holding_and_are_swept(
    runtime: Runtime, clock: SimulatedClock, world, product_ids
) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    _receive(runtime, world, a, 2)
    _reserve(runtime, world, [(a, 2)], ttl=timedelta(minutes=10))
    assert _stock(runtime, world, a).available == 0
    clock.advance(timedelta(minutes=10))
    assert _stock(runtime, world, a).available == 2  # reads ignore it before any sweep
    second = _reserve(runtime, world, [(a, 2)], owner="order-2")  # writers sweep what they touch
    assert second["status"] == "active"
    clock.advance(timedelta(days=1))
    assert services.expire_stale(runtime.uow()) == 0  # the second has no expiry; the first was swept


def test_sweeper_expires_and_emits(runtime: Runtime, clock: SimulatedClock, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a, b = product_ids[:2]
    _receive(runtime, world, a, 2)
    _receive(runtime, world, b, 2)
    reservation = _reserve(runtime, world, [(a, 1), (b, 2)], ttl=timedelta(minutes=1))
    clock.advance(timedelta(minutes=2))
    assert services.expire_stale(runtime.uow()) == 1
    assert services.get_reservation(runtime.uow(), world.tenant_id, reservation["id"]).status == "expired"
    assert _stock(runtime, world, b).reserved == 0
    with runtime.engine.connect() as conn:
        names = list(conn.execute(select(outbox.c.name)).scalars())
    assert "ReservationExpired" in names


def test_till_sale_eating_reserved_stock_shorts_the_newest_order(
    runtime: Runtime, clock: SimulatedClock, world, product_ids
) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    _receive(runtime, world, a, 3)
    older = _reserve(runtime, world, [(a, 2)], owner="older")
    clock.advance(timedelta(seconds=30))
    newer = _reserve(runtime, world, [(a, 1)], owner="newer")
    services.sell(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, lines=[(a, 2)])
    level = _stock(runtime, world, a)
    assert (level.on_hand, level.reserved, level.available) == (1, 1, 0)
    newer_now = services.get_reservation(runtime.uow(), world.tenant_id, newer["id"])
    older_now = services.get_reservation(runtime.uow(), world.tenant_id, older["id"])
    assert (newer_now.lines[0].quantity, newer_now.lines[0].shorted) == (0, 1)
    assert (older_now.lines[0].quantity, older_now.lines[0].shorted) == (1, 1)
    with runtime.engine.connect() as conn:
        names = list(conn.execute(select(outbox.c.name)).scalars())
    assert names.count("ReservationShorted") == 2 and "ReservedStockSold" in names
    with pytest.raises(StockCountMismatch):
        services.sell(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, lines=[(a, 2)])


def test_adjustments_shrink_and_recount(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    _receive(runtime, world, a, 10)
    services.adjust(
        runtime.uow(),
        tenant_id=world.tenant_id,
        store_id=world.store.id,
        product_id=a,
        reason=MovementReason.DAMAGE,
        delta=-2,
    )
    services.adjust(
        runtime.uow(),
        tenant_id=world.tenant_id,
        store_id=world.store.id,
        product_id=a,
        reason=MovementReason.RECOUNT,
        counted=5,
    )
    assert _stock(runtime, world, a).on_hand == 5
    with pytest.raises(StockCountMismatch):
        services.adjust(
            runtime.uow(),
            tenant_id=world.tenant_id,
            store_id=world.store.id,
            product_id=a,
            reason=MovementReason.SHRINK,
            delta=-6,
        )


def test_idempotent_reserve_and_adjust(runtime: Runtime, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    _receive(runtime, world, a, 10)
    first = _reserve(runtime, world, [(a, 3)], key="checkout-42")
    again = _reserve(runtime, world, [(a, 3)], key="checkout-42")
    assert first == again
    assert _stock(runtime, world, a).available == 7
    with pytest.raises(IdempotencyKeyReused):
        _reserve(runtime, world, [(a, 4)], key="checkout-42")
    for _ in range(3):
        services.adjust(
            runtime.uow(),
            tenant_id=world.tenant_id,
            store_id=world.store.id,
            product_id=a,
            reason=MovementReason.SHRINK,
            delta=-1,
            idempotency_key="shrink-1",
        )
    assert _stock(runtime, world, a).on_hand == 9
