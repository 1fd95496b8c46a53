"""Fulfilment storage: picker shifts, batches and per-order picking documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, insert, select, update

from newretail.core.errors import NotFound
from newretail.fulfilment.model import OrderPicking, PickList
from newretail.fulfilment.tables import pick_batches, picker_shifts, pickings

_PICKING = TypeAdapter(OrderPicking)
_PICK_LIST = TypeAdapter(PickList)


class PickingNotFound(NotFound):
    code = "picking_not_found"


class FulfilmentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- shifts -----------------------------------------------------------------------------------
    def open_shift(self, tenant_id: str, store_id: str, picker_id: str) -> Any:
        return self.conn.execute(
            select(picker_shifts).where(
                picker_shifts.c.tenant_id == tenant_id,
                picker_shifts.c.store_id == store_id,
                picker_shifts.c.picker_id == picker_id,
                picker_shifts.c.ended_at.is_(None),
            )
        ).first()

    def add_shift(self, **values: Any) -> None:
        self.conn.execute(insert(picker_shifts).values(**values))

    def update_shift(self, shift_id: str, **values: Any) -> None:
        self.conn.execute(update(picker_shifts).where(picker_shifts.c.id == shift_id).values(**values))

    def picker_free_times(self, tenant_id: str, store_id: str, now: datetime) -> list[datetime]:
        rows = self.conn.execute(
            select(picker_shifts.c.busy_until).where(
                picker_shifts.c.tenant_id == tenant_id,
                picker_shifts.c.store_id == store_id,
                picker_shifts.c.ended_at.is_(None),
            )
        ).scalars()
        return [max(busy_until or now, now) for busy_until in rows]

    def open_shifts(self, tenant_id: str, store_id: str) -> list[Any]:
        return list(
            self.conn.execute(
                select(picker_shifts)
                .where(
                    picker_shifts.c.tenant_id == tenant_id,
                    picker_shifts.c.store_id == store_id,
                    picker_shifts.c.ended_at.is_(None),
                )
                .order_by(picker_shifts.c.started_at, picker_shifts.c.id)
            )
        )

    # -- batches ----------------------------------------------------------------------------------
    def add_batch(
        self, *, batch_id: str, tenant_id: str, store_id: str, picker_id: str, pick_list: PickList, now: datetime
    ) -> None:
        self.conn.execute(
            insert(pick_batches).values(
                id=batch_id,
                tenant_id=tenant_id,
                store_id=store_id,
                picker_id=picker_id,
                status="picking",
                started_at=now,
                pick_list=_PICK_LIST.dump_python(pick_list, mode="json"),
            )
        )

    def batch(self, tenant_id: str, batch_id: str) -> Any:
        row = self.conn.execute(
            select(pick_batches).where(pick_batches.c.tenant_id == tenant_id, pick_batches.c.id == batch_id)
        ).first()
        if row is None:
            raise NotFound("batch not found", batch_id=batch_id)
        return row

    def batch_pick_list(self, row: Any) -> PickList:
        return _PICK_LIST.validate_python(row.pick_list)

    def finish_batch(self, batch_id: str, now: datetime) -> None:
        self.conn.execute(
            update(pick_batches).where(pick_batches.c.id == batch_id).values(status="done", finished_at=now)
        )

    def open_pickings_in_batch(self, batch_id: str) -> int:
        rows = self.conn.execute(
            select(pickings.c.order_id).where(pickings.c.batch_id == batch_id, pickings.c.status == "open")
        )
        return len(rows.all())

    # -- pickings ---------------------------------------------------------------------------------
    def add_picking(self, *, tenant_id: str, store_id: str, batch_id: str, picking: OrderPicking) -> None:
        self.conn.execute(
            insert(pickings).values(
                order_id=picking.order_id,
                tenant_id=tenant_id,
                store_id=store_id,
                batch_id=batch_id,
                status="open",
                started_at=picking.started_at,
                document=_PICKING.dump_python(picking, mode="json"),
            )
        )

    def picking(self, tenant_id: str, order_id: str, *, for_update: bool = False) -> tuple[OrderPicking, Any]:
        query = select(pickings).where(pickings.c.tenant_id == tenant_id, pickings.c.order_id == order_id)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            raise PickingNotFound("this order is not being picked", order_id=order_id)
        return _PICKING.validate_python(row.document), row

    def save_picking(self, picking: OrderPicking, status: str = "open") -> None:
        self.conn.execute(
            update(pickings)
            .where(pickings.c.order_id == picking.order_id)
            .values(document=_PICKING.dump_python(picking, mode="json"), status=status, finished_at=picking.finished_at)
        )

    def open_pickings_with_substitutions(self, tenant_id: str | None) -> list[tuple[str, str]]:
        query = select(pickings.c.tenant_id, pickings.c.order_id).where(pickings.c.status == "open")
        if tenant_id is not None:
            query = query.where(pickings.c.tenant_id == tenant_id)
        return [(row.tenant_id, row.order_id) for row in self.conn.execute(query)]
