"""Payments HTTP endpoints: wallet, order payments, refunds, provider notifications.

Every call that moves money requires an ``Idempotency-Key`` header. Customers see and pay only their
own; staff bound to a store act on that store's payments; store managers refund up to a limit.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from newretail.api.deps import IdempotencyKey, ManagerDep, PrincipalDep, RuntimeDep, StaffDep, require_roles
from newretail.core.errors import Forbidden, NotFound, ValidationFailed
from newretail.core.money import Money
from newretail.payments import services
from newretail.payments.model import (
    Channel,
    InvalidNotification,
    Method,
    PaymentStatus,
    PaymentView,
    RefundView,
    TopUpStatus,
    TopUpView,
    can_see_payment,
)
from newretail.payments.providers import PaymentProviders
from newretail.tenancy.model import Principal, Role

router = APIRouter(prefix="/payments", tags=["payments"])


def get_payment_providers(request: Request) -> PaymentProviders:
    """The app's providers (built by ``create_app`` from ``NEWRETAIL_PAYMENTS_*``; tests may swap them)."""
    providers: PaymentProviders = request.app.state.payment_providers
    return providers


ProvidersDep = Annotated[PaymentProviders, Depends(get_payment_providers)]
CustomerDep = Annotated[Principal, Depends(require_roles(Role.CUSTOMER))]


def money_key(key: IdempotencyKey) -> str:
    if not key:
        raise ValidationFailed("this call moves money: send an Idempotency-Key header", field="Idempotency-Key")
    return key


MoneyKey = Annotated[str, Depends(money_key)]


class PaymentOut(BaseModel):
    id: str
    order_id: str
    customer_id: str
    store_id: str
    method: Method
    channel: Channel
    currency: str
    status: PaymentStatus
    promised_minor: int
    margin_minor: int
    authorised_minor: int
    captured_minor: int
    released_minor: int
    refunded_minor: int
    qr_code: str | None
    provider_trade_no: str | None
    capture_failure: str | None
    lines: dict[str, tuple[int, int]] = Field(description="line -> (captured, refunded) in minor units")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: PaymentView) -> PaymentOut:
        return cls(
            id=p.id,
            order_id=p.order_id,
            customer_id=p.customer_id,
            store_id=p.store_id,
            method=p.method,
            channel=p.channel,
            currency=p.currency,
            status=p.status,
            promised_minor=p.promised,
            margin_minor=p.margin,
            authorised_minor=p.authorised,
            captured_minor=p.captured,
            released_minor=p.released,
            refunded_minor=p.refunded,
            qr_code=p.qr_code,
            provider_trade_no=p.provider_trade_no,
            capture_failure=p.capture_failure,
            lines=p.lines,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class AuthoriseIn(BaseModel):
    store_id: str
    amount_minor: int = Field(gt=0, description="the promised order total")
    variable_minor: int | None = Field(
        default=None, ge=0, description="the part weighing or substitutions can change; default: all"
    )
    method: Method
    channel: Channel = Channel.DIRECT
    payment_code: str | None = Field(default=None, max_length=64, description="barcode payment code or test token")


class CaptureIn(BaseModel):
    amount_minor: int = Field(ge=0, description="the packed total")
    lines: dict[str, int] | None = Field(default=None, description="order line -> captured amount (sums to total)")


class RefundIn(BaseModel):
    amount_minor: int | None = Field(default=None, gt=0, description="omit (and lines) to refund all that is left")
    lines: dict[str, int] | None = None
    reason: str = Field(min_length=1, max_length=300)


class RefundOut(BaseModel):
    id: str
    payment_id: str
    order_id: str
    currency: str
    amount_minor: int
    lines: dict[str, int]
    reason: str
    created_at: datetime

    @classmethod
    def of(cls, r: RefundView) -> RefundOut:
        return cls(
            id=r.id,
            payment_id=r.payment_id,
            order_id=r.order_id,
            currency=r.currency,
            amount_minor=r.amount,
            lines=r.lines,
            reason=r.reason,
            created_at=r.created_at,
        )


class WalletOut(BaseModel):
    customer_id: str
    currency: str
    balance_minor: int


class TopUpIn(BaseModel):
    amount_minor: int = Field(gt=0)
    method: Method
    channel: Channel = Channel.DIRECT
    payment_code: str | None = Field(default=None, max_length=64)


class TopUpOut(BaseModel):
    id: str
    customer_id: str
    method: Method
    channel: Channel
    currency: str
    amount_minor: int
    status: TopUpStatus
    qr_code: str | None
    created_at: datetime

    @classmethod
    def of(cls, t: TopUpView) -> TopUpOut:
        return cls(
            id=t.id,
            customer_id=t.customer_id,
            method=t.method,
            channel=t.channel,
            currency=t.currency,
            amount_minor=t.amount,
            status=t.status,
            qr_code=t.qr_code,
            created_at=t.created_at,
        )


# --- wallet (declared before /{payment_id} so the paths do not collide)


@router.get("/wallet", response_model=WalletOut)
def my_wallet(customer: CustomerDep, runtime: RuntimeDep) -> WalletOut:
    currency = services.tenant_currency(runtime.uow(), customer.tenant_id)
    balance = services.wallet_balance(
        runtime.uow(), tenant_id=customer.tenant_id, customer_id=customer.subject_id, currency=currency
    )
    return WalletOut(customer_id=customer.subject_id, currency=currency, balance_minor=balance.amount)


@router.get("/wallets/{customer_id}", response_model=WalletOut)
def customer_wallet(customer_id: str, manager: ManagerDep, runtime: RuntimeDep) -> WalletOut:
    currency = services.tenant_currency(runtime.uow(), manager.tenant_id)
    services.require_customer(runtime.uow(), tenant_id=manager.tenant_id, customer_id=customer_id)
    balance = services.wallet_balance(
        runtime.uow(), tenant_id=manager.tenant_id, customer_id=customer_id, currency=currency
    )
    return WalletOut(customer_id=customer_id, currency=currency, balance_minor=balance.amount)


@router.post("/wallet/top-ups", response_model=TopUpOut, status_code=status.HTTP_201_CREATED)
def top_up(
    body: TopUpIn, customer: CustomerDep, runtime: RuntimeDep, providers: ProvidersDep, key: MoneyKey
) -> TopUpOut:
    currency = services.tenant_currency(runtime.uow(), customer.tenant_id)
    topup = services.top_up_wallet(
        runtime.uow(),
        providers,
        tenant_id=customer.tenant_id,
        customer_id=customer.subject_id,
        amount=Money(body.amount_minor, currency),
        method=body.method,
        channel=body.channel,
        payment_code=body.payment_code,
        idempotency_key=key,
    )
    return TopUpOut.of(topup)


@router.get("/wallet/top-ups/{topup_id}", response_model=TopUpOut)
def get_top_up(topup_id: str, customer: CustomerDep, runtime: RuntimeDep) -> TopUpOut:
    topup = services.get_topup(runtime.uow(), tenant_id=customer.tenant_id, topup_id=topup_id)
    if topup.customer_id != customer.subject_id:
        raise NotFound("top-up not found", topup_id=topup_id)
    return TopUpOut.of(topup)


# --- provider notifications (no login: authenticity is the provider's signature)


@router.post("/notifications/alipay", response_class=PlainTextResponse, include_in_schema=True)
async def alipay_notification(request: Request, runtime: RuntimeDep, providers: ProvidersDep) -> PlainTextResponse:
    """Alipay posts a form; we answer ``success`` once processed (or already processed), else ``fail``."""
    body = (await request.body()).decode("utf-8", errors="replace")
    params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
    try:
        result = await run_in_threadpool(
            services.handle_notification, runtime.uow(), providers, method=Method.ALIPAY, params=params
        )
    except InvalidNotification:
        return PlainTextResponse("fail", status_code=400)
    return PlainTextResponse("success" if result.acknowledged else "fail")


# --- order payments


@router.post("/orders/{order_id}/authorise", response_model=PaymentOut, status_code=status.HTTP_201_CREATED)
def authorise(
    order_id: str,
    body: AuthoriseIn,
    customer: CustomerDep,
    runtime: RuntimeDep,
    providers: ProvidersDep,
    key: MoneyKey,
) -> PaymentOut:
    currency = services.tenant_currency(runtime.uow(), customer.tenant_id)
    payment = services.authorise_order(
        runtime.uow(),
        providers,
        tenant_id=customer.tenant_id,
        order_id=order_id,
        customer_id=customer.subject_id,
        store_id=body.store_id,
        amount=Money(body.amount_minor, currency),
        variable_amount=Money(body.variable_minor, currency) if body.variable_minor is not None else None,
        method=body.method,
        channel=body.channel,
        payment_code=body.payment_code,
        idempotency_key=key,
    )
    return PaymentOut.of(payment)


def _order_payment_for(actor: Principal, runtime: RuntimeDep, order_id: str) -> PaymentView:
    payment = services.order_payment(runtime.uow(), tenant_id=actor.tenant_id, order_id=order_id)
    if payment is None or not can_see_payment(actor, payment):
        raise NotFound("this order has no payment", order_id=order_id)
    return payment


@router.post("/orders/{order_id}/capture", response_model=PaymentOut)
def capture(
    order_id: str, body: CaptureIn, staff: StaffDep, runtime: RuntimeDep, providers: ProvidersDep, key: MoneyKey
) -> PaymentOut:
    payment = _order_payment_for(staff, runtime, order_id)
    payment = services.capture_order(
        runtime.uow(),
        providers,
        tenant_id=staff.tenant_id,
        order_id=order_id,
        amount=Money(body.amount_minor, payment.currency),
        lines={ref: Money(v, payment.currency) for ref, v in body.lines.items()} if body.lines is not None else None,
        idempotency_key=key,
    )
    return PaymentOut.of(payment)


@router.post("/orders/{order_id}/void", response_model=PaymentOut)
def void(
    order_id: str, principal: PrincipalDep, runtime: RuntimeDep, providers: ProvidersDep, key: MoneyKey
) -> PaymentOut:
    """Managers, or the customer who authorised it, may release a hold before capture."""
    if principal.role not in (Role.CUSTOMER, Role.STORE_MANAGER, Role.TENANT_ADMIN):
        raise Forbidden("only managers or the paying customer may void a payment", role=principal.role.value)
    _order_payment_for(principal, runtime, order_id)
    payment = services.void_authorisation(
        runtime.uow(), providers, tenant_id=principal.tenant_id, order_id=order_id, idempotency_key=key
    )
    return PaymentOut.of(payment)


@router.get("", response_model=list[PaymentOut])
def list_payments(principal: PrincipalDep, runtime: RuntimeDep) -> list[PaymentOut]:
    return [PaymentOut.of(p) for p in services.list_payments(runtime.uow(), actor=principal)]


@router.get("/{payment_id}", response_model=PaymentOut)
def get_payment(payment_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> PaymentOut:
    return PaymentOut.of(
        services.get_payment(runtime.uow(), tenant_id=principal.tenant_id, payment_id=payment_id, actor=principal)
    )


@router.post("/{payment_id}/sync", response_model=PaymentOut)
def sync(payment_id: str, principal: PrincipalDep, runtime: RuntimeDep, providers: ProvidersDep) -> PaymentOut:
    """Ask the provider about a pending payment (when its notification is late)."""
    services.get_payment(runtime.uow(), tenant_id=principal.tenant_id, payment_id=payment_id, actor=principal)
    return PaymentOut.of(
        services.sync_payment(runtime.uow(), providers, tenant_id=principal.tenant_id, payment_id=payment_id)
    )


@router.post("/{payment_id}/refunds", response_model=RefundOut, status_code=status.HTTP_201_CREATED)
def create_refund(
    payment_id: str, body: RefundIn, manager: ManagerDep, runtime: RuntimeDep, providers: ProvidersDep, key: MoneyKey
) -> RefundOut:
    payment = services.get_payment(runtime.uow(), tenant_id=manager.tenant_id, payment_id=payment_id, actor=manager)
    refund = services.refund(
        runtime.uow(),
        providers,
        tenant_id=manager.tenant_id,
        payment_id=payment_id,
        amount=Money(body.amount_minor, payment.currency) if body.amount_minor is not None else None,
        lines={ref: Money(v, payment.currency) for ref, v in body.lines.items()} if body.lines else None,
        reason=body.reason,
        actor=manager,
        idempotency_key=key,
    )
    return RefundOut.of(refund)


@router.get("/{payment_id}/refunds", response_model=list[RefundOut])
def list_refunds(payment_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> list[RefundOut]:
    refunds = services.list_refunds(
        runtime.uow(), tenant_id=principal.tenant_id, payment_id=payment_id, actor=principal
    )
    return [RefundOut.of(r) for r in refunds]
