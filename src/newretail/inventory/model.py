"""Inventory rules: plain Python, no I/O.

Quantities are integers in the product's stock unit: units for goods sold by each, grams for goods
sold by weight. ``available = on_hand - reserved``, where ``reserved`` is the sum of the active,
unexpired reservation lines. The database enforces ``0 <= reserved <= on_hand`` as a last guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from newretail.core.errors import Conflict, NotFound, ValidationFailed


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    COMMITTED = "committed"
    EXPIRED = "expired"


class MovementReason(StrEnum):
    RECEIPT = "receipt"
    SALE = "sale"  # sold at the till (or the cashierless door)
    PICK = "pick"  # picked for an online order and committed at packing
    SHRINK = "shrink"
    DAMAGE = "damage"
    RECOUNT = "recount"
    RETURN = "return"  # goods an undelivered order brought back to the store


ADJUSTMENT_REASONS = frozenset({MovementReason.SHRINK, MovementReason.DAMAGE, MovementReason.RECOUNT})


@dataclass(frozen=True, slots=True)
class ShortLine:
    product_id: str
    requested: int
    available: int


class OutOfStock(Conflict):
    code = "out_of_stock"

    def __init__(self, short: list[ShortLine]) -> None:
        names = ", ".join(f"{s.product_id} (wanted {s.requested}, {s.available} available)" for s in short)
        super().__init__(
            f"not enough stock for {len(short)} line(s): {names}",
            lines=[{"product_id": s.product_id, "requested": s.requested, "available": s.available} for s in short],
        )
        self.short = short


class StockCountMismatch(Conflict):
    """The till sold more than the ledger says is on hand: the shelf needs a recount first."""

    code = "stock_count_mismatch"


class ReservationNotFound(NotFound):
    code = "reservation_not_found"


class ReservationClosed(Conflict):
    code = "reservation_closed"


@dataclass(slots=True)
class StockLevel:
    product_id: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(slots=True)
class ReservationLine:
    product_id: str
    quantity: int  # still held
    shorted: int = 0  # taken away because the stock physically left (till sale, shrink)


@dataclass(slots=True)
class Reservation:
    id: str
    tenant_id: str
    store_id: str
    owner_type: str
    owner_id: str
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime | None
    lines: list[ReservationLine] = field(default_factory=list)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def holds(self, now: datetime) -> bool:
        return self.status == ReservationStatus.ACTIVE and not self.is_expired(now)


def normalise_basket(lines: list[tuple[str, int]]) -> dict[str, int]:
    """Merge repeated products; every quantity must be positive. Sorted by product id (lock order)."""
    if not lines:
        raise ValidationFailed("a reservation needs at least one line", field="lines")
    basket: dict[str, int] = {}
    for product_id, quantity in lines:
        if quantity <= 0:
            raise ValidationFailed("quantities must be positive", field="quantity", product_id=product_id)
        basket[product_id] = basket.get(product_id, 0) + quantity
    return dict(sorted(basket.items()))


def shortages(levels: dict[str, StockLevel], basket: dict[str, int]) -> list[ShortLine]:
    """Every line the store cannot cover, all at once (never one error per retry)."""
    short = []
    for product_id, quantity in basket.items():
        level = levels.get(product_id)
        available = level.available if level else 0
        if quantity > available:
            short.append(ShortLine(product_id, quantity, max(available, 0)))
    return short


@dataclass(frozen=True, slots=True)
class HeldLine:
    reservation_id: str
    created_at: datetime
    quantity: int


def allocate_shortfall(held: list[HeldLine], shortfall: int) -> list[tuple[str, int]]:
    """Which reservations lose how much when ``shortfall`` units physically left the store.

    Newest reservations lose first: the oldest orders are the likeliest to be mid-pick already.
    """
    if shortfall <= 0:
        return []
    cuts: list[tuple[str, int]] = []
    for line in sorted(held, key=lambda h: (h.created_at, h.reservation_id), reverse=True):
        if shortfall == 0:
            break
        take = min(line.quantity, shortfall)
        if take > 0:
            cuts.append((line.reservation_id, take))
            shortfall -= take
    if shortfall:
        raise AssertionError("reservations held less than the shortfall: the reserved total was wrong")
    return cuts
