"""The operations dashboard: staff watch each store's orders, pick queue, pickers and couriers.

``/ops`` renders the page; ``/ops/board`` renders just the boards, which the page fetches every few
seconds to stay live.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from newretail.api.deps import RuntimeDep
from newretail.core.runtime import Runtime
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import STAFF_ROLES, Principal, Store
from newretail.tenancy.services import require_store_access
from newretail.web.board import StoreBoard, store_board
from newretail.web.rendering import PageRoute, page
from newretail.web.session import PagePrincipal, require_role

router = APIRouter(route_class=PageRoute, include_in_schema=False)
REFRESH_MILLISECONDS = 3000


def visible_stores(runtime: Runtime, principal: Principal, store_id: str | None) -> list[Store]:
    """Staff bound to a store see that store; tenant-wide staff see every store, or the one chosen."""
    if principal.store_id is not None:
        store_id = principal.store_id
    if store_id:
        require_store_access(principal, store_id)
        return [tenancy.get_store(runtime.uow(), principal.tenant_id, store_id)]
    return tenancy.list_stores(runtime.uow(), principal.tenant_id)


def _boards(runtime: Runtime, principal: Principal, store_id: str | None) -> list[StoreBoard]:
    require_role(principal, STAFF_ROLES, "the operations dashboard")
    return [store_board(runtime, principal.tenant_id, s) for s in visible_stores(runtime, principal, store_id)]


@router.get("/ops")
def dashboard(request: Request, principal: PagePrincipal, runtime: RuntimeDep, store: str | None = None) -> Response:
    boards = _boards(runtime, principal, store)
    all_stores = tenancy.list_stores(runtime.uow(), principal.tenant_id) if principal.store_id is None else []
    query = "?" + urlencode({"store": store}) if store else ""
    return page(
        request,
        "ops.html",
        {
            "boards": boards,
            "stores": all_stores,
            "chosen": store or "",
            "board_url": f"/ops/board{query}",
            "refresh_ms": REFRESH_MILLISECONDS,
        },
        principal=principal,
    )


@router.get("/ops/board")
def board_fragment(
    request: Request, principal: PagePrincipal, runtime: RuntimeDep, store: str | None = None
) -> Response:
    return page(request, "_ops_boards.html", {"boards": _boards(runtime, principal, store)}, principal=principal)
