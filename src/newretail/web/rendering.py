"""Templates, display filters, page responses and the route class that turns errors into pages."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from newretail.core.errors import DomainError
from newretail.tenancy.model import STAFF_ROLES, Principal, Role
from newretail.web.session import CSRF_COOKIE, CSRF_FIELD, LoginRequired, cookies_secure, optional_principal

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")

# Pages load only our own script and stylesheet: no inline code, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
PICKING_ROLES = frozenset({Role.PICKER, Role.STORE_MANAGER, Role.TENANT_ADMIN})
SHOPPING_ROLES = frozenset({Role.CUSTOMER})
STATUS_LABELS = {
    "awaiting_payment": "Awaiting payment",
    "placed": "Placed",
    "picking": "Picking",
    "packed": "Packed",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "ready_for_collection": "Ready to collect",
    "collected": "Collected",
    "cancelled": "Cancelled",
}


def money(amount_minor: int | None, currency: str = "GBP") -> str:
    if amount_minor is None:
        return "—"
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency)
    sign = "-" if amount_minor < 0 else ""
    units, minor = divmod(abs(amount_minor), 100)
    text = f"{units:,}.{minor:02d}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def local_time(instant: datetime | str | None, timezone: str = "Europe/London", fmt: str = "%H:%M") -> str:
    if instant is None:
        return "—"
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    return instant.astimezone(ZoneInfo(timezone)).strftime(fmt)


def duration(span: timedelta | None) -> str:
    if span is None:
        return "—"
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def quantity(amount: int, sold_by: str) -> str:
    if sold_by == "weight":
        return f"{amount / 1000:g} kg" if amount >= 1000 else f"{amount} g"
    return f"{amount}"


def short_id(identifier: str) -> str:
    return identifier[-6:].upper()


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


templates.env.filters.update(
    money=money, local_time=local_time, duration=duration, quantity=quantity, short_id=short_id, status=status_label
)


def nav_links(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    links: list[tuple[str, str]] = []
    if principal.role in SHOPPING_ROLES:
        links += [("/shop", "Shop"), ("/shop/orders", "My orders")]
    if principal.role in STAFF_ROLES:
        links.append(("/ops", "Operations"))
    if principal.role in PICKING_ROLES:
        links.append(("/pick", "Picking"))
    return links


def home_for(principal: Principal) -> str:
    links = nav_links(principal)
    if principal.role is Role.PICKER:
        return "/pick"
    return links[0][0] if links else "/"


def page(
    request: Request,
    name: str,
    context: Mapping[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template with what every page needs: the user, the nav, the CSRF token."""
    token = request.cookies.get(CSRF_COOKIE, "")
    fresh = len(token) < 32
    if fresh:
        token = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "principal": principal,
            "nav": nav_links(principal),
            "path": request.url.path,
            "csrf_field": CSRF_FIELD,
            "csrf": token,
            **(context or {}),
        },
        status_code=status_code,
    )
    if fresh:
        response.set_cookie(
            CSRF_COOKIE, token, path="/", secure=cookies_secure(request), httponly=True, samesite="strict"
        )
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host (``//evil``, ``/\\evil``, ``https://...``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


class PageRoute(APIRoute):
    """Routes that answer with pages: a missing login sends the browser to the login form, and a
    domain error becomes an error page carrying the same message and status the API would give."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path if request.method == "GET" else "/"
                return redirect("/" if target == "/" else f"/?next={quote(target, safe='/')}")
            except DomainError as exc:
                return error_page(request, exc.message, exc.code, exc.http_status)
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in err.get("loc", ())) for err in exc.errors())
                return error_page(request, f"the request is not valid ({fields})", "validation_error", 422)

        return page_handler


def error_page(request: Request, message: str, code: str, status_code: int) -> HTMLResponse:
    principal = _principal_of(request)
    return page(
        request,
        "error.html",
        {"message": message, "code": code, "status_code": status_code},
        principal=principal,
        status_code=status_code,
    )


def _principal_of(request: Request) -> Principal | None:
    return optional_principal(request, request.app.state.runtime, request.app.state.tokens)
