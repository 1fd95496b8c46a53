from __future__ import annotations

from dataclasses import dataclass

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class StockReserved(Event):
    store_id: str
    reservation_id: str
    owner_type: str
    owner_id: str


@dataclass(frozen=True, kw_only=True)
class ReservationShorted(Event):
    """Stock held for an order physically left (till sale, shrink): the order must re-plan that line."""

    store_id: str
    reservation_id: str
    owner_type: str
    owner_id: str
    product_id: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class ReservedStockSold(Event):
    """A till sale or adjustment ate into stock that online orders had reserved."""

    store_id: str
    product_id: str
    shortfall: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReservationExpired(Event):
    store_id: str
    reservation_id: str
    owner_type: str
    owner_id: str
