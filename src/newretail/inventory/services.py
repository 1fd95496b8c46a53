"""Inventory use cases: receive, adjust, sell at the till, reserve a basket, release, commit, expire.

Every writer follows one protocol so two writers never deadlock and never oversell:
1. sweep: find expired reservations touching the products, and lock their products too;
2. lock every stock row involved in product-id order (``SELECT ... FOR UPDATE``; SQLite's
   ``BEGIN IMMEDIATE`` already serialises writers);
3. decide in the model, write absolute values, append a movement per on-hand change, emit events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from newretail.catalog.lookup import require_products
from newretail.core.errors import ValidationFailed
from newretail.core.idempotency import run_idempotent
from newretail.core.ids import new_id
from newretail.core.uow import UnitOfWork, joined
from newretail.inventory.events import ReservationExpired, ReservationShorted, ReservedStockSold, StockReserved
from newretail.inventory.model import (
    ADJUSTMENT_REASONS,
    MovementReason,
    OutOfStock,
    Reservation,
    ReservationClosed,
    ReservationLine,
    ReservationNotFound,
    ReservationStatus,
    StockCountMismatch,
    StockLevel,
    allocate_shortfall,
    normalise_basket,
    shortages,
)
from newretail.inventory.repository import InventoryRepository
from newretail.tenancy.repository import TenancyRepository

MAX_RESERVATION_TTL = timedelta(days=7)


@dataclass(frozen=True)
class Availability:
    product_id: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


# -- reads ----------------------------------------------------------------------------------------
def availability(
    uow: UnitOfWork, tenant_id: str, store_id: str, product_ids: list[str] | None = None
) -> dict[str, Availability]:
    """Stock as shoppers see it: expired reservations no longer hold anything, swept or not."""
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        repo = InventoryRepository(uow.conn)
        levels = repo.read_levels(tenant_id, store_id, product_ids)
        stale = repo.expired_unswept(tenant_id, store_id, uow.clock.now()) if levels else {}
    result = {
        pid: Availability(pid, level.on_hand, level.reserved - stale.get(pid, 0)) for pid, level in levels.items()
    }
    for pid in product_ids or ():
        result.setdefault(pid, Availability(pid, 0, 0))
    return result


def availability_in_stores(
    uow: UnitOfWork, tenant_id: str, store_ids: list[str], product_ids: list[str]
) -> dict[str, dict[str, Availability]]:
    """:func:`availability` of the same products in several of the tenant's stores, in two reads
    whatever the number of stores (checkout compares the stores whose zone covers an address).
    The store ids come from the caller's own read of the tenant's stores: an id that is not one
    of them simply has nothing available."""
    with joined(uow):
        repo = InventoryRepository(uow.conn)
        levels = repo.levels_in_stores(tenant_id, store_ids, product_ids)
        stale = repo.expired_unswept_in_stores(tenant_id, store_ids, uow.clock.now()) if store_ids else {}
    result: dict[str, dict[str, Availability]] = {}
    for store_id in store_ids:
        expired = stale.get(store_id, {})
        here = {
            pid: Availability(pid, level.on_hand, level.reserved - expired.get(pid, 0))
            for pid, level in levels[store_id].items()
        }
        for pid in product_ids:
            here.setdefault(pid, Availability(pid, 0, 0))
        result[store_id] = here
    return result


def get_reservation(uow: UnitOfWork, tenant_id: str, reservation_id: str) -> Reservation:
    with uow:
        reservation = InventoryRepository(uow.conn).reservation(tenant_id, reservation_id)
    if reservation is None:
        raise ReservationNotFound("reservation not found", reservation_id=reservation_id)
    return reservation


# -- writers --------------------------------------------------------------------------------------
def receive(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    product_id: str,
    quantity: int,
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Goods in: on-hand goes up."""
    if quantity <= 0:
        raise ValidationFailed("received quantity must be positive", field="quantity")

    def work(uow: UnitOfWork) -> dict[str, Any]:
        level = _lock(uow, tenant_id, store_id, [product_id], create=True)[product_id]
        level.on_hand += quantity
        _write(uow, tenant_id, store_id, level, quantity, MovementReason.RECEIPT, reference)
        return _level_json(level)

    request = {"store_id": store_id, "product_id": product_id, "quantity": quantity, "reference": reference}
    return run_idempotent(
        uow, tenant_id=tenant_id, scope="inventory.receive", key=idempotency_key, request=request, work=work
    )


def receive_many(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, quantities: dict[str, int], reference: str | None = None
) -> int:
    """A whole delivery note in one transaction (opening stock, a lorry at the back door)."""
    bad = sorted(p for p, q in quantities.items() if q <= 0)
    if bad:
        raise ValidationFailed("received quantities must be positive", product_ids=bad)
    if not quantities:
        return 0
    with uow:
        levels = _lock(uow, tenant_id, store_id, sorted(quantities), create=True)
        repo = InventoryRepository(uow.conn)
        now = uow.clock.now()
        for product_id, quantity in sorted(quantities.items()):
            levels[product_id].on_hand += quantity
        repo.write_levels(store_id, [levels[p] for p in sorted(quantities)], now)
        repo.add_movements(tenant_id, store_id, sorted(quantities.items()), MovementReason.RECEIPT, reference, now)
        uow.commit()
    return len(quantities)


def return_within(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, lines: list[tuple[str, int]], reference: str | None = None
) -> dict[str, Any]:
    """Goods back from an undelivered order, inside the caller's unit of work: on-hand goes up,
    one ``return`` movement per product (the goods were committed at packing, so no reservation
    is involved)."""
    basket = normalise_basket(lines)
    levels = _lock(uow, tenant_id, store_id, list(basket), create=True)
    for product_id, quantity in basket.items():
        level = levels[product_id]
        level.on_hand += quantity
        _write(uow, tenant_id, store_id, level, quantity, MovementReason.RETURN, reference)
    return {"lines": [_level_json(levels[p]) for p in basket]}


def adjust(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    product_id: str,
    reason: MovementReason,
    delta: int | None = None,
    counted: int | None = None,
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Shrink or damage (``delta`` < 0) or a recount (``counted``, the absolute number on the shelf)."""
    if reason not in ADJUSTMENT_REASONS:
        raise ValidationFailed(f"adjustment reason must be one of {sorted(ADJUSTMENT_REASONS)}", field="reason")
    if reason == MovementReason.RECOUNT:
        if counted is None or counted < 0 or delta is not None:
            raise ValidationFailed("a recount gives 'counted' (>= 0) and no delta", field="counted")
    elif delta is None or delta >= 0 or counted is not None:
        raise ValidationFailed(f"{reason.value} gives a negative 'delta' and no count", field="delta")

    def work(uow: UnitOfWork) -> dict[str, Any]:
        level = _lock(uow, tenant_id, store_id, [product_id], create=True)[product_id]
        change = counted - level.on_hand if counted is not None else int(delta or 0)
        if level.on_hand + change < 0:
            raise StockCountMismatch(
                f"cannot remove {-change}: only {level.on_hand} on hand; recount instead",
                product_id=product_id,
                on_hand=level.on_hand,
            )
        level.on_hand += change
        _write(uow, tenant_id, store_id, level, change, reason, reference)
        return _level_json(level)

    request = {
        "store_id": store_id,
        "product_id": product_id,
        "reason": reason.value,
        "delta": delta,
        "counted": counted,
        "reference": reference,
    }
    return run_idempotent(
        uow, tenant_id=tenant_id, scope="inventory.adjust", key=idempotency_key, request=request, work=work
    )


def sell(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    lines: list[tuple[str, int]],
    reference: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A till (or cashierless exit) sale: the goods already left, so reservations yield if they must."""
    basket = normalise_basket(lines)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        levels = _lock(uow, tenant_id, store_id, list(basket), create=False)
        missing = [pid for pid in basket if basket[pid] > levels[pid].on_hand]
        if missing:
            raise StockCountMismatch(
                "the till sold more than the ledger holds; recount these products first",
                lines=[{"product_id": p, "sold": basket[p], "on_hand": levels[p].on_hand} for p in missing],
            )
        for product_id, quantity in basket.items():
            level = levels[product_id]
            level.on_hand -= quantity
            _write(uow, tenant_id, store_id, level, -quantity, MovementReason.SALE, reference)
        return {"lines": [_level_json(levels[p]) for p in basket]}

    request = {"store_id": store_id, "lines": sorted(basket.items()), "reference": reference}
    return run_idempotent(
        uow, tenant_id=tenant_id, scope="inventory.sell", key=idempotency_key, request=request, work=work
    )


def reserve(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    lines: list[tuple[str, int]],
    owner_type: str,
    owner_id: str,
    ttl: timedelta | None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Hold a whole basket, all lines or none. ``ttl=None`` holds until released or committed."""
    basket = normalise_basket(lines)
    request = {
        "store_id": store_id,
        "lines": sorted(basket.items()),
        "owner_type": owner_type,
        "owner_id": owner_id,
        "ttl": ttl.total_seconds() if ttl else None,
    }
    return run_idempotent(
        uow,
        tenant_id=tenant_id,
        scope="inventory.reserve",
        key=idempotency_key,
        request=request,
        work=lambda uow: reserve_within(
            uow, tenant_id=tenant_id, store_id=store_id, lines=lines, owner_type=owner_type, owner_id=owner_id, ttl=ttl
        ),
    )


def reserve_within(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    store_id: str,
    lines: list[tuple[str, int]],
    owner_type: str,
    owner_id: str,
    ttl: timedelta | None,
) -> dict[str, Any]:
    """:func:`reserve` inside the caller's open unit of work (checkout reserves and places at once)."""
    basket = normalise_basket(lines)
    if ttl is not None and not timedelta(0) < ttl <= MAX_RESERVATION_TTL:
        raise ValidationFailed("ttl must be between 1 second and 7 days", field="ttl_seconds")
    if not owner_type or not owner_id:
        raise ValidationFailed("a reservation needs an owner", field="owner_id")
    now = uow.clock.now()
    # A locked stock row proves the product is this tenant's; _lock checks the ones without a row.
    levels = _lock(uow, tenant_id, store_id, list(basket), create=False)
    short = shortages(levels, basket)
    if short:
        raise OutOfStock(short)
    reservation = Reservation(
        id=new_id(),
        tenant_id=tenant_id,
        store_id=store_id,
        owner_type=owner_type,
        owner_id=owner_id,
        status=ReservationStatus.ACTIVE,
        created_at=now,
        expires_at=now + ttl if ttl else None,
        lines=[ReservationLine(pid, qty) for pid, qty in basket.items()],
    )
    repo = InventoryRepository(uow.conn)
    for product_id, quantity in basket.items():
        levels[product_id].reserved += quantity
    repo.write_levels(store_id, [levels[product_id] for product_id in basket], now)
    repo.add_reservation(reservation)
    uow.emit(
        StockReserved(
            tenant_id=tenant_id,
            store_id=store_id,
            reservation_id=reservation.id,
            owner_type=owner_type,
            owner_id=owner_id,
        )
    )
    return reservation_json(reservation)


def release(uow: UnitOfWork, *, tenant_id: str, reservation_id: str) -> dict[str, Any]:
    """Give the held stock back. Releasing a released or expired reservation changes nothing."""
    with uow:
        answer = release_within(uow, tenant_id=tenant_id, reservation_id=reservation_id)
        uow.commit()
    return answer


def release_within(uow: UnitOfWork, *, tenant_id: str, reservation_id: str) -> dict[str, Any]:
    reservation, levels = _lock_reservation(uow, tenant_id, reservation_id)
    if reservation.status == ReservationStatus.COMMITTED:
        raise ReservationClosed("reservation was already committed", reservation_id=reservation_id)
    if reservation.status == ReservationStatus.ACTIVE:
        _close(uow, reservation, levels, ReservationStatus.RELEASED)
    return reservation_json(reservation)


def extend(uow: UnitOfWork, *, tenant_id: str, reservation_id: str, ttl: timedelta | None) -> dict[str, Any]:
    """Turn a cart hold into an order allocation (``ttl=None``) or push its expiry out."""
    with uow:
        reservation, _levels = _lock_reservation(uow, tenant_id, reservation_id)
        if not reservation.holds(uow.clock.now()):
            raise ReservationClosed("reservation no longer holds stock", reservation_id=reservation_id)
        reservation.expires_at = uow.clock.now() + ttl if ttl else None
        InventoryRepository(uow.conn).set_expiry(reservation_id, reservation.expires_at)
        uow.commit()
    return reservation_json(reservation)


def commit(
    uow: UnitOfWork, *, tenant_id: str, reservation_id: str, picked: dict[str, int], reference: str | None = None
) -> dict[str, Any]:
    """Packing: on-hand goes down by what was actually picked; whatever was held but not picked returns.

    Picks beyond the reservation (an approved substitute, a weighed item a little over) come out of
    free stock, and only if it is there. Committing twice returns the first answer, changing nothing.
    """
    with uow:
        answer = commit_within(
            uow, tenant_id=tenant_id, reservation_id=reservation_id, picked=picked, reference=reference
        )
        uow.commit()
    return answer


def commit_within(
    uow: UnitOfWork, *, tenant_id: str, reservation_id: str, picked: dict[str, int], reference: str | None = None
) -> dict[str, Any]:
    negative = sorted(p for p, q in picked.items() if q < 0)
    if negative:
        raise ValidationFailed("picked quantities cannot be negative", product_ids=negative)
    repo = InventoryRepository(uow.conn)
    reservation = repo.reservation(tenant_id, reservation_id)
    if reservation is None:
        raise ReservationNotFound("reservation not found", reservation_id=reservation_id)
    held = {line.product_id: line.quantity for line in reservation.lines}
    levels = _lock(uow, tenant_id, reservation.store_id, sorted(set(held) | set(picked)), create=False)
    reservation = repo.reservation(tenant_id, reservation_id)  # re-read under the locks
    assert reservation is not None
    if reservation.status == ReservationStatus.COMMITTED:
        return reservation_json(reservation)
    if reservation.status != ReservationStatus.ACTIVE:
        raise ReservationClosed(f"reservation is {reservation.status.value}", reservation_id=reservation_id)
    held = {line.product_id: line.quantity for line in reservation.lines}
    extra = {p: picked.get(p, 0) - held.get(p, 0) for p in picked if picked.get(p, 0) > held.get(p, 0)}
    short = shortages(levels, extra)
    if short:
        raise OutOfStock(short)
    now = uow.clock.now()
    touched = sorted(set(held) | set(picked))
    movements: list[tuple[str, int]] = []
    for product_id in touched:
        level = levels[product_id]
        level.reserved -= held.get(product_id, 0)
        taken = picked.get(product_id, 0)
        level.on_hand -= taken
        if taken:
            movements.append((product_id, -taken))
    # Every row and every movement in one round trip each (the same rows and order as one by one).
    repo.write_levels(reservation.store_id, [levels[p] for p in touched], now)
    repo.add_movements(
        tenant_id, reservation.store_id, movements, MovementReason.PICK, reference or reservation.owner_id, now
    )
    repo.close_reservation(reservation.id, ReservationStatus.COMMITTED, now)
    reservation.status = ReservationStatus.COMMITTED
    return reservation_json(reservation)


def expire_stale(uow: UnitOfWork, *, tenant_id: str | None = None, limit: int = 200) -> int:
    """The background sweep: release reservations past their expiry. Returns how many it expired."""
    expired = 0
    with uow:
        stores = InventoryRepository(uow.conn).stale_stores(uow.clock.now(), limit, tenant_id)
    for tenant_id, store_id in stores:
        with uow:
            repo = InventoryRepository(uow.conn)
            stale = repo.stale_reservation_ids(tenant_id, store_id, None, uow.clock.now(), limit)
            if stale:
                # _lock sweeps every stale reservation touching the products it locks.
                expired += _sweep(uow, tenant_id, store_id, sorted(repo.product_ids_of(stale)))
            uow.commit()
    return expired


# -- the locking protocol -------------------------------------------------------------------------
def _lock(
    uow: UnitOfWork, tenant_id: str, store_id: str, product_ids: list[str], *, create: bool
) -> dict[str, StockLevel]:
    repo = InventoryRepository(uow.conn)
    now = uow.clock.now()
    if create:
        require_products(uow.conn, tenant_id, product_ids)
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        repo.ensure_rows(tenant_id, store_id, product_ids, now)
    stale = repo.stale_reservation_ids(tenant_id, store_id, product_ids, now)
    lock_ids = sorted(set(product_ids) | repo.product_ids_of(stale))
    levels = repo.lock_levels(tenant_id, store_id, lock_ids)
    if not create:
        missing = [pid for pid in product_ids if pid not in levels]
        if missing:
            TenancyRepository(uow.conn).store(tenant_id, store_id)
            require_products(uow.conn, tenant_id, missing)
            # Known products never stocked here: nothing on hand.
            for pid in missing:
                levels[pid] = StockLevel(pid, 0, 0)
    if stale:
        _expire(uow, tenant_id, stale, levels)
    return levels


def _sweep(uow: UnitOfWork, tenant_id: str, store_id: str, product_ids: list[str]) -> int:
    repo = InventoryRepository(uow.conn)
    stale = repo.stale_reservation_ids(tenant_id, store_id, product_ids, uow.clock.now())
    levels = repo.lock_levels(tenant_id, store_id, sorted(set(product_ids) | repo.product_ids_of(stale)))
    return _expire(uow, tenant_id, stale, levels)


def _expire(uow: UnitOfWork, tenant_id: str, stale: list[str], levels: dict[str, StockLevel]) -> int:
    repo = InventoryRepository(uow.conn)
    expired = 0
    for reservation_id in stale:
        reservation = repo.reservation(tenant_id, reservation_id)
        if reservation is None or reservation.status != ReservationStatus.ACTIVE:
            continue  # settled by someone else between our look and our lock
        if any(line.product_id not in levels for line in reservation.lines):
            continue  # it gained no lines, but be safe: only touch rows we hold locks on
        for line in reservation.lines:
            levels[line.product_id].reserved -= line.quantity
            repo.write_level(reservation.store_id, levels[line.product_id], uow.clock.now())
        repo.close_reservation(reservation.id, ReservationStatus.EXPIRED, uow.clock.now())
        uow.emit(
            ReservationExpired(
                tenant_id=tenant_id,
                store_id=reservation.store_id,
                reservation_id=reservation.id,
                owner_type=reservation.owner_type,
                owner_id=reservation.owner_id,
            )
        )
        expired += 1
    return expired


def _lock_reservation(
    uow: UnitOfWork, tenant_id: str, reservation_id: str
) -> tuple[Reservation, dict[str, StockLevel]]:
    reservation = InventoryRepository(uow.conn).reservation(tenant_id, reservation_id)
    if reservation is None:
        raise ReservationNotFound("reservation not found", reservation_id=reservation_id)
    # Lock its stock rows first (fixed order), then re-read: the status we act on is the locked one.
    levels = _lock(uow, tenant_id, reservation.store_id, [ln.product_id for ln in reservation.lines], create=False)
    locked = InventoryRepository(uow.conn).reservation(tenant_id, reservation_id)
    assert locked is not None
    return locked, levels


def _close(uow: UnitOfWork, reservation: Reservation, levels: dict[str, StockLevel], status: ReservationStatus) -> None:
    repo = InventoryRepository(uow.conn)
    now = uow.clock.now()
    for line in reservation.lines:
        levels[line.product_id].reserved -= line.quantity
    repo.write_levels(reservation.store_id, [levels[line.product_id] for line in reservation.lines], now)
    repo.close_reservation(reservation.id, status, now)
    reservation.status = status


def _write(
    uow: UnitOfWork,
    tenant_id: str,
    store_id: str,
    level: StockLevel,
    delta: int,
    reason: MovementReason,
    reference: str | None,
) -> None:
    """Persist an on-hand change; if the shelf now holds less than is reserved, reservations yield."""
    repo = InventoryRepository(uow.conn)
    now = uow.clock.now()
    shortfall = level.reserved - level.on_hand
    if shortfall > 0:
        for reservation_id, take in allocate_shortfall(repo.held_lines(store_id, level.product_id), shortfall):
            repo.cut_line(reservation_id, level.product_id, take)
            reservation = repo.reservation(tenant_id, reservation_id)
            assert reservation is not None
            uow.emit(
                ReservationShorted(
                    tenant_id=tenant_id,
                    store_id=store_id,
                    reservation_id=reservation_id,
                    owner_type=reservation.owner_type,
                    owner_id=reservation.owner_id,
                    product_id=level.product_id,
                    quantity=take,
                )
            )
        level.reserved -= shortfall
        uow.emit(
            ReservedStockSold(
                tenant_id=tenant_id,
                store_id=store_id,
                product_id=level.product_id,
                shortfall=shortfall,
                reason=reason.value,
            )
        )
    repo.write_level(store_id, level, now)
    repo.add_movement(tenant_id, store_id, level.product_id, delta, reason, reference, now)


def _level_json(level: StockLevel) -> dict[str, Any]:
    return {
        "product_id": level.product_id,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": level.available,
    }


def reservation_json(reservation: Reservation) -> dict[str, Any]:
    return {
        "id": reservation.id,
        "store_id": reservation.store_id,
        "owner_type": reservation.owner_type,
        "owner_id": reservation.owner_id,
        "status": reservation.status.value,
        "created_at": reservation.created_at.isoformat(),
        "expires_at": reservation.expires_at.isoformat() if reservation.expires_at else None,
        "lines": [
            {"product_id": ln.product_id, "quantity": ln.quantity, "shorted": ln.shorted} for ln in reservation.lines
        ],
    }
