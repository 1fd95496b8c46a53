"""The payment provider interface and the two providers that need no network: wallet and test.

Every provider takes the customer's money at authorisation (Alipay has no separate capture), so the
ledger is the same for all of them: authorisation moves money from the provider's *funding account*
into the customer's holds, capture moves it on to the store's sales, release/void/refund send it back
to the funding account. For the wallet the funding account is the customer's own wallet, whose
balance can never go negative; for external providers it is the provider's clearing account.

Provider calls carry our deterministic ids (out_trade_no = payment or top-up id, request numbers
derived from them), so retrying a call after a crash never charges or refunds twice.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from newretail.core.clock import Clock
from newretail.core.errors import DomainError, ValidationFailed
from newretail.payments import ledger
from newretail.payments.config import PaymentSettings
from newretail.payments.ledger import AccountRef
from newretail.payments.model import Channel, InvalidNotification, Method, PaymentFailed, ReconKey


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"  # the money is ours (held for the order, or topped up)
    PENDING = "pending"  # the customer still has to approve (scan the QR code)
    DECLINED = "declined"


class TradeStatus(StrEnum):
    WAITING = "waiting"  # created, customer has not paid
    PAID = "paid"
    CLOSED = "closed"  # never paid, cancelled, or fully refunded
    UNKNOWN = "unknown"  # the provider has no such trade


@dataclass(frozen=True)
class ChargeRequest:
    trade: str  # our out_trade_no: the payment or top-up id
    amount: int
    currency: str
    subject: str
    channel: Channel
    payment_code: str | None = None  # barcode: the code the customer shows; test provider: a token


@dataclass(frozen=True)
class ChargeOutcome:
    status: ChargeStatus
    provider_trade_no: str | None = None
    qr_code: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True)
class TradeState:
    trade: str
    status: TradeStatus
    amount: int | None = None
    refunded: int = 0
    provider_trade_no: str | None = None


@dataclass(frozen=True)
class Notification:
    """A provider's asynchronous message, already verified as authentic."""

    notify_id: str
    trade: str
    status: TradeStatus
    amount: int
    provider_trade_no: str | None
    params: dict[str, str]


class ProviderRejected(DomainError):
    """The provider refused a call (e.g. a refund above what it holds for the trade)."""

    code = "provider_rejected"
    http_status = 409


class PaymentProvider(Protocol):
    name: str

    def funding_account(self, customer_id: str, currency: str) -> AccountRef:
        """Where the customer's money comes from (and goes back to) in our ledger."""
        ...

    def authorise(self, request: ChargeRequest) -> ChargeOutcome: ...

    def capture(self, trade: str, *, authorised: int, amount: int, currency: str, release_request: str) -> None:
        """Keep ``amount`` of the authorised money and give the rest back (``release_request`` names that)."""
        ...

    def void(self, trade: str, *, paid: int, currency: str, request: str) -> None:
        """Give back everything; ``paid`` = 0 means the customer never paid, so just close the trade."""
        ...

    def refund(self, trade: str, *, amount: int, currency: str, request: str) -> None: ...

    def query(self, trade: str) -> TradeState: ...

    def parse_notification(self, params: Mapping[str, str]) -> Notification:
        """Verify and decode a notification; raise :class:`InvalidNotification` if it is not authentic."""
        ...

    def records(self, day: date) -> list[tuple[ReconKey, int]]:
        """Money the provider moved on ``day`` (UTC), + in and - out, keyed like the ledger's."""
        ...


class WalletProvider:
    """Stored value in the app. No outside party: the ledger is the whole truth.

    Authorising moves money out of the customer's wallet account, which may never go negative, so the
    ledger's guarded update is what stops an overdraft (also under concurrent payments).
    """

    name = Method.WALLET.value

    def funding_account(self, customer_id: str, currency: str) -> AccountRef:
        return ledger.wallet(customer_id, currency)

    def authorise(self, request: ChargeRequest) -> ChargeOutcome:
        if request.channel is not Channel.DIRECT:
            raise ValidationFailed("wallet payments need no QR or barcode step", field="channel")
        return ChargeOutcome(ChargeStatus.SUCCEEDED)

    def capture(self, trade: str, *, authorised: int, amount: int, currency: str, release_request: str) -> None:
        return None  # money moves in the ledger only

    def void(self, trade: str, *, paid: int, currency: str, request: str) -> None:
        return None

    def refund(self, trade: str, *, amount: int, currency: str, request: str) -> None:
        return None

    def query(self, trade: str) -> TradeState:
        raise ValidationFailed("the wallet has no outside trades to query; read the ledger")

    def parse_notification(self, params: Mapping[str, str]) -> Notification:
        raise InvalidNotification("the wallet sends no notifications")

    def records(self, day: date) -> list[tuple[ReconKey, int]]:
        return []


@dataclass
class _TestTrade:
    amount: int
    currency: str
    token: str
    paid: bool = True
    closed: bool = False
    refunds: dict[str, int] = field(default_factory=dict)


class TestProvider:
    """A provider for the demo and tests, in memory, with card-style test tokens.

    ``tok_ok`` (or any other token) pays; ``tok_decline`` is declined at authorisation;
    ``tok_capture_fails`` authorises but its capture is refused (to exercise held orders).
    """

    __test__ = False  # not a pytest test class
    name = Method.TEST.value
    DECLINE = "tok_decline"
    CAPTURE_FAILS = "tok_capture_fails"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._trades: dict[str, _TestTrade] = {}
        self._movements: list[tuple[datetime, ReconKey, int]] = []

    def funding_account(self, customer_id: str, currency: str) -> AccountRef:
        return ledger.provider_clearing(self.name, currency)

    def authorise(self, request: ChargeRequest) -> ChargeOutcome:
        if request.channel is not Channel.DIRECT:
            raise ValidationFailed("the test provider pays directly with a token", field="channel")
        token = request.payment_code or "tok_ok"
        if token == self.DECLINE:
            return ChargeOutcome(ChargeStatus.DECLINED, decline_reason="card_declined")
        with self._lock:
            existing = self._trades.get(request.trade)
            if existing is None:  # the same trade again (a retry) is not charged twice
                self._trades[request.trade] = _TestTrade(request.amount, request.currency, token)
                self._movements.append(
                    (self._clock.now(), ReconKey(request.trade, "", request.currency), request.amount)
                )
            elif existing.amount != request.amount:
                raise ProviderRejected("this trade number was used for another amount", trade=request.trade)
        return ChargeOutcome(ChargeStatus.SUCCEEDED, provider_trade_no=f"test-{request.trade}")

    def capture(self, trade: str, *, authorised: int, amount: int, currency: str, release_request: str) -> None:
        with self._lock:
            found = self._get(trade)
            if found.token == self.CAPTURE_FAILS:
                raise PaymentFailed("the test provider refused the capture", trade=trade)
        if authorised > amount:
            self.refund(trade, amount=authorised - amount, currency=currency, request=release_request)

    def void(self, trade: str, *, paid: int, currency: str, request: str) -> None:
        if paid:
            self.refund(trade, amount=paid, currency=currency, request=request)
        with self._lock:
            self._get(trade).closed = True

    def refund(self, trade: str, *, amount: int, currency: str, request: str) -> None:
        with self._lock:
            found = self._get(trade)
            if request in found.refunds:
                if found.refunds[request] != amount:
                    raise ProviderRejected("this refund number was used for another amount", request=request)
                return
            if sum(found.refunds.values()) + amount > found.amount:
                raise ProviderRejected("refunds would exceed the payment", trade=trade)
            found.refunds[request] = amount
            self._movements.append((self._clock.now(), ReconKey(trade, request, currency), -amount))

    def query(self, trade: str) -> TradeState:
        with self._lock:
            found = self._trades.get(trade)
            if found is None:
                return TradeState(trade, TradeStatus.UNKNOWN)
            refunded = sum(found.refunds.values())
            status = TradeStatus.CLOSED if found.closed or refunded == found.amount else TradeStatus.PAID
            return TradeState(trade, status, found.amount, refunded, f"test-{trade}")

    def parse_notification(self, params: Mapping[str, str]) -> Notification:
        raise InvalidNotification("the test provider sends no notifications")

    def records(self, day: date) -> list[tuple[ReconKey, int]]:
        with self._lock:
            return [(key, amount) for at, key, amount in self._movements if at.date() == day]

    def _get(self, trade: str) -> _TestTrade:
        found = self._trades.get(trade)
        if found is None:
            raise ProviderRejected("no such trade at the test provider", trade=trade)
        return found


class PaymentProviders:
    """The configured providers plus the payment settings: what the payment services need."""

    def __init__(self, settings: PaymentSettings, providers: Mapping[Method, PaymentProvider]) -> None:
        self.settings = settings
        self._providers = dict(providers)

    @classmethod
    def from_settings(cls, settings: PaymentSettings, clock: Clock) -> PaymentProviders:
        providers: dict[Method, PaymentProvider] = {Method.WALLET: WalletProvider()}
        if settings.test_provider_enabled:
            providers[Method.TEST] = TestProvider(clock)
        if settings.alipay_configured:
            from newretail.payments.alipay import AlipayProvider

            providers[Method.ALIPAY] = AlipayProvider.from_settings(settings)
        return cls(settings, providers)

    def get(self, method: Method) -> PaymentProvider:
        provider = self._providers.get(method)
        if provider is None:
            raise ValidationFailed(f"payment method {method.value!r} is not available here", field="method")
        return provider

    @property
    def methods(self) -> list[Method]:
        return sorted(self._providers)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day as a half-open interval."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)
