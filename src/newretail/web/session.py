"""The browser session: the JWT in an HTTP-only cookie, and a CSRF token for every form.

The API takes bearer tokens only, so a cookie can never act on the API; the pages read the cookie
and call the same services with the same principal. Cookies are ``SameSite=Strict`` and
``HttpOnly``; state-changing forms also carry a token that must equal the ``nr_csrf`` cookie
(double submit), and a request whose ``Origin`` names another site is refused outright.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, Request, Response

from newretail.api.deps import RuntimeDep, get_tokens
from newretail.core.errors import DomainError, Forbidden, Unauthenticated, ValidationFailed
from newretail.tenancy.model import Principal
from newretail.tenancy.security import TokenIssuer

SESSION_COOKIE = "nr_session"
CSRF_COOKIE = "nr_csrf"
CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
# Browsers accept Secure cookies from these hosts over plain http; anywhere else Secure needs https.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class CsrfRejected(DomainError):
    code = "csrf_rejected"
    http_status = 403


class LoginRequired(Unauthenticated):
    """A page needs a logged-in user: pages answer it with a redirect to the login form."""


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    http_status = 413


def cookies_secure(request: Request) -> bool:
    return request.url.scheme == "https" or (request.url.hostname or "") in LOOPBACK_HOSTS


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=cookies_secure(request),
        httponly=True,
        samesite="strict",
    )


def set_session(response: Response, request: Request, token: str, ttl: timedelta) -> str:
    """Log the browser in: the token as the session cookie and a fresh CSRF token (returned)."""
    _set_cookie(response, request, SESSION_COOKIE, token, int(ttl.total_seconds()))
    csrf = secrets.token_urlsafe(32)
    _set_cookie(response, request, CSRF_COOKIE, csrf, None)
    return csrf


def clear_session(response: Response, request: Request) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=cookies_secure(request), httponly=True, samesite="strict")


def csrf_token(request: Request, response: Response) -> str:
    """The browser's CSRF token for forms on this page; set it first if the browser has none."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and len(token) >= 32:
        return token
    token = secrets.token_urlsafe(32)
    _set_cookie(response, request, CSRF_COOKIE, token, None)
    return token


def optional_principal(
    request: Request, runtime: RuntimeDep, tokens: Annotated[TokenIssuer, Depends(get_tokens)]
) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return tokens.verify(token, runtime.clock.now())
    except Unauthenticated:
        return None  # expired or tampered with: treat as logged out


def require_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise LoginRequired("log in first")
    return principal


@dataclass(frozen=True)
class Form:
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default).strip()

    def required(self, name: str, label: str | None = None) -> str:
        value = self.get(name)
        if not value:
            raise ValidationFailed(f"{label or name} is required", field=name)
        return value

    def integer(self, name: str, label: str | None = None) -> int:
        raw = self.required(name, label)
        try:
            return int(raw)
        except ValueError:
            raise ValidationFailed(f"{label or name} must be a whole number", field=name) from None

    def number(self, name: str, label: str | None = None) -> float:
        raw = self.required(name, label)
        try:
            return float(raw)
        except ValueError:
            raise ValidationFailed(f"{label or name} must be a number", field=name) from None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # SameSite=Strict and the token still guard; old browsers omit Origin
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme == request.url.scheme


async def csrf_form(request: Request) -> Form:
    """The POSTed form (urlencoded), after checking it came from one of our pages."""
    if not _same_origin(request):
        raise CsrfRejected("this form was sent from another site")
    fields: dict[str, str] = {}
    # Our pages send urlencoded forms only; anything else carries no token and is refused below.
    if request.headers.get("content-type", "").split(";")[0].strip() == FORM_TYPE:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise PayloadTooLarge("the form is too large")
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise ValidationFailed("the form is not valid UTF-8") from None
        fields = {key: values[-1] for key, values in parsed.items()}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = fields.pop(CSRF_FIELD, "")
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfRejected("the form has expired or did not come from this site: reload the page and try again")
    return Form(fields)


PagePrincipal = Annotated[Principal, Depends(require_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
PostedForm = Annotated[Form, Depends(csrf_form)]


def require_role(principal: Principal, roles: frozenset[object], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"{what} is for other roles: you are logged in as {principal.role.value.replace('_', ' ')}")
