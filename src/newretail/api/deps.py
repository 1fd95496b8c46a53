"""Request-scoped dependencies shared by every router: the runtime, the caller, role checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from newretail.core.errors import Forbidden, Unauthenticated
from newretail.core.runtime import Runtime
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Principal, Role
from newretail.tenancy.security import PasswordHashing, TokenIssuer


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_tokens(request: Request) -> TokenIssuer:
    tokens: TokenIssuer = request.app.state.tokens
    return tokens


def get_hashing(request: Request) -> PasswordHashing:
    hashing: PasswordHashing = request.app.state.hashing
    return hashing


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def current_principal(
    runtime: RuntimeDep,
    tokens: Annotated[TokenIssuer, Depends(get_tokens)],
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    if x_api_key:
        return tenancy.authenticate_api_key(runtime.uow(), x_api_key)
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use 'Authorization: Bearer <token>'")
        return tokens.verify(token, runtime.clock.now())
    raise Unauthenticated("log in first: send a bearer token or an X-API-Key")


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"this needs one of the roles: {names}", role=principal.role.value)
        return principal

    return check


StaffDep = Annotated[
    Principal, Depends(require_roles(Role.PICKER, Role.COURIER, Role.STORE_MANAGER, Role.TENANT_ADMIN))
]
ManagerDep = Annotated[Principal, Depends(require_roles(Role.STORE_MANAGER, Role.TENANT_ADMIN))]
AdminDep = Annotated[Principal, Depends(require_roles(Role.TENANT_ADMIN))]
