"""Payment rules: states, the authorisation margin, capture and refund plans, who may refund how much,
reconciliation. Pure Python, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from newretail.core.errors import Conflict, DomainError, Forbidden, ValidationFailed
from newretail.tenancy.model import Principal, Role

BASIS_POINTS = 10_000


class Method(StrEnum):
    """How the customer pays; each has a provider of the same name."""

    WALLET = "wallet"
    ALIPAY = "alipay"
    TEST = "test"


class Channel(StrEnum):
    """How the customer approves a provider payment."""

    QR = "qr"  # online / in-app: we show a QR code (Alipay pre-create), the customer scans it
    BARCODE = "barcode"  # in store: the customer shows a payment code, we scan it (Alipay trade pay)
    DIRECT = "direct"  # no customer step: wallet balance, test tokens


class PaymentStatus(StrEnum):
    PENDING = "pending"  # waiting for the customer to approve at the provider
    AUTHORISED = "authorised"  # money held for the order
    CAPTURED = "captured"  # the packed total is ours; the rest went back
    VOIDED = "voided"  # the hold went back in full
    FAILED = "failed"  # the customer never paid (the provider closed the trade)


TERMINAL = frozenset({PaymentStatus.CAPTURED, PaymentStatus.VOIDED, PaymentStatus.FAILED})


class TopUpStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentFailed(DomainError):
    """Money could not be collected. For a capture this is the seam to ordering: hold the order.

    ``capture_order`` commits the failure (``PaymentCaptureFailed`` event, ``capture_failure`` on the
    payment) before raising, so the order is held even if the caller crashes right after.
    """

    code = "payment_failed"
    http_status = 402


class RefundExceedsCapture(DomainError):
    code = "refund_exceeds_capture"
    http_status = 409


class ProviderUnavailable(DomainError):
    """The provider could not be reached or answered nonsense: retry with the same Idempotency-Key."""

    code = "provider_unavailable"
    http_status = 503


class RefundLimitExceeded(Forbidden):
    code = "refund_limit_exceeded"


class InvalidNotification(DomainError):
    """A provider notification whose signature, app or amounts do not check out."""

    code = "invalid_notification"
    http_status = 400


# --- amounts --------------------------------------------------------------------------------------

_DECIMAL_AMOUNT = re.compile(r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$")


def format_decimal_amount(minor: int) -> str:
    """Minor units as the provider's decimal string: 1234 -> "12.34" (two-decimal currencies)."""
    if minor < 0:
        raise ValueError("provider amounts are never negative")
    units, cents = divmod(minor, 100)
    return f"{units}.{cents:02d}"


def parse_decimal_amount(text: str) -> int:
    """The provider's decimal string back to minor units, refusing anything but plain decimals."""
    if not isinstance(text, str) or not _DECIMAL_AMOUNT.match(text):
        raise ValueError(f"not a decimal amount: {text!r}")
    return int(Decimal(text) * 100)


def authorisation_amount(promised: int, variable: int, margin_bps: int) -> tuple[int, int]:
    """(margin, amount to authorise): the promised total plus ``margin_bps`` of its variable part.

    The variable part is what weighing and substitutions can change; the margin rounds up so the
    hold always covers it.
    """
    if promised <= 0:
        raise ValidationFailed("an order total must be positive", field="amount")
    if not 0 <= variable <= promised:
        raise ValidationFailed("the variable part must be between 0 and the total", field="variable_amount")
    if not 0 <= margin_bps <= BASIS_POINTS:
        raise ValueError("the authorisation margin is 0 to 100%")
    margin = -(-variable * margin_bps // BASIS_POINTS)
    return margin, promised + margin


# --- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentView:
    id: str
    tenant_id: str
    order_id: str
    customer_id: str
    store_id: str
    method: Method
    channel: Channel
    currency: str
    status: PaymentStatus
    promised: int
    margin: int
    authorised: int
    captured: int
    released: int
    refunded: int
    created_at: datetime
    updated_at: datetime
    provider_trade_no: str | None = None
    qr_code: str | None = None
    capture_failure: str | None = None
    lines: dict[str, tuple[int, int]] = field(default_factory=dict)  # line -> (captured, refunded)

    @property
    def is_paid(self) -> bool:
        """What ordering checks before handing an order over."""
        return self.status is PaymentStatus.CAPTURED

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded if self.status is PaymentStatus.CAPTURED else 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        data["lines"] = {ref: list(v) for ref, v in self.lines.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentView:
        values = dict(data)
        values["method"] = Method(values["method"])
        values["channel"] = Channel(values["channel"])
        values["status"] = PaymentStatus(values["status"])
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        values["updated_at"] = datetime.fromisoformat(values["updated_at"])
        values["lines"] = {ref: (int(v[0]), int(v[1])) for ref, v in values.get("lines", {}).items()}
        return cls(**values)


@dataclass(frozen=True)
class TopUpView:
    id: str
    tenant_id: str
    customer_id: str
    method: Method
    channel: Channel
    currency: str
    amount: int
    status: TopUpStatus
    created_at: datetime
    provider_trade_no: str | None = None
    qr_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TopUpView:
        values = dict(data)
        values["method"] = Method(values["method"])
        values["channel"] = Channel(values["channel"])
        values["status"] = TopUpStatus(values["status"])
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        return cls(**values)


@dataclass(frozen=True)
class RefundView:
    id: str
    payment_id: str
    order_id: str
    currency: str
    amount: int
    lines: dict[str, int]
    reason: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefundView:
        values = dict(data)
        values["created_at"] = datetime.fromisoformat(values["created_at"])
        return cls(**values)


# --- capture and refund plans ---------------------------------------------------------------------


@dataclass(frozen=True)
class CapturePlan:
    from_hold: int  # captured out of the authorised hold
    extra: int  # captured beyond the hold (wallet only: taken from the balance)
    release: int  # authorised but not captured: goes back to the customer

    @property
    def captured(self) -> int:
        return self.from_hold + self.extra


def plan_capture(
    payment: PaymentView, amount: int, lines: Mapping[str, int] | None, *, can_take_extra: bool
) -> CapturePlan:
    if payment.status is not PaymentStatus.AUTHORISED:
        raise PaymentFailed(
            f"payment is {payment.status.value}, not authorised: nothing to capture",
            order_id=payment.order_id,
            status=payment.status.value,
        )
    if amount < 0:
        raise ValidationFailed("a capture amount cannot be negative", field="amount")
    if lines is not None:
        if any(v < 0 for v in lines.values()):
            raise ValidationFailed("line amounts cannot be negative", field="lines")
        if sum(lines.values()) != amount:
            raise ValidationFailed("the lines must add up to the captured amount", field="lines")
    extra = max(0, amount - payment.authorised)
    if extra and not can_take_extra:
        raise PaymentFailed(
            "the packed total exceeds the authorised amount",
            order_id=payment.order_id,
            authorised=payment.authorised,
            packed=amount,
        )
    from_hold = amount - extra
    return CapturePlan(from_hold=from_hold, extra=extra, release=payment.authorised - from_hold)


@dataclass(frozen=True)
class RefundPlan:
    amount: int
    lines: dict[str, int]


def plan_refund(payment: PaymentView, *, amount: int | None, lines: Mapping[str, int] | None) -> RefundPlan:
    """Whole (neither given), an amount, or per line; never more than was captured and not yet refunded."""
    if payment.status is not PaymentStatus.CAPTURED:
        raise Conflict(f"only a captured payment can be refunded; this one is {payment.status.value}")
    remaining = payment.captured - payment.refunded
    if lines:
        if amount is not None:
            raise ValidationFailed("give either lines or an amount, not both", field="lines")
        if not payment.lines:
            raise ValidationFailed("this payment was captured without lines; refund an amount", field="lines")
        for ref, value in lines.items():
            if ref not in payment.lines:
                raise ValidationFailed(f"unknown line {ref!r}", field="lines")
            if value <= 0:
                raise ValidationFailed("a line refund must be positive", field="lines")
            captured, refunded = payment.lines[ref]
            if value > captured - refunded:
                raise RefundExceedsCapture(
                    f"line {ref!r} has {captured - refunded} left to refund", line=ref, requested=value
                )
        total = sum(lines.values())
    elif amount is not None:
        if amount <= 0:
            raise ValidationFailed("a refund must be positive", field="amount")
        total = amount
    else:
        total = remaining
    if total <= 0:
        raise RefundExceedsCapture("nothing is left to refund", payment_id=payment.id)
    if total > remaining:
        raise RefundExceedsCapture(
            f"a refund of {total} exceeds the {remaining} captured and not yet refunded",
            payment_id=payment.id,
            requested=total,
            refundable=remaining,
        )
    return RefundPlan(amount=total, lines=dict(lines or {}))


def check_refund_authority(actor: Principal | None, payment: PaymentView, amount: int, manager_limit: int) -> None:
    """Admins refund anything; store managers refund their own store's payments up to a limit.

    ``actor=None`` is a trusted internal caller (another context's service), not an API user.
    """
    if actor is None or actor.role is Role.TENANT_ADMIN:
        return
    if actor.role is not Role.STORE_MANAGER:
        raise Forbidden("only store managers and admins issue refunds", role=actor.role.value)
    if actor.store_id is not None and actor.store_id != payment.store_id:
        raise Forbidden("store managers refund only their own store's payments")
    if amount > manager_limit:
        raise RefundLimitExceeded(
            f"refunds above {manager_limit} minor units need an admin", limit=manager_limit, requested=amount
        )


def can_see_payment(actor: Principal, payment: PaymentView) -> bool:
    """Customers see only their own payments; staff bound to a store see that store's."""
    if actor.role is Role.CUSTOMER:
        return payment.customer_id == actor.subject_id
    if actor.role is Role.PARTNER:
        return False
    return actor.store_id is None or actor.store_id == payment.store_id


# --- reconciliation -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ReconKey:
    trade: str  # our out_trade_no
    request: str  # refund request number; "" for the payment itself
    currency: str


@dataclass(frozen=True)
class Mismatch:
    key: ReconKey
    problem: str  # missing_in_ledger | missing_at_provider | amount_differs
    ledger_amount: int | None
    provider_amount: int | None


@dataclass(frozen=True)
class ReconciliationReport:
    provider: str
    day: str
    matched: int
    ledger_total: int
    provider_total: int
    mismatches: list[Mismatch]

    @property
    def clean(self) -> bool:
        return not self.mismatches


def reconcile(
    provider: str, day: str, ledger: Iterable[tuple[ReconKey, int]], records: Iterable[tuple[ReconKey, int]]
) -> ReconciliationReport:
    """Compare money moved at the provider (+ in, - out) as our ledger and the provider see it."""
    ours: dict[ReconKey, int] = {}
    for key, amount in ledger:
        ours[key] = ours.get(key, 0) + amount
    theirs: dict[ReconKey, int] = {}
    for key, amount in records:
        theirs[key] = theirs.get(key, 0) + amount
    mismatches: list[Mismatch] = []
    matched = 0
    for key in sorted(ours.keys() | theirs.keys()):
        mine, its = ours.get(key), theirs.get(key)
        if mine == its:
            matched += 1
        elif its is None:
            mismatches.append(Mismatch(key, "missing_at_provider", mine, None))
        elif mine is None:
            mismatches.append(Mismatch(key, "missing_in_ledger", None, its))
        else:
            mismatches.append(Mismatch(key, "amount_differs", mine, its))
    return ReconciliationReport(
        provider=provider,
        day=day,
        matched=matched,
        ledger_total=sum(ours.values()),
        provider_total=sum(theirs.values()),
        mismatches=mismatches,
    )
