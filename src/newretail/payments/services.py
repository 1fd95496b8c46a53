"""Payment use cases. Other contexts call these; the API is a thin layer over them.

For ordering (the seam):

- ``authorise_order`` at checkout: holds the promised total plus a margin on its weighed or
  substitutable part. Raises :class:`PaymentFailed` if the money cannot be held (nothing is written).
- ``capture_order`` at hand-off: keeps the packed total, gives the rest back. If the money cannot be
  collected it records the failure, publishes ``PaymentCaptureFailed`` and raises
  :class:`PaymentFailed`: **ordering must then hold the order** and never hand it over unpaid without
  an explicit override flag. ``ProviderUnavailable`` (503) is transient: retry with the same key.
- ``void_authorisation`` when an order is cancelled before hand-off.
- ``refund`` after capture, whole or per line, never above what was captured.
- ``order_payment`` tells whether an order is paid (``PaymentView.is_paid``).

Every call that moves money takes an idempotency key: the same key returns the first answer and moves
nothing again. Provider-visible ids (out_trade_no, refund request numbers) derive from the key, so even
a retry after a crash between the provider's answer and our commit cannot charge or refund twice.

Provider calls happen inside the database transaction, after the ledger postings that can fail: a
refused posting rolls back before any money moves outside, and a failed provider call rolls the
postings back. Only the wallet needs a balance check, and that is the ledger's guarded update.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from newretail.core.errors import Conflict, NotFound, ValidationFailed
from newretail.core.idempotency import JSONDict, run_idempotent
from newretail.core.money import Money
from newretail.core.uow import UnitOfWork
from newretail.payments import ledger
from newretail.payments.events import (
    PaymentAbandoned,
    PaymentAuthorised,
    PaymentCaptured,
    PaymentCaptureFailed,
    PaymentRefunded,
    PaymentVoided,
    WalletToppedUp,
)
from newretail.payments.ledger import EntryKind, InsufficientFunds, ProviderReference
from newretail.payments.model import (
    Channel,
    InvalidNotification,
    Method,
    PaymentFailed,
    PaymentStatus,
    PaymentView,
    ReconciliationReport,
    RefundExceedsCapture,
    RefundView,
    TopUpStatus,
    TopUpView,
    authorisation_amount,
    can_see_payment,
    check_refund_authority,
    plan_capture,
    plan_refund,
    reconcile,
)
from newretail.payments.providers import (
    ChargeRequest,
    ChargeStatus,
    Notification,
    PaymentProviders,
    TradeStatus,
    day_bounds,
)
from newretail.payments.repository import LedgerRepository, PaymentsRepository, TradeOwner
from newretail.tenancy.model import Principal, Role
from newretail.tenancy.repository import TenancyRepository

log = logging.getLogger(__name__)

_ID_NAMESPACE = uuid.UUID("5b0f6a52-8f0e-4b53-9f55-3c0a1f6d7e21")
MAX_REF_LENGTH = 64


def _derived_id(*parts: str) -> str:
    """A stable id from the request's identity, so a retried request reuses the provider's trade."""
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


def _reference(value: str, field: str) -> str:
    if not 1 <= len(value) <= MAX_REF_LENGTH:
        raise ValidationFailed(f"{field} must be 1 to {MAX_REF_LENGTH} characters", field=field)
    return value


def _provider_ref(method: Method, trade: str, request: str = "") -> ProviderReference | None:
    return None if method is Method.WALLET else ProviderReference(method.value, trade, request)


def _require_key(key: str) -> str:
    if not key:
        raise ValidationFailed("calls that move money need an idempotency key", field="idempotency_key")
    return key


# --- checkout: authorise --------------------------------------------------------------------------


def authorise_order(
    uow: UnitOfWork,
    providers: PaymentProviders,
    *,
    tenant_id: str,
    order_id: str,
    customer_id: str,
    store_id: str,
    amount: Money,
    variable_amount: Money | None = None,
    method: Method,
    channel: Channel = Channel.DIRECT,
    payment_code: str | None = None,
    idempotency_key: str,
) -> PaymentView:
    """Hold ``amount`` plus the configured margin on ``variable_amount`` (default: all of it).

    Wallet and test payments are authorised at once; an Alipay QR payment stays ``pending`` (with a
    ``qr_code`` to show) until Alipay's notification or an active query says the customer paid.
    """
    _reference(order_id, "order_id")
    variable = variable_amount if variable_amount is not None else amount
    if variable.currency != amount.currency:
        raise ValidationFailed("the variable part must be in the order's currency", field="variable_amount")
    margin, total = authorisation_amount(amount.amount, variable.amount, providers.settings.authorisation_margin_bps)
    provider = providers.get(method)
    request = {
        "order_id": order_id,
        "customer_id": customer_id,
        "store_id": store_id,
        "amount": amount.amount,
        "variable": variable.amount,
        "currency": amount.currency,
        "method": method.value,
        "channel": channel.value,
    }

    def work(u: UnitOfWork) -> JSONDict:
        payments = PaymentsRepository(u.conn)
        tenancy = TenancyRepository(u.conn)
        tenancy.store(tenant_id, store_id)
        tenancy.user(tenant_id, customer_id)
        _check_currency(tenancy, tenant_id, amount.currency)
        if payments.live_payment_for_order(tenant_id, order_id) is not None:
            raise Conflict("this order already has a live payment", order_id=order_id)
        payment_id = _derived_id(tenant_id, "authorise", order_id, idempotency_key)
        now = u.clock.now()
        payments.add_payment(
            id=payment_id,
            tenant_id=tenant_id,
            order_id=order_id,
            live_order_id=order_id,
            customer_id=customer_id,
            store_id=store_id,
            method=method.value,
            channel=channel.value,
            currency=amount.currency,
            status=PaymentStatus.PENDING.value,
            promised_minor=amount.amount,
            margin_minor=margin,
            authorised_minor=total,
            captured_minor=0,
            released_minor=0,
            refunded_minor=0,
            created_at=now,
            updated_at=now,
        )
        outcome = provider.authorise(
            ChargeRequest(
                trade=payment_id,
                amount=total,
                currency=amount.currency,
                subject=f"Order {order_id}",
                channel=channel,
                payment_code=payment_code,
            )
        )
        if outcome.status is ChargeStatus.DECLINED:
            raise PaymentFailed(
                f"the payment was declined: {outcome.decline_reason}", order_id=order_id, reason=outcome.decline_reason
            )
        payment = _load(payments, tenant_id, payment_id)
        if outcome.status is ChargeStatus.SUCCEEDED:
            _apply_authorisation(u, providers, payment, outcome.provider_trade_no)
        else:
            payments.set_pending_details(tenant_id, payment_id, outcome.qr_code, outcome.provider_trade_no, now)
        return _load(payments, tenant_id, payment_id).to_json()

    answer = run_idempotent(
        uow,
        tenant_id=tenant_id,
        scope="payments.authorise",
        key=_require_key(idempotency_key),
        request=request,
        work=work,
    )
    return PaymentView.from_json(answer)


def _apply_authorisation(
    u: UnitOfWork, providers: PaymentProviders, payment: PaymentView, provider_trade_no: str | None
) -> bool:
    """pending -> authorised, with its ledger entry; False if it was already applied (exactly once)."""
    payments = PaymentsRepository(u.conn)
    now = u.clock.now()
    if not payments.transition(
        payment.tenant_id,
        payment.id,
        PaymentStatus.PENDING,
        PaymentStatus.AUTHORISED,
        now,
        provider_trade_no=provider_trade_no,
    ):
        return False
    provider = providers.get(payment.method)
    journal = ledger.entry(
        EntryKind.AUTHORISATION,
        payment.currency,
        ledger.transfer(
            provider.funding_account(payment.customer_id, payment.currency),
            ledger.holds(payment.customer_id, payment.currency),
            payment.authorised,
        ),
        description=f"authorise order {payment.order_id}",
        payment_id=payment.id,
        provider_reference=_provider_ref(payment.method, payment.id),
    )
    try:
        LedgerRepository(u.conn).post(payment.tenant_id, journal, now)
    except InsufficientFunds as exc:
        raise PaymentFailed(
            "not enough money in the wallet for this order",
            order_id=payment.order_id,
            reason="insufficient_funds",
            needed=payment.authorised,
        ) from exc
    u.emit(
        PaymentAuthorised(
            tenant_id=payment.tenant_id,
            payment_id=payment.id,
            order_id=payment.order_id,
            method=payment.method.value,
            currency=payment.currency,
            amount=payment.authorised,
        )
    )
    return True


def _sync_pending(u: UnitOfWork, providers: PaymentProviders, payment: PaymentView) -> PaymentView:
    """Ask the provider (an active query is trusted, like a verified notification) about a pending payment."""
    if payment.status is not PaymentStatus.PENDING or payment.method is Method.WALLET:
        return payment
    state = providers.get(payment.method).query(payment.id)
    payments = PaymentsRepository(u.conn)
    if state.status is TradeStatus.PAID:
        if state.amount != payment.authorised:
            log.error(
                "provider reports %s paid for payment %s, expected %s", state.amount, payment.id, payment.authorised
            )
            return payment
        _apply_authorisation(u, providers, payment, state.provider_trade_no)
    elif state.status is TradeStatus.CLOSED:
        _abandon(u, payment)
    return _load(payments, payment.tenant_id, payment.id)


def _abandon(u: UnitOfWork, payment: PaymentView) -> bool:
    if not PaymentsRepository(u.conn).transition(
        payment.tenant_id, payment.id, PaymentStatus.PENDING, PaymentStatus.FAILED, u.clock.now()
    ):
        return False
    u.emit(PaymentAbandoned(tenant_id=payment.tenant_id, payment_id=payment.id, order_id=payment.order_id))
    return True


def sync_payment(uow: UnitOfWork, providers: PaymentProviders, *, tenant_id: str, payment_id: str) -> PaymentView:
    """Settle a pending payment by asking its provider (when a notification is late or lost)."""
    with uow:
        payments = PaymentsRepository(uow.conn)
        payment = payments.payment(tenant_id, payment_id, lock=True)
        if payment is None:
            raise NotFound("payment not found", payment_id=payment_id)
        payment = _sync_pending(uow, providers, payment)
        uow.commit()
        return payment


# --- hand-off: capture ----------------------------------------------------------------------------


def capture_order(
    uow: UnitOfWork,
    providers: PaymentProviders,
    *,
    tenant_id: str,
    order_id: str,
    amount: Money,
    lines: Mapping[str, Money] | None = None,
    idempotency_key: str,
) -> PaymentView:
    """Capture the packed total (optionally per order line, for per-line refunds) and release the rest.

    Raises :class:`PaymentFailed` after recording the failure when the money cannot be collected:
    the customer never paid, the packed total exceeds what a provider holds, the provider refused.
    """
    line_amounts = _line_amounts(lines, amount.currency)
    request = {"order_id": order_id, "amount": amount.amount, "currency": amount.currency, "lines": line_amounts}

    def work(u: UnitOfWork) -> JSONDict:
        payments = PaymentsRepository(u.conn)
        payment = payments.live_payment_for_order(tenant_id, order_id, lock=True)
        if payment is None:
            raise PaymentFailed("this order has no live payment to capture", order_id=order_id, reason="no_payment")
        if payment.currency != amount.currency:
            raise ValidationFailed("capture in the payment's currency", field="currency")
        if payment.status is PaymentStatus.CAPTURED:
            if payment.captured == amount.amount and (line_amounts is None or _lines_equal(payment, line_amounts)):
                return payment.to_json()  # captured already, by the same request under another key
            raise Conflict("this order was already captured for another amount", captured=payment.captured)
        payment = _sync_pending(u, providers, payment)
        provider = providers.get(payment.method)
        plan = plan_capture(payment, amount.amount, line_amounts, can_take_extra=payment.method is Method.WALLET)
        now = u.clock.now()
        store_sales = ledger.store_sales(payment.store_id, payment.currency)
        funding = provider.funding_account(payment.customer_id, payment.currency)
        hold = ledger.holds(payment.customer_id, payment.currency)
        book = LedgerRepository(u.conn)
        if plan.captured:
            legs: list[tuple[ledger.Posting, ...]] = []
            if plan.from_hold:
                legs.append(ledger.transfer(hold, store_sales, plan.from_hold))
            if plan.extra:  # wallet only: the packed total outgrew the margin; the balance pays the rest
                legs.append(ledger.transfer(funding, store_sales, plan.extra))
            try:
                book.post(
                    tenant_id,
                    ledger.entry(
                        EntryKind.CAPTURE,
                        payment.currency,
                        *legs,
                        description=f"capture order {order_id}",
                        payment_id=payment.id,
                        provider_reference=_provider_ref(payment.method, payment.id),
                    ),
                    now,
                )
            except InsufficientFunds as exc:
                raise PaymentFailed(
                    "the packed total exceeds the hold and the wallet cannot cover the difference",
                    order_id=order_id,
                    reason="insufficient_funds",
                ) from exc
        release_request = f"{payment.id}-release"
        if plan.release:
            book.post(
                tenant_id,
                ledger.entry(
                    EntryKind.RELEASE,
                    payment.currency,
                    ledger.transfer(hold, funding, plan.release),
                    description=f"release the unused part of order {order_id}",
                    payment_id=payment.id,
                    provider_reference=_provider_ref(payment.method, payment.id, release_request),
                ),
                now,
            )
        provider.capture(
            payment.id,
            authorised=payment.authorised,
            amount=plan.from_hold,
            currency=payment.currency,
            release_request=release_request,
        )
        if not payments.transition(
            tenant_id,
            payment.id,
            PaymentStatus.AUTHORISED,
            PaymentStatus.CAPTURED,
            now,
            captured_minor=plan.captured,
            released_minor=plan.release,
            capture_failure=None,
        ):
            raise Conflict("the payment changed while capturing; retry", payment_id=payment.id)
        payments.add_lines(tenant_id, payment.id, line_amounts or {})
        u.emit(
            PaymentCaptured(
                tenant_id=tenant_id,
                payment_id=payment.id,
                order_id=order_id,
                currency=payment.currency,
                captured=plan.captured,
                released=plan.release,
            )
        )
        return _load(payments, tenant_id, payment.id).to_json()

    try:
        answer = run_idempotent(
            uow,
            tenant_id=tenant_id,
            scope="payments.capture",
            key=_require_key(idempotency_key),
            request=request,
            work=work,
        )
    except PaymentFailed as failure:
        _record_capture_failure(uow, tenant_id, order_id, failure.message)
        raise
    return PaymentView.from_json(answer)


def _record_capture_failure(uow: UnitOfWork, tenant_id: str, order_id: str, reason: str) -> None:
    with uow:
        payments = PaymentsRepository(uow.conn)
        payment = payments.live_payment_for_order(tenant_id, order_id, lock=True)
        if payment is not None:
            payments.set_capture_failure(tenant_id, payment.id, reason, uow.clock.now())
        uow.emit(
            PaymentCaptureFailed(
                tenant_id=tenant_id, order_id=order_id, payment_id=payment.id if payment else None, reason=reason
            )
        )
        uow.commit()
    log.warning("capture failed for order %s: %s; the order must be held", order_id, reason)


def _line_amounts(lines: Mapping[str, Money] | None, currency: str) -> dict[str, int] | None:
    if lines is None:
        return None
    result: dict[str, int] = {}
    for ref, money in lines.items():
        _reference(ref, "line")
        if money.currency != currency:
            raise ValidationFailed("every line is in the order's currency", field="lines")
        result[ref] = money.amount
    return result


def _lines_equal(payment: PaymentView, lines: Mapping[str, int]) -> bool:
    return {ref: captured for ref, (captured, _refunded) in payment.lines.items()} == dict(lines)


# --- cancellation: void ---------------------------------------------------------------------------


def void_authorisation(
    uow: UnitOfWork, providers: PaymentProviders, *, tenant_id: str, order_id: str, idempotency_key: str
) -> PaymentView:
    """Give the whole hold back (or close the provider trade if the customer never paid)."""

    def work(u: UnitOfWork) -> JSONDict:
        payments = PaymentsRepository(u.conn)
        payment = payments.live_payment_for_order(tenant_id, order_id, lock=True)
        if payment is None:
            earlier = payments.payments_for_order(tenant_id, order_id)
            if earlier and earlier[-1].status in (PaymentStatus.VOIDED, PaymentStatus.FAILED):
                return earlier[-1].to_json()  # nothing is held any more
            raise NotFound("this order has no payment", order_id=order_id)
        if payment.status is PaymentStatus.CAPTURED:
            raise Conflict("a captured payment is refunded, not voided", payment_id=payment.id)
        payment = _sync_pending(u, providers, payment)
        provider = providers.get(payment.method)
        now = u.clock.now()
        request = f"{payment.id}-void"
        if payment.status is PaymentStatus.FAILED:
            return payment.to_json()
        if payment.status is PaymentStatus.PENDING:
            provider.void(payment.id, paid=0, currency=payment.currency, request=request)
            payments.transition(tenant_id, payment.id, PaymentStatus.PENDING, PaymentStatus.VOIDED, now)
            released = 0
        else:
            LedgerRepository(u.conn).post(
                tenant_id,
                ledger.entry(
                    EntryKind.VOID,
                    payment.currency,
                    ledger.transfer(
                        ledger.holds(payment.customer_id, payment.currency),
                        provider.funding_account(payment.customer_id, payment.currency),
                        payment.authorised,
                    ),
                    description=f"void order {order_id}",
                    payment_id=payment.id,
                    provider_reference=_provider_ref(payment.method, payment.id, request),
                ),
                now,
            )
            provider.void(payment.id, paid=payment.authorised, currency=payment.currency, request=request)
            if not payments.transition(
                tenant_id,
                payment.id,
                PaymentStatus.AUTHORISED,
                PaymentStatus.VOIDED,
                now,
                released_minor=payment.authorised,
            ):
                raise Conflict("the payment changed while voiding; retry", payment_id=payment.id)
            released = payment.authorised
        u.emit(
            PaymentVoided(
                tenant_id=tenant_id,
                payment_id=payment.id,
                order_id=order_id,
                currency=payment.currency,
                released=released,
            )
        )
        return _load(payments, tenant_id, payment.id).to_json()

    answer = run_idempotent(
        uow,
        tenant_id=tenant_id,
        scope="payments.void",
        key=_require_key(idempotency_key),
        request={"order_id": order_id},
        work=work,
    )
    return PaymentView.from_json(answer)


# --- after hand-off: refund -----------------------------------------------------------------------


def refund(
    uow: UnitOfWork,
    providers: PaymentProviders,
    *,
    tenant_id: str,
    order_id: str | None = None,
    payment_id: str | None = None,
    amount: Money | None = None,
    lines: Mapping[str, Money] | None = None,
    reason: str,
    actor: Principal | None,
    idempotency_key: str,
) -> RefundView:
    """Refund a captured payment to its original method: all that is left (no amount, no lines),
    an amount, or per line (e.g. a damaged item). Never more than was captured.

    ``actor`` is the API user (role and limit checks apply); ``None`` means a trusted internal caller.
    """
    if (order_id is None) == (payment_id is None):
        raise ValidationFailed("name the payment by order_id or payment_id, one of them")
    if not reason.strip() or len(reason) > 300:
        raise ValidationFailed("a refund needs a reason of at most 300 characters", field="reason")
    request: JSONDict = {
        "order_id": order_id,
        "payment_id": payment_id,
        "amount": amount.amount if amount else None,
        "currency": amount.currency if amount else None,
        "lines": {k: [v.amount, v.currency] for k, v in sorted((lines or {}).items())},
        "reason": reason,
    }

    def work(u: UnitOfWork) -> JSONDict:
        payments = PaymentsRepository(u.conn)
        if payment_id is not None:
            payment = payments.payment(tenant_id, payment_id, lock=True)
        else:
            payment = payments.live_payment_for_order(tenant_id, order_id or "", lock=True)
        if payment is None or (actor is not None and not can_see_payment(actor, payment)):
            raise NotFound("payment not found", payment_id=payment_id, order_id=order_id)
        if amount is not None and amount.currency != payment.currency:
            raise ValidationFailed("refund in the payment's currency", field="currency")
        plan = plan_refund(
            payment,
            amount=amount.amount if amount else None,
            lines=_line_amounts(lines, payment.currency) if lines else None,
        )
        check_refund_authority(actor, payment, plan.amount, providers.settings.manager_refund_limit_minor)
        refund_id = _derived_id(tenant_id, "refund", payment.id, idempotency_key)
        now = u.clock.now()
        if not payments.add_refunded(tenant_id, payment.id, plan.amount, now):
            raise RefundExceedsCapture("a refund would exceed what was captured", payment_id=payment.id)
        for ref, value in sorted(plan.lines.items()):
            if not payments.add_line_refunded(tenant_id, payment.id, ref, value):
                raise RefundExceedsCapture(f"line {ref!r} would be refunded beyond its capture", line=ref)
        provider = providers.get(payment.method)
        LedgerRepository(u.conn).post(
            tenant_id,
            ledger.entry(
                EntryKind.REFUND,
                payment.currency,
                ledger.transfer(
                    ledger.refunds(payment.store_id, payment.currency),
                    provider.funding_account(payment.customer_id, payment.currency),
                    plan.amount,
                ),
                description=f"refund order {payment.order_id}: {reason}",
                payment_id=payment.id,
                refund_id=refund_id,
                provider_reference=_provider_ref(payment.method, payment.id, refund_id),
            ),
            now,
        )
        provider.refund(payment.id, amount=plan.amount, currency=payment.currency, request=refund_id)
        payments.add_refund(
            id=refund_id,
            tenant_id=tenant_id,
            payment_id=payment.id,
            amount_minor=plan.amount,
            currency=payment.currency,
            lines=plan.lines,
            reason=reason,
            requested_by=actor.subject_id if actor else None,
            created_at=now,
        )
        u.emit(
            PaymentRefunded(
                tenant_id=tenant_id,
                payment_id=payment.id,
                order_id=payment.order_id,
                refund_id=refund_id,
                currency=payment.currency,
                amount=plan.amount,
                lines=plan.lines,
            )
        )
        view = RefundView(
            id=refund_id,
            payment_id=payment.id,
            order_id=payment.order_id,
            currency=payment.currency,
            amount=plan.amount,
            lines=plan.lines,
            reason=reason,
            created_at=now,
        )
        return view.to_json()

    answer = run_idempotent(
        uow, tenant_id=tenant_id, scope="payments.refund", key=_require_key(idempotency_key), request=request, work=work
    )
    return RefundView.from_json(answer)


# --- wallet ---------------------------------------------------------------------------------------


def top_up_wallet(
    uow: UnitOfWork,
    providers: PaymentProviders,
    *,
    tenant_id: str,
    customer_id: str,
    amount: Money,
    method: Method,
    channel: Channel = Channel.DIRECT,
    payment_code: str | None = None,
    idempotency_key: str,
) -> TopUpView:
    """Add stored value, paid through a provider (test token, Alipay QR or barcode)."""
    if method is Method.WALLET:
        raise ValidationFailed("a wallet is topped up through a provider, not from itself", field="method")
    if not 0 < amount.amount <= providers.settings.max_topup_minor:
        raise ValidationFailed(f"a top-up is 1 to {providers.settings.max_topup_minor} minor units", field="amount")
    provider = providers.get(method)
    request = {
        "customer_id": customer_id,
        "amount": amount.amount,
        "currency": amount.currency,
        "method": method.value,
        "channel": channel.value,
    }

    def work(u: UnitOfWork) -> JSONDict:
        tenancy = TenancyRepository(u.conn)
        tenancy.user(tenant_id, customer_id)
        _check_currency(tenancy, tenant_id, amount.currency)
        payments = PaymentsRepository(u.conn)
        topup_id = _derived_id(tenant_id, "topup", customer_id, idempotency_key)
        now = u.clock.now()
        payments.add_topup(
            id=topup_id,
            tenant_id=tenant_id,
            customer_id=customer_id,
            method=method.value,
            channel=channel.value,
            currency=amount.currency,
            amount_minor=amount.amount,
            status=TopUpStatus.PENDING.value,
            created_at=now,
            updated_at=now,
        )
        outcome = provider.authorise(
            ChargeRequest(
                trade=topup_id,
                amount=amount.amount,
                currency=amount.currency,
                subject="Wallet top-up",
                channel=channel,
                payment_code=payment_code,
            )
        )
        if outcome.status is ChargeStatus.DECLINED:
            raise PaymentFailed(f"the top-up was declined: {outcome.decline_reason}", reason=outcome.decline_reason)
        topup = _load_topup(payments, tenant_id, topup_id)
        if outcome.status is ChargeStatus.SUCCEEDED:
            _complete_topup(u, topup, outcome.provider_trade_no)
        else:
            payments.set_topup_pending_details(tenant_id, topup_id, outcome.qr_code, outcome.provider_trade_no, now)
        return _load_topup(payments, tenant_id, topup_id).to_json()

    answer = run_idempotent(
        uow, tenant_id=tenant_id, scope="payments.topup", key=_require_key(idempotency_key), request=request, work=work
    )
    return TopUpView.from_json(answer)


def _complete_topup(u: UnitOfWork, topup: TopUpView, provider_trade_no: str | None) -> bool:
    now = u.clock.now()
    if not PaymentsRepository(u.conn).topup_transition(
        topup.tenant_id,
        topup.id,
        TopUpStatus.PENDING,
        TopUpStatus.SUCCEEDED,
        now,
        provider_trade_no=provider_trade_no,
    ):
        return False
    LedgerRepository(u.conn).post(
        topup.tenant_id,
        ledger.entry(
            EntryKind.TOP_UP,
            topup.currency,
            ledger.transfer(
                ledger.provider_clearing(topup.method.value, topup.currency),
                ledger.wallet(topup.customer_id, topup.currency),
                topup.amount,
            ),
            description="wallet top-up",
            topup_id=topup.id,
            provider_reference=ProviderReference(topup.method.value, topup.id),
        ),
        now,
    )
    u.emit(
        WalletToppedUp(
            tenant_id=topup.tenant_id,
            customer_id=topup.customer_id,
            topup_id=topup.id,
            currency=topup.currency,
            amount=topup.amount,
        )
    )
    return True


def wallet_balance(uow: UnitOfWork, *, tenant_id: str, customer_id: str, currency: str) -> Money:
    with uow:
        return Money(LedgerRepository(uow.conn).balance(tenant_id, ledger.wallet(customer_id, currency)), currency)


def get_topup(uow: UnitOfWork, *, tenant_id: str, topup_id: str) -> TopUpView:
    with uow:
        return _load_topup(PaymentsRepository(uow.conn), tenant_id, topup_id)


# --- provider notifications -----------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationResult:
    outcome: str  # applied | no_change | duplicate | unknown_trade | amount_mismatch
    trade: str

    @property
    def acknowledged(self) -> bool:
        """Whether to tell the provider to stop redelivering (Alipay: answer ``success``)."""
        return self.outcome != "unknown_trade"


def handle_notification(
    uow: UnitOfWork, providers: PaymentProviders, *, method: Method, params: Mapping[str, str]
) -> NotificationResult:
    """Process a provider's asynchronous notification exactly once, whatever the order or repetition.

    Forged or tampered notifications raise :class:`InvalidNotification` (and are logged). A repeat
    of one already processed changes nothing. A notification that would move a payment backwards
    (late, out of order) changes nothing either: states only move forward, each move once.
    """
    provider = providers.get(method)
    try:
        note = provider.parse_notification(params)
    except InvalidNotification as exc:
        log.warning(
            "rejected %s notification for trade %r: %s",
            method.value,
            params.get("out_trade_no"),
            exc.message,
        )
        raise
    with uow:
        payments = PaymentsRepository(uow.conn)
        owner = payments.trade_owner(note.trade)
        if owner is None:
            # Possibly our own transaction has not committed yet: not acknowledged, so it comes again.
            log.warning("%s notification for unknown trade %s", method.value, note.trade)
            return NotificationResult("unknown_trade", note.trade)
        fresh = payments.claim_notification(
            tenant_id=owner.tenant_id,
            provider=method.value,
            notify_id=note.notify_id,
            trade=note.trade,
            trade_status=note.status.value,
            outcome="received",
            payload=dict(params),
            received_at=uow.clock.now(),
        )
        if not fresh:
            log.info("%s notification %s was already processed; ignored", method.value, note.notify_id)
            uow.commit()
            return NotificationResult("duplicate", note.trade)
        outcome = _apply_notification(uow, providers, owner, note)
        payments.set_notification_outcome(method.value, note.notify_id, outcome)
        uow.commit()
        return NotificationResult(outcome, note.trade)


def _apply_notification(u: UnitOfWork, providers: PaymentProviders, owner: TradeOwner, note: Notification) -> str:
    payments = PaymentsRepository(u.conn)
    if owner.kind == "topup":
        topup = _load_topup(payments, owner.tenant_id, owner.id)
        if topup.status is not TopUpStatus.PENDING:
            return "no_change"
        if note.status is TradeStatus.PAID:
            if note.amount != topup.amount:
                log.error("notification amount %s for top-up %s, expected %s", note.amount, topup.id, topup.amount)
                return "amount_mismatch"
            return "applied" if _complete_topup(u, topup, note.provider_trade_no) else "no_change"
        if note.status is TradeStatus.CLOSED:
            closed = payments.topup_transition(
                owner.tenant_id, topup.id, TopUpStatus.PENDING, TopUpStatus.FAILED, u.clock.now()
            )
            return "applied" if closed else "no_change"
        return "no_change"
    payment = payments.payment(owner.tenant_id, owner.id, lock=True)
    if payment is None or payment.status is not PaymentStatus.PENDING:
        return "no_change"
    if note.status is TradeStatus.PAID:
        if note.amount != payment.authorised:
            log.error("notification amount %s for payment %s, expected %s", note.amount, payment.id, payment.authorised)
            return "amount_mismatch"
        return "applied" if _apply_authorisation(u, providers, payment, note.provider_trade_no) else "no_change"
    if note.status is TradeStatus.CLOSED:
        return "applied" if _abandon(u, payment) else "no_change"
    return "no_change"


# --- reads ----------------------------------------------------------------------------------------


def get_payment(uow: UnitOfWork, *, tenant_id: str, payment_id: str, actor: Principal | None = None) -> PaymentView:
    with uow:
        payment = PaymentsRepository(uow.conn).payment(tenant_id, payment_id)
    if payment is None or (actor is not None and not can_see_payment(actor, payment)):
        raise NotFound("payment not found", payment_id=payment_id)
    return payment


def order_payment(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> PaymentView | None:
    """The order's live payment, else its latest one; ``None`` if it never had one."""
    with uow:
        payments = PaymentsRepository(uow.conn)
        live = payments.live_payment_for_order(tenant_id, order_id)
        if live is not None:
            return live
        history = payments.payments_for_order(tenant_id, order_id)
        return history[-1] if history else None


def list_payments(uow: UnitOfWork, *, actor: Principal, limit: int = 100) -> list[PaymentView]:
    """Customers get their own; staff bound to a store get that store's; partners get none."""
    with uow:
        payments = PaymentsRepository(uow.conn)
        if actor.role is Role.CUSTOMER:
            return payments.list_payments(actor.tenant_id, customer_id=actor.subject_id, limit=limit)
        if actor.role is Role.PARTNER:
            return []
        return payments.list_payments(actor.tenant_id, store_id=actor.store_id, limit=limit)


def list_refunds(
    uow: UnitOfWork, *, tenant_id: str, payment_id: str, actor: Principal | None = None
) -> list[RefundView]:
    payment = get_payment(uow, tenant_id=tenant_id, payment_id=payment_id, actor=actor)
    with uow:
        return PaymentsRepository(uow.conn).refunds_for(tenant_id, payment)


# --- settlement, verification, reconciliation -----------------------------------------------------


def record_settlement(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    method: Method,
    gross: Money,
    fee: Money,
    reference: str,
    idempotency_key: str,
) -> str:
    """The provider paid out ``gross`` less ``fee`` to our bank: clearing goes down, bank and fees up."""
    if method is Method.WALLET:
        raise ValidationFailed("the wallet holds no money outside; nothing settles", field="method")
    if gross.currency != fee.currency or not 0 <= fee.amount < gross.amount:
        raise ValidationFailed("a settlement is a positive gross with a smaller fee, in one currency")
    _reference(reference, "reference")

    def work(u: UnitOfWork) -> JSONDict:
        legs: list[ledger.Posting] = [
            ledger.Posting(ledger.bank(gross.currency), gross.amount - fee.amount),
            ledger.Posting(ledger.provider_clearing(method.value, gross.currency), -gross.amount),
        ]
        if fee.amount:
            legs.append(ledger.Posting(ledger.fees(method.value, gross.currency), fee.amount))
        entry_id = LedgerRepository(u.conn).post(
            tenant_id,
            ledger.entry(EntryKind.SETTLEMENT, gross.currency, *legs, description=f"settlement {reference}"),
            u.clock.now(),
        )
        return {"entry_id": entry_id}

    answer = run_idempotent(
        uow,
        tenant_id=tenant_id,
        scope="payments.settlement",
        key=_require_key(idempotency_key),
        request={"method": method.value, "gross": gross.amount, "fee": fee.amount, "reference": reference},
        work=work,
    )
    return str(answer["entry_id"])


@dataclass(frozen=True)
class LedgerVerification:
    entries: int
    postings: int
    accounts: int
    unbalanced: list[dict[str, Any]]
    mismatched_accounts: list[dict[str, Any]]
    orphan_postings: int

    @property
    def ok(self) -> bool:
        return not self.unbalanced and not self.mismatched_accounts and not self.orphan_postings


def verify_ledger(uow: UnitOfWork) -> LedgerVerification:
    """Prove the books: every entry balances, and every cached balance equals the sum of its postings."""
    with uow:
        book = LedgerRepository(uow.conn)
        entries, postings, accounts = book.counts()
        return LedgerVerification(
            entries=entries,
            postings=postings,
            accounts=accounts,
            unbalanced=book.unbalanced_entries(),
            mismatched_accounts=book.balance_mismatches(),
            orphan_postings=book.postings_without_entry_or_account(),
        )


def reconcile_provider(
    uow: UnitOfWork, providers: PaymentProviders, *, method: Method, day: date
) -> ReconciliationReport:
    """Compare what the ledger says moved at a provider on ``day`` (UTC) with the provider's own records."""
    if method is Method.WALLET:
        raise ValidationFailed("the wallet lives in our ledger; there is no outside record to compare", field="method")
    provider = providers.get(method)
    start, end = day_bounds(day)
    with uow:
        ours = LedgerRepository(uow.conn).provider_movements(method.value, start, end)
    theirs = provider.records(day)
    return reconcile(method.value, day.isoformat(), ours, theirs)


def tenant_currency(uow: UnitOfWork, tenant_id: str) -> str:
    with uow:
        return str(TenancyRepository(uow.conn).tenant(tenant_id).currency)


def require_customer(uow: UnitOfWork, *, tenant_id: str, customer_id: str) -> None:
    with uow:
        TenancyRepository(uow.conn).user(tenant_id, customer_id)


# --- helpers --------------------------------------------------------------------------------------


def _load(payments: PaymentsRepository, tenant_id: str, payment_id: str) -> PaymentView:
    payment = payments.payment(tenant_id, payment_id)
    if payment is None:
        raise NotFound("payment not found", payment_id=payment_id)
    return payment


def _load_topup(payments: PaymentsRepository, tenant_id: str, topup_id: str) -> TopUpView:
    topup = payments.topup(tenant_id, topup_id)
    if topup is None:
        raise NotFound("top-up not found", topup_id=topup_id)
    return topup


def _check_currency(tenancy: TenancyRepository, tenant_id: str, currency: str) -> None:
    expected = tenancy.tenant(tenant_id).currency
    if currency != expected:
        raise ValidationFailed(f"this retailer takes {expected}, not {currency}", field="currency")
