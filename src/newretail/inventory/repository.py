"""The only place that writes inventory SQL. Writers lock stock rows in product-id order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from newretail.inventory.model import (
    HeldLine,
    MovementReason,
    Reservation,
    ReservationLine,
    ReservationStatus,
    StockLevel,
)
from newretail.inventory.tables import reservation_lines, reservations, stock_levels, stock_movements

# The statements checkout, packing and the availability reads run are built once: building and
# hashing a statement per call costs several times what the database takes to run it.
_LEVEL_COLUMNS = (stock_levels.c.product_id, stock_levels.c.on_hand, stock_levels.c.reserved)
_LOCK_LEVELS = (
    select(*_LEVEL_COLUMNS)
    .where(
        stock_levels.c.tenant_id == bindparam("tenant_id"),
        stock_levels.c.store_id == bindparam("store_id"),
        stock_levels.c.product_id.in_(bindparam("product_ids", expanding=True)),
    )
    .order_by(stock_levels.c.product_id)
    .with_for_update()
)
_READ_LEVELS = select(*_LEVEL_COLUMNS).where(
    stock_levels.c.tenant_id == bindparam("tenant_id"),
    stock_levels.c.store_id == bindparam("store_id"),
    stock_levels.c.product_id.in_(bindparam("product_ids", expanding=True)),
)
_READ_ALL_LEVELS = select(*_LEVEL_COLUMNS).where(
    stock_levels.c.tenant_id == bindparam("tenant_id"), stock_levels.c.store_id == bindparam("store_id")
)
_LEVELS_IN_STORES = select(stock_levels.c.store_id, *_LEVEL_COLUMNS).where(
    stock_levels.c.tenant_id == bindparam("tenant_id"),
    stock_levels.c.store_id.in_(bindparam("store_ids", expanding=True)),
    stock_levels.c.product_id.in_(bindparam("product_ids", expanding=True)),
)
_WRITE_LEVEL = (
    update(stock_levels)
    .where(stock_levels.c.store_id == bindparam("sid"), stock_levels.c.product_id == bindparam("pid"))
    .values(on_hand=bindparam("new_on_hand"), reserved=bindparam("new_reserved"), updated_at=bindparam("now"))
)
_ADD_MOVEMENT = insert(stock_movements)
_ADD_RESERVATION = insert(reservations)
_ADD_RESERVATION_LINE = insert(reservation_lines)
# A reservation and its lines in one round trip (lines in product order).
_RESERVATION = (
    select(
        reservations,
        reservation_lines.c.product_id.label("line_product_id"),
        reservation_lines.c.quantity.label("line_quantity"),
        reservation_lines.c.shorted.label("line_shorted"),
    )
    .select_from(reservations.outerjoin(reservation_lines, reservation_lines.c.reservation_id == reservations.c.id))
    .where(reservations.c.tenant_id == bindparam("tenant_id"), reservations.c.id == bindparam("reservation_id"))
    .order_by(reservation_lines.c.product_id)
)
_CLOSE_RESERVATION = (
    update(reservations)
    .where(reservations.c.id == bindparam("reservation_id"))
    .values(status=bindparam("new_status"), closed_at=bindparam("now"))
)
_STALE_TOUCHING = (
    select(reservations.c.id)
    .where(
        reservations.c.tenant_id == bindparam("tenant_id"),
        reservations.c.store_id == bindparam("store_id"),
        reservations.c.status == ReservationStatus.ACTIVE.value,
        reservations.c.expires_at <= bindparam("now"),
        reservations.c.id.in_(
            select(reservation_lines.c.reservation_id).where(
                reservation_lines.c.store_id == bindparam("store_id"),
                reservation_lines.c.product_id.in_(bindparam("product_ids", expanding=True)),
            )
        ),
    )
    .order_by(reservations.c.expires_at, reservations.c.id)
)
_EXPIRED_UNSWEPT_IN_STORES = (
    select(reservations.c.store_id, reservation_lines.c.product_id, func.sum(reservation_lines.c.quantity))
    .join(reservations, reservation_lines.c.reservation_id == reservations.c.id)
    .where(
        reservations.c.tenant_id == bindparam("tenant_id"),
        reservations.c.store_id.in_(bindparam("store_ids", expanding=True)),
        reservations.c.status == ReservationStatus.ACTIVE.value,
        reservations.c.expires_at <= bindparam("now"),
    )
    .group_by(reservations.c.store_id, reservation_lines.c.product_id)
)


class InventoryRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- stock rows -------------------------------------------------------------------------------
    def ensure_rows(self, tenant_id: str, store_id: str, product_ids: Iterable[str], now: datetime) -> None:
        rows = [
            {
                "tenant_id": tenant_id,
                "store_id": store_id,
                "product_id": p,
                "on_hand": 0,
                "reserved": 0,
                "updated_at": now,
            }
            for p in product_ids
        ]
        if not rows:
            return
        dialect = self.conn.dialect.name
        statement: Any
        if dialect == "postgresql":
            statement = postgresql.insert(stock_levels).on_conflict_do_nothing()
        elif dialect == "sqlite":
            statement = sqlite.insert(stock_levels).on_conflict_do_nothing()
        else:  # pragma: no cover - we support the two above
            raise NotImplementedError(dialect)
        self.conn.execute(statement, rows)

    def lock_levels(self, tenant_id: str, store_id: str, product_ids: list[str]) -> dict[str, StockLevel]:
        """Row-lock the stock rows in product-id order (PostgreSQL); SQLite holds the write lock already."""
        if not product_ids:
            return {}
        rows = self.conn.execute(
            _LOCK_LEVELS, {"tenant_id": tenant_id, "store_id": store_id, "product_ids": sorted(product_ids)}
        )
        return {row.product_id: StockLevel(row.product_id, row.on_hand, row.reserved) for row in rows}

    def read_levels(self, tenant_id: str, store_id: str, product_ids: list[str] | None) -> dict[str, StockLevel]:
        if product_ids is None:
            rows = self.conn.execute(_READ_ALL_LEVELS, {"tenant_id": tenant_id, "store_id": store_id})
        elif not product_ids:
            return {}
        else:
            rows = self.conn.execute(
                _READ_LEVELS, {"tenant_id": tenant_id, "store_id": store_id, "product_ids": list(product_ids)}
            )
        return {row.product_id: StockLevel(row.product_id, row.on_hand, row.reserved) for row in rows}

    def levels_in_stores(
        self, tenant_id: str, store_ids: list[str], product_ids: list[str]
    ) -> dict[str, dict[str, StockLevel]]:
        """The stock rows of ``product_ids`` in each of ``store_ids``, in one read (store -> product -> level)."""
        found: dict[str, dict[str, StockLevel]] = {store_id: {} for store_id in store_ids}
        if not store_ids or not product_ids:
            return found
        rows = self.conn.execute(
            _LEVELS_IN_STORES, {"tenant_id": tenant_id, "store_ids": store_ids, "product_ids": product_ids}
        )
        for row in rows:
            found[row.store_id][row.product_id] = StockLevel(row.product_id, row.on_hand, row.reserved)
        return found

    def write_level(self, store_id: str, level: StockLevel, now: datetime) -> None:
        self.write_levels(store_id, [level], now)

    def write_levels(self, store_id: str, levels: list[StockLevel], now: datetime) -> None:
        """Absolute values for several rows in one round trip (an executemany)."""
        if not levels:
            return
        self.conn.execute(
            _WRITE_LEVEL,
            [
                {
                    "sid": store_id,
                    "pid": lv.product_id,
                    "new_on_hand": lv.on_hand,
                    "new_reserved": lv.reserved,
                    "now": now,
                }
                for lv in levels
            ],
        )

    def add_movements(
        self,
        tenant_id: str,
        store_id: str,
        deltas: list[tuple[str, int]],
        reason: MovementReason,
        reference: str | None,
        now: datetime,
    ) -> None:
        if not deltas:
            return
        self.conn.execute(
            _ADD_MOVEMENT,
            [
                {
                    "tenant_id": tenant_id,
                    "store_id": store_id,
                    "product_id": pid,
                    "delta": delta,
                    "reason": reason.value,
                    "reference": reference,
                    "at": now,
                }
                for pid, delta in deltas
            ],
        )

    def add_movement(
        self,
        tenant_id: str,
        store_id: str,
        product_id: str,
        delta: int,
        reason: MovementReason,
        reference: str | None,
        now: datetime,
    ) -> None:
        self.add_movements(tenant_id, store_id, [(product_id, delta)], reason, reference, now)

    def movement_totals(self, tenant_id: str, store_id: str) -> dict[str, int]:
        query = (
            select(stock_movements.c.product_id, func.sum(stock_movements.c.delta))
            .where(stock_movements.c.tenant_id == tenant_id, stock_movements.c.store_id == store_id)
            .group_by(stock_movements.c.product_id)
        )
        return {product_id: int(total) for product_id, total in self.conn.execute(query)}

    # -- reservations -----------------------------------------------------------------------------
    def add_reservation(self, reservation: Reservation) -> None:
        self.conn.execute(
            _ADD_RESERVATION,
            {
                "id": reservation.id,
                "tenant_id": reservation.tenant_id,
                "store_id": reservation.store_id,
                "owner_type": reservation.owner_type,
                "owner_id": reservation.owner_id,
                "status": reservation.status.value,
                "created_at": reservation.created_at,
                "expires_at": reservation.expires_at,
            },
        )
        if not reservation.lines:
            return
        self.conn.execute(
            _ADD_RESERVATION_LINE,
            [
                {
                    "reservation_id": reservation.id,
                    "product_id": line.product_id,
                    "store_id": reservation.store_id,
                    "quantity": line.quantity,
                    "requested": line.quantity,
                    "shorted": line.shorted,
                }
                for line in reservation.lines
            ],
        )

    def reservation(self, tenant_id: str, reservation_id: str) -> Reservation | None:
        rows = self.conn.execute(_RESERVATION, {"tenant_id": tenant_id, "reservation_id": reservation_id}).all()
        if not rows:
            return None
        row = rows[0]
        return Reservation(
            id=row.id,
            tenant_id=row.tenant_id,
            store_id=row.store_id,
            owner_type=row.owner_type,
            owner_id=row.owner_id,
            status=ReservationStatus(row.status),
            created_at=row.created_at,
            expires_at=row.expires_at,
            lines=[
                ReservationLine(r.line_product_id, r.line_quantity, r.line_shorted)
                for r in rows
                if r.line_product_id is not None
            ],
        )

    def close_reservation(self, reservation_id: str, status: ReservationStatus, now: datetime) -> None:
        self.conn.execute(
            _CLOSE_RESERVATION, {"reservation_id": reservation_id, "new_status": status.value, "now": now}
        )

    def set_expiry(self, reservation_id: str, expires_at: datetime | None) -> None:
        self.conn.execute(update(reservations).where(reservations.c.id == reservation_id).values(expires_at=expires_at))

    def stale_reservation_ids(
        self, tenant_id: str, store_id: str, product_ids: list[str] | None, now: datetime, limit: int | None = None
    ) -> list[str]:
        """Active reservations past their expiry (optionally only those touching ``product_ids``)."""
        if product_ids is not None and limit is None:
            if not product_ids:
                return []
            params = {"tenant_id": tenant_id, "store_id": store_id, "now": now, "product_ids": list(product_ids)}
            return list(self.conn.execute(_STALE_TOUCHING, params).scalars())
        query = select(reservations.c.id).where(
            reservations.c.tenant_id == tenant_id,
            reservations.c.store_id == store_id,
            reservations.c.status == ReservationStatus.ACTIVE.value,
            reservations.c.expires_at <= now,
        )
        if product_ids is not None:
            query = query.where(
                reservations.c.id.in_(
                    select(reservation_lines.c.reservation_id).where(
                        reservation_lines.c.store_id == store_id, reservation_lines.c.product_id.in_(product_ids)
                    )
                )
            )
        query = query.order_by(reservations.c.expires_at, reservations.c.id)
        if limit is not None:
            query = query.limit(limit)
        return list(self.conn.execute(query).scalars())

    def stale_stores(self, now: datetime, limit: int, tenant_id: str | None) -> list[tuple[str, str]]:
        query = (
            select(reservations.c.tenant_id, reservations.c.store_id)
            .where(reservations.c.status == ReservationStatus.ACTIVE.value, reservations.c.expires_at <= now)
            .distinct()
            .limit(limit)
        )
        if tenant_id is not None:
            query = query.where(reservations.c.tenant_id == tenant_id)
        return [(row.tenant_id, row.store_id) for row in self.conn.execute(query)]

    def product_ids_of(self, reservation_ids: list[str]) -> set[str]:
        if not reservation_ids:
            return set()
        query = select(reservation_lines.c.product_id).where(reservation_lines.c.reservation_id.in_(reservation_ids))
        return set(self.conn.execute(query).scalars())

    def held_lines(self, store_id: str, product_id: str) -> list[HeldLine]:
        query = (
            select(reservations.c.id, reservations.c.created_at, reservation_lines.c.quantity)
            .join(reservation_lines, reservation_lines.c.reservation_id == reservations.c.id)
            .where(
                reservation_lines.c.store_id == store_id,
                reservation_lines.c.product_id == product_id,
                reservations.c.status == ReservationStatus.ACTIVE.value,
                reservation_lines.c.quantity > 0,
            )
        )
        return [HeldLine(row.id, row.created_at, row.quantity) for row in self.conn.execute(query)]

    def cut_line(self, reservation_id: str, product_id: str, take: int) -> None:
        self.conn.execute(
            update(reservation_lines)
            .where(
                and_(reservation_lines.c.reservation_id == reservation_id, reservation_lines.c.product_id == product_id)
            )
            .values(quantity=reservation_lines.c.quantity - take, shorted=reservation_lines.c.shorted + take)
        )

    def expired_unswept(self, tenant_id: str, store_id: str, now: datetime) -> dict[str, int]:
        """Per product, what expired-but-not-yet-swept reservations still count in ``reserved``."""
        return self.expired_unswept_in_stores(tenant_id, [store_id], now)[store_id]

    def expired_unswept_in_stores(
        self, tenant_id: str, store_ids: list[str], now: datetime
    ) -> dict[str, dict[str, int]]:
        """:meth:`expired_unswept` for several stores in one read (store -> product -> quantity)."""
        found: dict[str, dict[str, int]] = {store_id: {} for store_id in store_ids}
        if not store_ids:
            return found
        rows = self.conn.execute(
            _EXPIRED_UNSWEPT_IN_STORES, {"tenant_id": tenant_id, "store_ids": store_ids, "now": now}
        )
        for store_id, product_id, total in rows:
            found[store_id][product_id] = int(total)
        return found

    def active_reserved_totals(self, tenant_id: str, store_id: str) -> dict[str, int]:
        query = (
            select(reservation_lines.c.product_id, func.sum(reservation_lines.c.quantity))
            .join(reservations, reservation_lines.c.reservation_id == reservations.c.id)
            .where(
                reservations.c.tenant_id == tenant_id,
                reservations.c.store_id == store_id,
                reservations.c.status == ReservationStatus.ACTIVE.value,
            )
            .group_by(reservation_lines.c.product_id)
        )
        return {product_id: int(total) for product_id, total in self.conn.execute(query)}
