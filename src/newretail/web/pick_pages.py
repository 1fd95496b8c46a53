"""The picker's view: start a shift, take the next batch, walk the aisles scanning each line, pack."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from newretail.api.deps import RuntimeDep
from newretail.catalog import services as catalog
from newretail.core.errors import DomainError, ValidationFailed
from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.fulfilment.substitution import SubstitutionStatus
from newretail.ordering import services as ordering
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Principal, Store
from newretail.tenancy.services import require_store_access
from newretail.web.rendering import PICKING_ROLES, PageRoute, page, redirect
from newretail.web.session import Form, PagePrincipal, PostedForm, require_role

router = APIRouter(route_class=PageRoute, include_in_schema=False)
REFUSED = frozenset({SubstitutionStatus.REJECTED.value, SubstitutionStatus.REFUNDED_ON_TIMEOUT.value})


def _picker(principal: Principal) -> Principal:
    require_role(principal, PICKING_ROLES, "picking")
    return principal


def _store(runtime: Runtime, principal: Principal, store_id: str | None) -> tuple[Store, list[Store]]:
    """A store-bound picker picks in their store; a tenant-wide manager chooses one."""
    stores = [] if principal.store_id else tenancy.list_stores(runtime.uow(), principal.tenant_id)
    chosen = principal.store_id or store_id or (stores[0].id if stores else None)
    if chosen is None:
        raise ValidationFailed("this retailer has no stores yet")
    require_store_access(principal, chosen)
    return tenancy.get_store(runtime.uow(), principal.tenant_id, chosen), stores


def _walk(runtime: Runtime, principal: Principal, batch_id: str) -> dict[str, Any]:
    """The batch's pick walk in aisle order, each task with its line's progress, and each tote's state."""
    batch = fulfilment.batch_view(runtime.uow(), tenant_id=principal.tenant_id, batch_id=batch_id)
    walk = fulfilment.pick_list_json(batch.pick_list)
    progress = fulfilment.picking_progress(runtime.uow(), tenant_id=principal.tenant_id, order_ids=batch.order_ids)
    lines = {
        line["line_id"]: line for found in progress.values() for line in fulfilment.picking_json(found.picking)["lines"]
    }
    substitutes = [ln["substitution"]["product_id"] for ln in lines.values() if ln["substitution"]]
    barcodes = {
        pid: product.gtin
        for pid, product in catalog.products_by_ids(runtime.uow(), principal.tenant_id, substitutes).items()
    }
    tasks = [
        {**task, "progress": lines.get(task["order_line_id"]), "substitute": _substitute_to_pick(lines, task, barcodes)}
        for task in walk["tasks"]
    ]
    totes = [
        {
            **tote,
            "status": progress[tote["order_id"]].status,
            "open_lines": sum(
                1 for t in tasks if t["order_id"] == tote["order_id"] and t["progress"] and not t["progress"]["closed"]
            ),
        }
        for tote in walk["totes"]
    ]
    return {"batch_id": batch.batch_id, "tasks": tasks, "totes": totes}


def _substitute_to_pick(lines: dict[str, Any], task: dict[str, Any], barcodes: dict[str, str]) -> dict[str, Any] | None:
    """The substitute still to go in the tote for this line: offered or accepted, not yet all picked."""
    line = lines.get(task["order_line_id"])
    sub = line["substitution"] if line else None
    if sub is None or sub["status"] in REFUSED or sub["picked"] >= sub["quantity"]:
        return None
    return {**sub, "barcode": barcodes[sub["product_id"]], "remaining": sub["quantity"] - sub["picked"]}


def pick_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    store_id: str | None,
    *,
    offer_for: tuple[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    store, stores = _store(runtime, principal, store_id)
    offer = _offer(runtime, principal, store, offer_for) if offer_for else None
    status = fulfilment.picker_status(
        runtime.uow(), tenant_id=principal.tenant_id, store_id=store.id, picker_id=principal.subject_id
    )
    queue = fulfilment.pick_queue(runtime.uow(), tenant_id=principal.tenant_id, store_id=store.id)
    return page(
        request,
        "pick.html",
        {
            "store": store,
            "stores": stores,
            "status": status,
            "queue": queue,
            "walk": _walk(runtime, principal, status.batch_id) if status.batch_id else None,
            "offer": offer,
            "error": error,
            "notice": notice,
        },
        principal=principal,
        status_code=status_code,
    )


NOTICES = {
    "shift": "You are on shift.",
    "ended": "Your shift has ended.",
    "batch": "A new batch is yours: walk the aisles in this order.",
    "scanned": "Scanned.",
    "short": "Marked short.",
    "packed": "Packed and handed on.",
    "offered": "Substitute offered: the customer is asked. Pick it now; if they say no it stays out of the bag.",
}


@router.get("/pick")
def pick(
    request: Request,
    principal: PagePrincipal,
    runtime: RuntimeDep,
    store: str | None = None,
    done: str | None = None,
    order: str | None = None,
    line: str | None = None,
) -> Response:
    """The pick walk; with ``order`` and ``line``, also what could stand in for that line."""
    _picker(principal)
    offer_for = (order, line) if order and line else None
    return pick_page(request, runtime, principal, store, offer_for=offer_for, notice=NOTICES.get(done or ""))


def _offer(runtime: Runtime, principal: Principal, store: Store, offer_for: tuple[str, str]) -> dict[str, Any]:
    order_id, line_id = offer_for
    _order_here(runtime, principal, store, order_id)
    candidates = fulfilment.suggest_substitutes(
        runtime.uow(), tenant_id=principal.tenant_id, order_id=order_id, line_id=line_id
    )
    return {"order_id": order_id, "line_id": line_id, "candidates": candidates}


def _act(request: Request, runtime: Runtime, principal: Principal, form: Form, done: str, action: Any) -> Response:
    """Run one picking action for the store in the form; on a domain error show the page with it."""
    _picker(principal)
    store_id = principal.store_id or form.get("store") or None
    try:
        store, _ = _store(runtime, principal, store_id)
        action(store)
    except DomainError as exc:
        return pick_page(request, runtime, principal, store_id, error=exc.message, status_code=exc.http_status)
    return redirect("/pick?" + urlencode({"store": store.id, "done": done}))


def _order_here(runtime: Runtime, principal: Principal, store: Store, order_id: str) -> str:
    order = ordering.get_order(runtime.uow(), principal.tenant_id, order_id)
    if order.store_id != store.id:
        raise ValidationFailed("this order is picked in another store", field="order_id")
    require_store_access(principal, order.store_id)
    return order.id


@router.post("/pick/shift/start")
def start_shift(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    return _act(
        request,
        runtime,
        principal,
        form,
        "shift",
        lambda store: fulfilment.start_shift(
            runtime.uow(), tenant_id=principal.tenant_id, store_id=store.id, picker_id=principal.subject_id
        ),
    )


@router.post("/pick/shift/end")
def end_shift(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    return _act(
        request,
        runtime,
        principal,
        form,
        "ended",
        lambda store: fulfilment.end_shift(
            runtime.uow(), tenant_id=principal.tenant_id, store_id=store.id, picker_id=principal.subject_id
        ),
    )


@router.post("/pick/batch")
def take_batch(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    return _act(
        request,
        runtime,
        principal,
        form,
        "batch",
        lambda store: fulfilment.start_batch(
            runtime.uow(), tenant_id=principal.tenant_id, store_id=store.id, picker_id=principal.subject_id
        ),
    )


@router.post("/pick/scan")
def scan(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    def action(store: Store) -> None:
        order_id = _order_here(runtime, principal, store, form.required("order_id", "the order"))
        amount = form.integer("amount", "the amount")
        by_weight = form.get("sold_by") == "weight"
        fulfilment.scan(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            order_id=order_id,
            line_id=form.required("line_id", "the line"),
            barcode=form.required("barcode", "the barcode"),
            units=None if by_weight else amount,
            grams=amount if by_weight else None,
        )

    return _act(request, runtime, principal, form, "scanned", action)


@router.post("/pick/short")
def report_short(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    def action(store: Store) -> None:
        order_id = _order_here(runtime, principal, store, form.required("order_id", "the order"))
        fulfilment.report_short(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            order_id=order_id,
            line_id=form.required("line_id", "the line"),
        )

    return _act(request, runtime, principal, form, "short", action)


@router.post("/pick/pack")
def pack(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    def action(store: Store) -> None:
        order_id = _order_here(runtime, principal, store, form.required("order_id", "the order"))
        fulfilment.pack(runtime.uow(), tenant_id=principal.tenant_id, order_id=order_id, picker_id=principal.subject_id)

    return _act(request, runtime, principal, form, "packed", action)


@router.post("/pick/substitute")
def offer_substitute(request: Request, principal: PagePrincipal, runtime: RuntimeDep, form: PostedForm) -> Response:
    def action(store: Store) -> None:
        order_id = _order_here(runtime, principal, store, form.required("order_id", "the order"))
        fulfilment.propose_substitute(
            runtime.uow(),
            tenant_id=principal.tenant_id,
            order_id=order_id,
            line_id=form.required("line_id", "the line"),
            product_id=form.required("product_id", "the substitute"),
        )

    return _act(request, runtime, principal, form, "offered", action)
