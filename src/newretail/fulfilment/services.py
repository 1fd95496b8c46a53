"""Fulfilment use cases: picker shifts, batch picking, scanning, substitutions, packing.

Packing is one transaction across contexts: the picking document closes, inventory commits what
was actually picked (substitutes included), and the order records its final lines and total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from newretail.catalog import services as catalog
from newretail.core.errors import Conflict, NotFound, ValidationFailed
from newretail.core.ids import new_id
from newretail.core.uow import UnitOfWork
from newretail.fulfilment.batching import ReadyOrder, plan_batches
from newretail.fulfilment.events import BatchStarted, OrderPicked, SubstituteProposed
from newretail.fulfilment.model import (
    OrderPicking,
    OrderToPick,
    PickList,
    ProductPlacement,
    build_pick_list,
)
from newretail.fulfilment.repository import FulfilmentRepository
from newretail.fulfilment.substitution import SubstituteCandidate, SubstitutionPreference
from newretail.inventory import services as inventory
from newretail.ordering.events import OrderCancelled, OrderPacked, OrderStatusChanged
from newretail.ordering.model import FulfilmentMethod, NothingPicked, Order, OrderStatus
from newretail.ordering.repository import OrderingRepository
from newretail.tenancy.repository import TenancyRepository


class NotOnShift(Conflict):
    code = "not_on_shift"


class AlreadyPicking(Conflict):
    code = "already_picking"


class NothingToPick(Conflict):
    code = "nothing_to_pick"


# -- shifts ---------------------------------------------------------------------------------------
def start_shift(uow: UnitOfWork, *, tenant_id: str, store_id: str, picker_id: str) -> str:
    with uow:
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        repo = FulfilmentRepository(uow.conn)
        shift = repo.open_shift(tenant_id, store_id, picker_id)
        if shift is not None:
            return str(shift.id)
        shift_id = new_id()
        repo.add_shift(
            id=shift_id, tenant_id=tenant_id, store_id=store_id, picker_id=picker_id, started_at=uow.clock.now()
        )
        uow.commit()
    return shift_id


def end_shift(uow: UnitOfWork, *, tenant_id: str, store_id: str, picker_id: str) -> None:
    with uow:
        repo = FulfilmentRepository(uow.conn)
        shift = repo.open_shift(tenant_id, store_id, picker_id)
        if shift is None:
            raise NotOnShift("this picker is not on shift here")
        if shift.batch_id is not None:
            raise AlreadyPicking("finish the current batch before ending the shift", batch_id=shift.batch_id)
        repo.update_shift(shift.id, ended_at=uow.clock.now())
        uow.commit()


# -- the pick queue and batches -------------------------------------------------------------------
def pick_queue(uow: UnitOfWork, *, tenant_id: str, store_id: str) -> list[dict[str, Any]]:
    """Orders waiting to be picked, oldest first, with when they are promised."""
    with uow:
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        rows = OrderingRepository(uow.conn).order_rows_in_status(tenant_id, store_id, [OrderStatus.PLACED])
    return [
        {
            "order_id": r.id,
            "item_count": r.item_count,
            "placed_at": r.created_at.isoformat(),
            "promised_by": r.promised_by.isoformat(),
            "method": r.method,
        }
        for r in rows
    ]


@dataclass(frozen=True)
class BatchView:
    batch_id: str
    picker_id: str
    order_ids: list[str]
    pick_list: PickList


def start_batch(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, picker_id: str, order_ids: list[str] | None = None
) -> BatchView:
    """Give a picker the next batch (oldest orders first, within the store's batch limits), or the
    orders named. Every order in it moves to ``picking``; the picker's walk comes back."""
    with uow:
        now = uow.clock.now()
        frepo = FulfilmentRepository(uow.conn)
        orepo = OrderingRepository(uow.conn)
        shift = frepo.open_shift(tenant_id, store_id, picker_id)
        if shift is None:
            raise NotOnShift("start a shift before picking")
        if shift.batch_id is not None:
            raise AlreadyPicking("this picker is already picking a batch", batch_id=shift.batch_id)
        ops = orepo.store_operations(store_id)
        if order_ids is None:
            waiting = orepo.order_rows_in_status(tenant_id, store_id, [OrderStatus.PLACED])
            ready = [ReadyOrder(r.id, r.item_count, r.created_at) for r in waiting]
            batches = plan_batches(ready, ops.batching)
            if not batches:
                raise NothingToPick("no orders are waiting to be picked")
            order_ids = list(batches[0].order_ids)
        if not order_ids:
            raise ValidationFailed("name at least one order", field="order_ids")
        locked = [orepo.order_with_row(tenant_id, oid, for_update=True) for oid in sorted(set(order_ids))]
        orders = [order for order, _row in locked]
        preferences = {order.id: SubstitutionPreference(row.substitution_preference) for order, row in locked}
        for order in orders:
            if order.store_id != store_id:
                raise NotFound("order not found at this store", order_id=order.id)
            order.start_picking(now)
        placements = _placements(uow, tenant_id, store_id, orders)
        to_pick = [OrderToPick.from_order(o) for o in sorted(orders, key=lambda o: (o.created_at, o.id))]
        pick_list = build_pick_list(to_pick, placements)
        batch_id = new_id()
        frepo.add_batch(
            batch_id=batch_id, tenant_id=tenant_id, store_id=store_id, picker_id=picker_id, pick_list=pick_list, now=now
        )
        for order in orders:
            picking = OrderPicking.start(OrderToPick.from_order(order), placements, preferences[order.id], now)
            frepo.add_picking(tenant_id=tenant_id, store_id=store_id, batch_id=batch_id, picking=picking)
            orepo.save_order(order)
            uow.emit(
                OrderStatusChanged(tenant_id=tenant_id, order_id=order.id, store_id=store_id, status=order.status.value)
            )
        pick_seconds = sum(ops.promise.pick.pick_seconds(o.item_count) for o in orders)
        frepo.update_shift(shift.id, batch_id=batch_id, busy_until=now + timedelta(seconds=pick_seconds))
        uow.emit(
            BatchStarted(
                tenant_id=tenant_id,
                batch_id=batch_id,
                store_id=store_id,
                picker_id=picker_id,
                order_ids=[o.id for o in orders],
            )
        )
        uow.commit()
    return BatchView(batch_id, picker_id, [o.id for o in orders], pick_list)


def _placements(uow: UnitOfWork, tenant_id: str, store_id: str, orders: list[Order]) -> dict[str, ProductPlacement]:
    product_ids = sorted({line.product_id for order in orders for line in order.lines})
    found = catalog.products_in_store(uow, tenant_id, store_id, product_ids)  # products and shelves in one read
    placements = {}
    for pid in product_ids:
        product, shelf = found[pid].product, found[pid].location
        if shelf is not None:
            placements[pid] = ProductPlacement(pid, product.gtin, shelf, product.temperature_zone)
    return placements


# -- at the shelf ---------------------------------------------------------------------------------
def scan(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    order_id: str,
    line_id: str,
    barcode: str,
    units: int | None = None,
    grams: int | None = None,
) -> OrderPicking:
    with uow:
        picking = _locked_picking(uow, tenant_id, order_id)
        picking.scan(line_id, barcode, uow.clock.now(), units=units, grams=grams)
        FulfilmentRepository(uow.conn).save_picking(picking)
        uow.commit()
    return picking


def report_short(uow: UnitOfWork, *, tenant_id: str, order_id: str, line_id: str) -> OrderPicking:
    with uow:
        picking = _locked_picking(uow, tenant_id, order_id)
        picking.report_short(line_id, uow.clock.now())
        FulfilmentRepository(uow.conn).save_picking(picking)
        uow.commit()
    return picking


def suggest_substitutes(
    uow: UnitOfWork, *, tenant_id: str, order_id: str, line_id: str, limit: int = 5
) -> list[SubstituteCandidate]:
    """Same category and selling unit, closest price first, and in stock here right now."""
    with uow:
        order = OrderingRepository(uow.conn).order(tenant_id, order_id)
        picking, _row = FulfilmentRepository(uow.conn).picking(tenant_id, order_id)
        original = picking.line(line_id).line
        ranked = catalog.substitute_candidates(uow, tenant_id, order.store_id, original.product_id, limit=20)
        stock = inventory.availability(uow, tenant_id, order.store_id, [c.product.id for c in ranked])
    return [
        SubstituteCandidate(
            c.product.id, c.product.name, c.product.gtin, c.product.category, c.product.sold_by, c.price, in_stock=True
        )
        for c in ranked
        if stock[c.product.id].available > 0
    ][:limit]


def propose_substitute(
    uow: UnitOfWork, *, tenant_id: str, order_id: str, line_id: str, product_id: str
) -> OrderPicking:
    with uow:
        order = OrderingRepository(uow.conn).order(tenant_id, order_id)
        picking = _locked_picking(uow, tenant_id, order_id)
        product = catalog.get_product(uow, tenant_id, product_id)
        price = catalog.price_lines(uow, tenant_id, order.store_id, [product_id]).get(product_id)
        if price is None:
            raise ValidationFailed("the substitute is not sold in this store", field="product_id")
        in_stock = inventory.availability(uow, tenant_id, order.store_id, [product_id])[product_id].available > 0
        ops = OrderingRepository(uow.conn).store_operations(order.store_id)
        candidate = SubstituteCandidate(
            product.id, product.name, product.gtin, product.category, product.sold_by, price, in_stock=in_stock
        )
        substitution = picking.propose_substitute(
            line_id, candidate, uow.clock.now(), timedelta(minutes=ops.substitution_response_minutes)
        )
        FulfilmentRepository(uow.conn).save_picking(picking)
        uow.emit(
            SubstituteProposed(
                tenant_id=tenant_id,
                order_id=order_id,
                order_line_id=line_id,
                customer_id=order.customer_id,
                substitute_product_id=product.id,
                substitute_name=product.name,
                respond_by=substitution.respond_by.isoformat(),
            )
        )
        uow.commit()
    return picking


def answer_substitution(
    uow: UnitOfWork, *, tenant_id: str, customer_id: str, order_id: str, line_id: str, approve: bool
) -> OrderPicking:
    with uow:
        order = OrderingRepository(uow.conn).order(tenant_id, order_id)
        if order.customer_id != customer_id:
            raise NotFound("order not found", order_id=order_id)
        picking = _locked_picking(uow, tenant_id, order_id)
        if approve:
            picking.approve_substitute(line_id, uow.clock.now())
        else:
            picking.reject_substitute(line_id, uow.clock.now())
        FulfilmentRepository(uow.conn).save_picking(picking)
        uow.commit()
    return picking


def resolve_overdue_substitutions(uow: UnitOfWork, *, tenant_id: str | None = None) -> int:
    """The periodic job: apply the customer's standing preference where they did not answer."""
    with uow:
        open_ones = FulfilmentRepository(uow.conn).open_pickings_with_substitutions(tenant_id)
    resolved = 0
    for owner, order_id in open_ones:
        with uow:
            picking = _locked_picking(uow, owner, order_id)
            lines = picking.resolve_overdue_substitutions(uow.clock.now())
            if lines:
                FulfilmentRepository(uow.conn).save_picking(picking)
                uow.commit()
                resolved += len(lines)
    return resolved


def _locked_picking(uow: UnitOfWork, tenant_id: str, order_id: str) -> OrderPicking:
    return _locked_picking_row(uow, tenant_id, order_id)[0]


def _locked_picking_row(uow: UnitOfWork, tenant_id: str, order_id: str) -> tuple[OrderPicking, Any]:
    picking, row = FulfilmentRepository(uow.conn).picking(tenant_id, order_id, for_update=True)
    if row.status != "open":
        raise Conflict(f"picking of this order is {row.status}", order_id=order_id)
    return picking, row


# -- packing --------------------------------------------------------------------------------------
def pack(uow: UnitOfWork, *, tenant_id: str, order_id: str, picker_id: str | None = None) -> Order:
    """Close the order's tote: commit what was picked, price the final lines, hand it on.

    If nothing at all could be picked the order is cancelled by the store and its stock released.
    """
    with uow:
        now = uow.clock.now()
        orepo = OrderingRepository(uow.conn)
        frepo = FulfilmentRepository(uow.conn)
        order, row = orepo.order_with_row(tenant_id, order_id, for_update=True)
        picking, picking_row = _locked_picking_row(uow, tenant_id, order_id)
        batch_id = picking_row.batch_id
        try:
            result = picking.pack(now)
        except NothingPicked:
            picking.abandon(now)
            order.cancel_by_store("nothing could be picked", now)
            inventory.release_within(uow, tenant_id=tenant_id, reservation_id=row.reservation_id)
            frepo.save_picking(picking, status="abandoned")
            orepo.save_order(order)
            uow.emit(
                OrderCancelled(
                    tenant_id=tenant_id, order_id=order_id, store_id=order.store_id, reason="nothing could be picked"
                )
            )
            _finish_batch_if_done(frepo, tenant_id, order.store_id, batch_id, now)
            uow.commit()
            return order
        inventory.commit_within(
            uow,
            tenant_id=tenant_id,
            reservation_id=row.reservation_id,
            picked={c.product_id: c.quantity for c in result.commits},
            reference=order_id,
        )
        order.record_packed(result.final_lines, now)
        if order.method is FulfilmentMethod.COLLECTION:
            order.mark_ready_for_collection(now)
        frepo.save_picking(picking, status="packed")
        orepo.save_order(order)
        uow.emit(
            OrderPicked(
                tenant_id=tenant_id,
                order_id=order_id,
                store_id=order.store_id,
                picker_id=picker_id or "",
                pick_started_at=result.pick_started_at.isoformat(),
                packed_at=now.isoformat(),
                outcome=result.outcome.value,
            )
        )
        final_total = order.final_total
        assert final_total is not None
        uow.emit(
            OrderPacked(
                tenant_id=tenant_id,
                order_id=order_id,
                store_id=order.store_id,
                method=order.method.value,
                final_total_minor=final_total.amount,
                estimated_total_minor=order.estimated_total.amount,
                currency=order.currency,
                partially_fulfilled=order.is_partially_fulfilled,
            )
        )
        _finish_batch_if_done(frepo, tenant_id, order.store_id, batch_id, now)
        uow.commit()
    return order


def _finish_batch_if_done(frepo: FulfilmentRepository, tenant_id: str, store_id: str, batch_id: str, now: Any) -> None:
    picker_id, still_open = frepo.batch_progress(tenant_id, batch_id)
    if still_open:
        return
    frepo.finish_batch(batch_id, now)
    # The picker's open shift, if it is still on this batch, is free again (one conditional update).
    frepo.free_shift_of_batch(tenant_id, store_id, picker_id, batch_id)


def batch_view(uow: UnitOfWork, *, tenant_id: str, batch_id: str) -> BatchView:
    with uow:
        frepo = FulfilmentRepository(uow.conn)
        row = frepo.batch(tenant_id, batch_id)
        pick_list = frepo.batch_pick_list(row)
    return BatchView(row.id, row.picker_id, [t.order_id for t in pick_list.totes], pick_list)


@dataclass(frozen=True)
class PickerStatus:
    on_shift: bool
    batch_id: str | None  # the batch this picker is picking now


def picker_status(uow: UnitOfWork, *, tenant_id: str, store_id: str, picker_id: str) -> PickerStatus:
    with uow:
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        shift = FulfilmentRepository(uow.conn).open_shift(tenant_id, store_id, picker_id)
    if shift is None:
        return PickerStatus(on_shift=False, batch_id=None)
    return PickerStatus(on_shift=True, batch_id=shift.batch_id)


@dataclass(frozen=True)
class PickersOnShift:
    on_shift: int
    picking: int  # of those, how many are in a batch now


def pickers_on_shift(uow: UnitOfWork, *, tenant_id: str, store_id: str) -> PickersOnShift:
    with uow:
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        shifts = FulfilmentRepository(uow.conn).open_shifts(tenant_id, store_id)
    return PickersOnShift(on_shift=len(shifts), picking=sum(1 for s in shifts if s.batch_id is not None))


@dataclass(frozen=True)
class PickingProgress:
    picking: OrderPicking
    status: str  # open | packed | abandoned


def picking_progress(uow: UnitOfWork, *, tenant_id: str, order_ids: list[str]) -> dict[str, PickingProgress]:
    """Each named order's picking document and whether its tote is still open."""
    with uow:
        repo = FulfilmentRepository(uow.conn)
        found = {}
        for order_id in order_ids:
            picking, row = repo.picking(tenant_id, order_id)
            found[order_id] = PickingProgress(picking, row.status)
    return found


def picking_json(picking: OrderPicking) -> dict[str, Any]:
    lines = []
    for line_id, lp in picking.lines.items():
        sub = lp.substitution
        lines.append(
            {
                "line_id": line_id,
                "product_id": lp.line.product_id,
                "name": lp.line.name,
                "ordered": lp.line.quantity,
                "picked": lp.picked,
                "closed": lp.is_closed,
                "substitution": None
                if sub is None
                else {
                    "product_id": sub.substitute.product_id,
                    "name": sub.substitute.name,
                    "quantity": sub.quantity,
                    "status": sub.status.value,
                    "respond_by": sub.respond_by.isoformat(),
                    "picked": lp.substitute_picked,
                },
            }
        )
    return {
        "order_id": picking.order_id,
        "started_at": picking.started_at.isoformat(),
        "finished_at": picking.finished_at.isoformat() if picking.finished_at else None,
        "lines": lines,
    }


def pick_list_json(pick_list: PickList) -> dict[str, Any]:
    return {
        "totes": [{"tote": t.number, "order_id": t.order_id} for t in pick_list.totes],
        "tasks": [
            {
                "sequence": t.sequence,
                "tote": t.tote,
                "order_id": t.order_id,
                "order_line_id": t.order_line_id,
                "product_id": t.product_id,
                "name": t.name,
                "barcode": t.barcode,
                "sold_by": t.sold_by.value,
                "quantity": t.quantity,
                "aisle": t.location.aisle,
                "bay": t.location.bay,
                "shelf": t.location.shelf,
                "zone": t.zone.value,
            }
            for t in pick_list.tasks
        ],
    }
