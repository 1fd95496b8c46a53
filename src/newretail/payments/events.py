"""Events the payments context publishes (through the outbox, in the same transaction as the money)."""

from __future__ import annotations

from dataclasses import dataclass, field

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class PaymentAuthorised(Event):
    payment_id: str
    order_id: str
    method: str
    currency: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class PaymentAbandoned(Event):
    """The customer never paid (the provider closed the trade): the order cannot go ahead."""

    payment_id: str
    order_id: str


@dataclass(frozen=True, kw_only=True)
class PaymentCaptured(Event):
    payment_id: str
    order_id: str
    currency: str
    captured: int
    released: int


@dataclass(frozen=True, kw_only=True)
class PaymentCaptureFailed(Event):
    """Ordering holds the order: it must not be handed over unpaid without an explicit override."""

    order_id: str
    payment_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class PaymentVoided(Event):
    payment_id: str
    order_id: str
    currency: str
    released: int


@dataclass(frozen=True, kw_only=True)
class PaymentRefunded(Event):
    payment_id: str
    order_id: str
    refund_id: str
    currency: str
    amount: int
    lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class WalletToppedUp(Event):
    customer_id: str
    topup_id: str
    currency: str
    amount: int
