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
        query = (
            select(stock_levels.c.product_id, stock_levels.c.on_hand, stock_levels.c.reserved)
            .where(
                stock_levels.c.tenant_id == tenant_id,
                stock_levels.c.store_id == store_id,
                stock_levels.c.product_id.in_(sorted(product_ids)),
            )
            .order_by(stock_levels.c.product_id)
            .with_for_update()
        )
        return {
            row.product_id: StockLevel(row.product_id, row.on_hand, row.reserved) for row in self.conn.execute(query)
        }

    def read_levels(self, tenant_id: str, store_id: str, product_ids: list[str] | None) -> dict[str, StockLevel]:
        query = select(stock_levels.c.product_id, stock_levels.c.on_hand, stock_levels.c.reserved).where(
            stock_levels.c.tenant_id == tenant_id, stock_levels.c.store_id == store_id
        )
        if product_ids is not None:
            query = query.where(stock_levels.c.product_id.in_(product_ids))
        return {
            row.product_id: StockLevel(row.product_id, row.on_hand, row.reserved) for row in self.conn.execute(query)
        }

    def write_level(self, store_id: str, level: StockLevel, now: datetime) -> None:
        self.conn.execute(
            update(stock_levels)
            .where(stock_levels.c.store_id == store_id, stock_levels.c.product_id == level.product_id)
            .values(on_hand=level.on_hand, reserved=level.reserved, updated_at=now)
        )

    def write_levels(self, store_id: str, levels: list[StockLevel], now: datetime) -> None:
        if not levels:
            return
        self.conn.execute(
            update(stock_levels)
            .where(stock_levels.c.store_id == store_id, stock_levels.c.product_id == bindparam("pid"))
            .values(on_hand=bindparam("new_on_hand"), reserved=bindparam("new_reserved"), updated_at=now),
            [{"pid": lv.product_id, "new_on_hand": lv.on_hand, "new_reserved": lv.reserved} for lv in levels],
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
        self.conn.execute(
            insert(stock_movements),
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
        self.conn.execute(
            insert(stock_movements).values(
                tenant_id=tenant_id,
                store_id=store_id,
                product_id=product_id,
                delta=delta,
                reason=reason.value,
                reference=reference,
                at=now,
            )
        )

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
            insert(reservations).values(
                id=reservation.id,
                tenant_id=reservation.tenant_id,
                store_id=reservation.store_id,
                owner_type=reservation.owner_type,
                owner_id=reservation.owner_id,
                status=reservation.status.value,
                created_at=reservation.created_at,
                expires_at=reservation.expires_at,
            )
        )
        self.conn.execute(
            insert(reservation_lines),
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
        row = self.conn.execute(
            select(reservations).where(reservations.c.tenant_id == tenant_id, reservations.c.id == reservation_id)
        ).first()
        if row is None:
            return None
        lines = self.conn.execute(
            select(reservation_lines.c.product_id, reservation_lines.c.quantity, reservation_lines.c.shorted)
            .where(reservation_lines.c.reservation_id == reservation_id)
            .order_by(reservation_lines.c.product_id)
        )
        return Reservation(
            id=row.id,
            tenant_id=row.tenant_id,
            store_id=row.store_id,
            owner_type=row.owner_type,
            owner_id=row.owner_id,
            status=ReservationStatus(row.status),
            created_at=row.created_at,
            expires_at=row.expires_at,
            lines=[ReservationLine(p, q, s) for p, q, s in lines],
        )

    def close_reservation(self, reservation_id: str, status: ReservationStatus, now: datetime) -> None:
        self.conn.execute(
            update(reservations).where(reservations.c.id == reservation_id).values(status=status.value, closed_at=now)
        )

    def set_expiry(self, reservation_id: str, expires_at: datetime | None) -> None:
        self.conn.execute(update(reservations).where(reservations.c.id == reservation_id).values(expires_at=expires_at))

    def stale_reservation_ids(
        self, tenant_id: str, store_id: str, product_ids: list[str] | None, now: datetime, limit: int | None = None
    ) -> list[str]:
        """Active reservations past their expiry (optionally only those touching ``product_ids``)."""
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
        query = (
            select(reservation_lines.c.product_id, func.sum(reservation_lines.c.quantity))
            .join(reservations, reservation_lines.c.reservation_id == reservations.c.id)
            .where(
                reservations.c.tenant_id == tenant_id,
                reservations.c.store_id == store_id,
                reservations.c.status == ReservationStatus.ACTIVE.value,
                reservations.c.expires_at <= now,
            )
            .group_by(reservation_lines.c.product_id)
        )
        return {product_id: int(total) for product_id, total in self.conn.execute(query)}

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
