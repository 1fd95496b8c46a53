"""Fulfilment storage: picker shifts, batches and per-order picking documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, bindparam, func, insert, select, type_coerce, update

from newretail.core.db import JSON_TEXT, document_text, load_document
from newretail.core.errors import NotFound
from newretail.fulfilment.model import OrderPicking, PickList
from newretail.fulfilment.tables import pick_batches, picker_shifts, pickings

_PICKING = TypeAdapter(OrderPicking)
_PICK_LIST = TypeAdapter(PickList)

# Statements run for every scan, batch and tote are built once: building and hashing a statement
# per call costs several times what the database takes to run it.
_OPEN_SHIFT = select(picker_shifts).where(
    picker_shifts.c.tenant_id == bindparam("tenant_id"),
    picker_shifts.c.store_id == bindparam("store_id"),
    picker_shifts.c.picker_id == bindparam("picker_id"),
    picker_shifts.c.ended_at.is_(None),
)
_ADD_SHIFT = insert(picker_shifts)
_UPDATE_SHIFT = update(picker_shifts).where(picker_shifts.c.id == bindparam("shift_key"))  # SET from the values
_BUSY_UNTIL = select(picker_shifts.c.busy_until).where(
    picker_shifts.c.tenant_id == bindparam("tenant_id"),
    picker_shifts.c.store_id == bindparam("store_id"),
    picker_shifts.c.ended_at.is_(None),
)
_FREE_BATCH_SHIFT = (
    update(picker_shifts)
    .where(
        picker_shifts.c.tenant_id == bindparam("b_tenant_id"),
        picker_shifts.c.store_id == bindparam("b_store_id"),
        picker_shifts.c.picker_id == bindparam("b_picker_id"),
        picker_shifts.c.batch_id == bindparam("b_batch_id"),
        picker_shifts.c.ended_at.is_(None),
    )
    .values(batch_id=None, busy_until=None)
)
# Documents travel as JSON text that pydantic parses and renders itself (core.db.JSONText).
_ADD_BATCH = insert(pick_batches).values(pick_list=bindparam("b_pick_list", type_=JSON_TEXT))
_BATCH = select(
    *(c for c in pick_batches.c if c.name != "pick_list"),
    type_coerce(pick_batches.c.pick_list, JSON_TEXT).label("pick_list"),
).where(pick_batches.c.tenant_id == bindparam("tenant_id"), pick_batches.c.id == bindparam("batch_id"))
_FINISH_BATCH = (
    update(pick_batches)
    .where(pick_batches.c.id == bindparam("b_batch_id"))
    .values(status="done", finished_at=bindparam("b_now"))
)
# Whose batch it is and how many of its totes are still open, in one read.
_BATCH_PROGRESS = select(
    pick_batches.c.picker_id,
    select(func.count())
    .where(pickings.c.batch_id == pick_batches.c.id, pickings.c.status == "open")
    .scalar_subquery()
    .label("open_pickings"),
).where(pick_batches.c.tenant_id == bindparam("tenant_id"), pick_batches.c.id == bindparam("batch_id"))
_ADD_PICKING = insert(pickings).values(document=bindparam("b_document", type_=JSON_TEXT))
_PICKING_ROW = select(
    *(c for c in pickings.c if c.name != "document"), type_coerce(pickings.c.document, JSON_TEXT).label("document")
).where(pickings.c.tenant_id == bindparam("tenant_id"), pickings.c.order_id == bindparam("order_id"))
_PICKING_ROW_FOR_UPDATE = _PICKING_ROW.with_for_update()
_SAVE_PICKING = (
    update(pickings)
    .where(pickings.c.order_id == bindparam("b_order_id"))
    .values(
        document=bindparam("b_document", type_=JSON_TEXT),
        status=bindparam("b_status"),
        finished_at=bindparam("b_finished_at"),
    )
)


class PickingNotFound(NotFound):
    code = "picking_not_found"


class FulfilmentRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- shifts -----------------------------------------------------------------------------------
    def open_shift(self, tenant_id: str, store_id: str, picker_id: str) -> Any:
        params = {"tenant_id": tenant_id, "store_id": store_id, "picker_id": picker_id}
        return self.conn.execute(_OPEN_SHIFT, params).first()

    def add_shift(self, **values: Any) -> None:
        self.conn.execute(_ADD_SHIFT, values)

    def update_shift(self, shift_id: str, **values: Any) -> None:
        self.conn.execute(_UPDATE_SHIFT, {**values, "shift_key": shift_id})

    def free_shift_of_batch(self, tenant_id: str, store_id: str, picker_id: str, batch_id: str) -> None:
        """The picker's open shift, if it is still on this batch, is free again."""
        self.conn.execute(
            _FREE_BATCH_SHIFT,
            {"b_tenant_id": tenant_id, "b_store_id": store_id, "b_picker_id": picker_id, "b_batch_id": batch_id},
        )

    def picker_free_times(self, tenant_id: str, store_id: str, now: datetime) -> list[datetime]:
        rows = self.conn.execute(_BUSY_UNTIL, {"tenant_id": tenant_id, "store_id": store_id}).scalars()
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
            _ADD_BATCH,
            {
                "id": batch_id,
                "tenant_id": tenant_id,
                "store_id": store_id,
                "picker_id": picker_id,
                "status": "picking",
                "started_at": now,
                "b_pick_list": document_text(_PICK_LIST, pick_list),
            },
        )

    def batch(self, tenant_id: str, batch_id: str) -> Any:
        row = self.conn.execute(_BATCH, {"tenant_id": tenant_id, "batch_id": batch_id}).first()
        if row is None:
            raise NotFound("batch not found", batch_id=batch_id)
        return row

    def batch_pick_list(self, row: Any) -> PickList:
        return load_document(_PICK_LIST, row.pick_list)

    def finish_batch(self, batch_id: str, now: datetime) -> None:
        self.conn.execute(_FINISH_BATCH, {"b_batch_id": batch_id, "b_now": now})

    def batch_progress(self, tenant_id: str, batch_id: str) -> tuple[str, int]:
        """(picker id, totes still open) of a batch."""
        row = self.conn.execute(_BATCH_PROGRESS, {"tenant_id": tenant_id, "batch_id": batch_id}).first()
        if row is None:
            raise NotFound("batch not found", batch_id=batch_id)
        return row.picker_id, int(row.open_pickings)

    # -- pickings ---------------------------------------------------------------------------------
    def add_picking(self, *, tenant_id: str, store_id: str, batch_id: str, picking: OrderPicking) -> None:
        self.conn.execute(
            _ADD_PICKING,
            {
                "order_id": picking.order_id,
                "tenant_id": tenant_id,
                "store_id": store_id,
                "batch_id": batch_id,
                "status": "open",
                "started_at": picking.started_at,
                "b_document": document_text(_PICKING, picking),
            },
        )

    def picking(self, tenant_id: str, order_id: str, *, for_update: bool = False) -> tuple[OrderPicking, Any]:
        query = _PICKING_ROW_FOR_UPDATE if for_update else _PICKING_ROW
        row = self.conn.execute(query, {"tenant_id": tenant_id, "order_id": order_id}).first()
        if row is None:
            raise PickingNotFound("this order is not being picked", order_id=order_id)
        return load_document(_PICKING, row.document), row

    def save_picking(self, picking: OrderPicking, status: str = "open") -> None:
        self.conn.execute(
            _SAVE_PICKING,
            {
                "b_order_id": picking.order_id,
                "b_document": document_text(_PICKING, picking),
                "b_status": status,
                "b_finished_at": picking.finished_at,
            },
        )

    def open_pickings_with_substitutions(self, tenant_id: str | None) -> list[tuple[str, str]]:
        query = select(pickings.c.tenant_id, pickings.c.order_id).where(pickings.c.status == "open")
        if tenant_id is not None:
            query = query.where(pickings.c.tenant_id == tenant_id)
        return [(row.tenant_id, row.order_id) for row in self.conn.execute(query)]
