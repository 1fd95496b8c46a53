"""Tenancy HTTP endpoints: login, sign-up, stores, staff, API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from newretail.api.deps import AdminDep, ManagerDep, PrincipalDep, RuntimeDep, get_hashing, get_tokens
from newretail.core.errors import NotFound
from newretail.tenancy import services
from newretail.tenancy.model import OpeningHours, Role, Store
from newretail.tenancy.repository import TenancyRepository
from newretail.tenancy.security import PasswordHashing, TokenIssuer

router = APIRouter(tags=["tenancy"])
HashingDep = Annotated[PasswordHashing, Depends(get_hashing)]
TokensDep = Annotated[TokenIssuer, Depends(get_tokens)]


class LoginIn(BaseModel):
    tenant: str = Field(description="the retailer's slug")
    email: str
    password: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    user_id: str
    tenant_id: str
    role: Role


class SignUpIn(BaseModel):
    tenant: str
    email: str
    name: str = Field(min_length=1, max_length=200)
    password: str


class StoreIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    lat: float
    lon: float
    delivery_radius_m: int | None = None
    timezone: str = "Europe/London"
    opening_hours: dict[str, list[str]] | None = None


class StoreOut(BaseModel):
    id: str
    name: str
    address: str
    lat: float
    lon: float
    delivery_radius_m: int
    timezone: str
    opening_hours: dict[str, list[str]]

    @classmethod
    def of(cls, store: Store) -> StoreOut:
        return cls(
            id=store.id,
            name=store.name,
            address=store.address,
            lat=store.location.lat,
            lon=store.location.lon,
            delivery_radius_m=store.delivery_radius_m,
            timezone=store.timezone,
            opening_hours=store.opening_hours.to_raw(),
        )


class StaffIn(BaseModel):
    email: str
    name: str = Field(min_length=1, max_length=200)
    password: str
    role: Role
    store_id: str | None = None


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    store_id: str | None


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    store_id: str | None = None


class ApiKeyOut(BaseModel):
    id: str
    key: str = Field(description="shown once; store it safely")


@router.post("/auth/login", response_model=TokenOut)
def login(body: LoginIn, runtime: RuntimeDep, hashing: HashingDep, tokens: TokensDep) -> TokenOut:
    token, principal = services.login(
        runtime.uow(), hashing, tokens, tenant_slug=body.tenant, email=body.email, password=body.password
    )
    return TokenOut(
        access_token=token, user_id=principal.subject_id, tenant_id=principal.tenant_id, role=principal.role
    )


@router.post("/auth/signup", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def sign_up(body: SignUpIn, runtime: RuntimeDep, hashing: HashingDep) -> UserOut:
    with runtime.uow() as uow:
        tenant = TenancyRepository(uow.conn).tenant_by_slug(body.tenant)
    if tenant is None:
        raise NotFound("unknown retailer", tenant=body.tenant)
    user = services.register_user(
        runtime.uow(),
        hashing,
        tenant_id=tenant.id,
        email=body.email,
        name=body.name,
        password=body.password,
        role=Role.CUSTOMER,
    )
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role, store_id=user.store_id)


@router.get("/me", response_model=UserOut)
def me(principal: PrincipalDep, runtime: RuntimeDep) -> UserOut:
    with runtime.uow() as uow:
        row = TenancyRepository(uow.conn).user(principal.tenant_id, principal.subject_id)
    return UserOut(id=row.id, email=row.email, name=row.name, role=Role(row.role), store_id=row.store_id)


@router.get("/stores", response_model=list[StoreOut])
def list_stores(principal: PrincipalDep, runtime: RuntimeDep) -> list[StoreOut]:
    return [StoreOut.of(s) for s in services.list_stores(runtime.uow(), principal.tenant_id)]


@router.get("/stores/{store_id}", response_model=StoreOut)
def get_store(store_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> StoreOut:
    return StoreOut.of(services.get_store(runtime.uow(), principal.tenant_id, store_id))


@router.post("/stores", response_model=StoreOut, status_code=status.HTTP_201_CREATED)
def open_store(body: StoreIn, admin: AdminDep, runtime: RuntimeDep) -> StoreOut:
    store = services.open_store(
        runtime.uow(),
        tenant_id=admin.tenant_id,
        name=body.name,
        address=body.address,
        lat=body.lat,
        lon=body.lon,
        delivery_radius_m=body.delivery_radius_m or runtime.settings.default_delivery_radius_m,
        timezone=body.timezone,
        opening_hours=OpeningHours.parse(body.opening_hours) if body.opening_hours else None,
    )
    return StoreOut.of(store)


@router.post("/staff", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_staff(body: StaffIn, admin: AdminDep, runtime: RuntimeDep, hashing: HashingDep) -> UserOut:
    user = services.register_user(
        runtime.uow(),
        hashing,
        tenant_id=admin.tenant_id,
        email=body.email,
        name=body.name,
        password=body.password,
        role=body.role,
        store_id=body.store_id,
    )
    return UserOut(id=user.id, email=user.email, name=user.name, role=user.role, store_id=user.store_id)


@router.post("/api-keys", response_model=ApiKeyOut, status_code=status.HTTP_201_CREATED)
def create_api_key(body: ApiKeyIn, manager: ManagerDep, runtime: RuntimeDep) -> ApiKeyOut:
    key_id, key = services.create_api_key(
        runtime.uow(), manager, name=body.name, role=body.role, store_id=body.store_id
    )
    return ApiKeyOut(id=key_id, key=key)
