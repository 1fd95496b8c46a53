"""Tenancy use cases: onboard a retailer, open stores, register users, log in, issue API keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

from newretail.core.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from newretail.core.geo import Point
from newretail.core.ids import new_id
from newretail.core.uow import UnitOfWork
from newretail.tenancy.events import StoreOpened
from newretail.tenancy.model import MANAGER_ROLES, OpeningHours, Principal, Role, Store, validate_slug
from newretail.tenancy.repository import TenancyRepository
from newretail.tenancy.security import PasswordHashing, TokenIssuer, api_secret_matches, new_api_key, split_api_key
from newretail.tenancy.tables import tenants

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def create_tenant(uow: UnitOfWork, *, slug: str, name: str, currency: str = "GBP") -> str:
    validate_slug(slug)
    if not name.strip():
        raise ValidationFailed("tenant name is required", field="name")
    if len(currency) != 3 or not currency.isupper():
        raise ValidationFailed("currency must be an ISO 4217 code", field="currency")
    with uow:
        repo = TenancyRepository(uow.conn)
        if repo.tenant_by_slug(slug) is not None:
            raise Conflict(f"tenant {slug!r} already exists", field="slug")
        tenant_id = new_id()
        uow.conn.execute(
            tenants.insert().values(id=tenant_id, slug=slug, name=name, currency=currency, created_at=uow.clock.now())
        )
        uow.commit()
        return tenant_id


def open_store(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    name: str,
    address: str,
    lat: float,
    lon: float,
    delivery_radius_m: int,
    timezone: str = "Europe/London",
    opening_hours: OpeningHours | None = None,
) -> Store:
    try:
        location = Point(lat, lon)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="location") from exc
    store = Store(
        id=new_id(),
        tenant_id=tenant_id,
        name=name,
        address=address,
        location=location,
        delivery_radius_m=delivery_radius_m,
        timezone=timezone,
        opening_hours=opening_hours or OpeningHours.every_day("07:00", "23:00"),
    )
    with uow:
        repo = TenancyRepository(uow.conn)
        repo.tenant(tenant_id)
        repo.add_store(store, uow.clock.now())
        uow.emit(StoreOpened(tenant_id=tenant_id, store_id=store.id, name=store.name))
        uow.commit()
    return store


def get_store(uow: UnitOfWork, tenant_id: str, store_id: str) -> Store:
    with uow:
        return TenancyRepository(uow.conn).store(tenant_id, store_id)


def list_stores(uow: UnitOfWork, tenant_id: str) -> list[Store]:
    with uow:
        return TenancyRepository(uow.conn).stores(tenant_id)


@dataclass(frozen=True)
class UserView:
    id: str
    tenant_id: str
    email: str
    name: str
    role: Role
    store_id: str | None


def register_user(
    uow: UnitOfWork,
    hashing: PasswordHashing,
    *,
    tenant_id: str,
    email: str,
    name: str,
    password: str,
    role: Role,
    store_id: str | None = None,
) -> UserView:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationFailed("a valid email address is required", field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password")
    password_hash = hashing.hash(password)  # slow on purpose: keep it outside the transaction
    with uow:
        repo = TenancyRepository(uow.conn)
        repo.tenant(tenant_id)
        if store_id is not None:
            repo.store(tenant_id, store_id)
        if repo.user_by_email(tenant_id, email) is not None:
            raise Conflict("a user with this email already exists", field="email")
        user = UserView(new_id(), tenant_id, email, name, role, store_id)
        repo.add_user(
            id=user.id,
            tenant_id=tenant_id,
            email=email,
            name=name,
            role=role.value,
            store_id=store_id,
            password_hash=password_hash,
            created_at=uow.clock.now(),
        )
        uow.commit()
    return user


def login(
    uow: UnitOfWork, hashing: PasswordHashing, tokens: TokenIssuer, *, tenant_slug: str, email: str, password: str
) -> tuple[str, Principal]:
    with uow:
        repo = TenancyRepository(uow.conn)
        tenant = repo.tenant_by_slug(tenant_slug)
        row = repo.user_by_email(tenant.id, email.strip()) if tenant is not None else None
    # Same answer for an unknown tenant, unknown user and wrong password: no account probing.
    if row is None or not hashing.verify(row.password_hash, password):
        raise Unauthenticated("wrong tenant, email or password")
    principal = Principal(tenant_id=row.tenant_id, subject_id=row.id, role=Role(row.role), store_id=row.store_id)
    return tokens.issue(principal, uow.clock.now()), principal


def create_api_key(
    uow: UnitOfWork, actor: Principal, *, name: str, role: Role, store_id: str | None = None
) -> tuple[str, str]:
    """Returns (key id, full key). The full key is shown once; only its hash is kept."""
    if not actor.has_any(MANAGER_ROLES):
        raise Forbidden("only managers may create API keys")
    if role == Role.TENANT_ADMIN and actor.role != Role.TENANT_ADMIN:
        raise Forbidden("only a tenant admin may create admin keys")
    full_key, prefix, secret_hash = new_api_key()
    key_id = new_id()
    with uow:
        repo = TenancyRepository(uow.conn)
        if store_id is not None:
            repo.store(actor.tenant_id, store_id)
        repo.add_api_key(
            id=key_id,
            tenant_id=actor.tenant_id,
            name=name,
            role=role.value,
            store_id=store_id,
            prefix=prefix,
            secret_hash=secret_hash,
            created_at=uow.clock.now(),
        )
        uow.commit()
    return key_id, full_key


def authenticate_api_key(uow: UnitOfWork, key: str) -> Principal:
    prefix, secret = split_api_key(key)
    with uow:
        row = TenancyRepository(uow.conn).api_key_by_prefix(prefix)
    if row is None or row.revoked_at is not None or not api_secret_matches(secret, row.secret_hash):
        raise Unauthenticated("unknown or revoked API key")
    return Principal(tenant_id=row.tenant_id, subject_id=row.id, role=Role(row.role), store_id=row.store_id)


def require_store_access(principal: Principal, store_id: str) -> None:
    """Staff bound to one store act only there; tenant-wide roles act on every store of the tenant."""
    if principal.store_id is not None and principal.store_id != store_id:
        raise NotFound("store not found", store_id=store_id)
