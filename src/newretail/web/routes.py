"""The web app's pages: landing and login here; operations, shop and picking in their own modules.

Every page reads through the same services as the API, with the principal from the session cookie,
so a page can see exactly what that user could see through the API and nothing more.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from newretail.api.deps import RuntimeDep, get_hashing, get_tokens
from newretail.core.errors import DomainError
from newretail.tenancy import services as tenancy
from newretail.tenancy.security import PasswordHashing, TokenIssuer
from newretail.web import ops_pages, pick_pages, shop_pages
from newretail.web.rendering import PageRoute, home_for, page, redirect, safe_next
from newretail.web.session import MaybePrincipal, PostedForm, clear_session, set_session

STATIC_DIR = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
pages = APIRouter(route_class=PageRoute, include_in_schema=False)


@pages.get("/")
def landing(
    request: Request, principal: MaybePrincipal, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    return page(request, "index.html", {"next": safe_next(next_page) or "", "form": {}}, principal=principal)


@pages.post("/login")
def login(
    request: Request,
    form: PostedForm,
    runtime: RuntimeDep,
    hashing: Annotated[PasswordHashing, Depends(get_hashing)],
    tokens: Annotated[TokenIssuer, Depends(get_tokens)],
) -> Response:
    target = safe_next(form.get("next"))
    try:
        token, principal = tenancy.login(
            runtime.uow(),
            hashing,
            tokens,
            tenant_slug=form.required("tenant", "the retailer"),
            email=form.required("email", "the email"),
            password=form.fields.get("password", ""),
        )
    except DomainError as exc:
        context = {"next": target or "", "form": {"tenant": form.get("tenant"), "email": form.get("email")}}
        return page(request, "index.html", {**context, "error": exc.message}, status_code=exc.http_status)
    response = redirect(target or home_for(principal))
    set_session(response, request, token, timedelta(minutes=runtime.settings.jwt_ttl_minutes))
    return response


@pages.post("/logout")
def logout(request: Request, _form: PostedForm) -> Response:
    response = redirect("/")
    clear_session(response, request)
    return response


pages.include_router(ops_pages.router)
pages.include_router(shop_pages.router)
pages.include_router(pick_pages.router)
router.include_router(pages)
