"""Payments fixtures: providers, a local Alipay gateway with key pairs made here (never committed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from newretail.core.clock import SimulatedClock
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.payments import services
from newretail.payments.alipay import AlipayProvider
from newretail.payments.config import PaymentSettings
from newretail.payments.gateway_sim import AlipayGatewaySim, generate_private_key, private_key_pem, public_key_pem
from newretail.payments.model import Method
from newretail.payments.providers import PaymentProviders, TestProvider, WalletProvider

APP_ID = "2021000000000042"


@pytest.fixture(scope="session")
def app_key() -> rsa.RSAPrivateKey:
    """The app's RSA key pair, as a merchant would make it; generated per test session."""
    return generate_private_key()


@pytest.fixture(scope="session")
def gateway_key() -> rsa.RSAPrivateKey:
    """The local gateway's own key pair (Alipay's side); generated per test session."""
    return generate_private_key()


@pytest.fixture
def payment_settings() -> PaymentSettings:
    return PaymentSettings(authorisation_margin_bps=1000, manager_refund_limit_minor=2_000, max_topup_minor=100_000)


@pytest.fixture
def alipay_sim(
    app_key: rsa.RSAPrivateKey, gateway_key: rsa.RSAPrivateKey, clock: SimulatedClock
) -> Iterator[AlipayGatewaySim]:
    with AlipayGatewaySim(
        app_id=APP_ID, app_public_key_pem=public_key_pem(app_key), clock=clock, key=gateway_key
    ) as sim:
        yield sim


@pytest.fixture
def alipay(alipay_sim: AlipayGatewaySim, app_key: rsa.RSAPrivateKey) -> AlipayProvider:
    return AlipayProvider(
        app_id=APP_ID,
        app_private_key_pem=private_key_pem(app_key),
        alipay_public_key_pem=alipay_sim.alipay_public_key_pem,
        gateway_url=alipay_sim.gateway_url,
        notify_url="http://127.0.0.1:9/payments/notifications/alipay",
        timeout_seconds=5,
    )


@pytest.fixture
def providers(payment_settings: PaymentSettings, clock: SimulatedClock) -> PaymentProviders:
    return PaymentProviders(payment_settings, {Method.WALLET: WalletProvider(), Method.TEST: TestProvider(clock)})


@pytest.fixture
def providers_with_alipay(
    payment_settings: PaymentSettings, clock: SimulatedClock, alipay: AlipayProvider
) -> PaymentProviders:
    return PaymentProviders(
        payment_settings,
        {Method.WALLET: WalletProvider(), Method.TEST: TestProvider(clock), Method.ALIPAY: alipay},
    )


@dataclass
class Shop:
    """Short-hands over the real services for one tenant's customer and store."""

    runtime: Runtime
    providers: PaymentProviders
    tenant_id: str
    store_id: str
    customer_id: str
    currency: str = "GBP"

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    def top_up(self, amount: int, key: str, *, customer_id: str | None = None) -> None:
        services.top_up_wallet(
            self.runtime.uow(),
            self.providers,
            tenant_id=self.tenant_id,
            customer_id=customer_id or self.customer_id,
            amount=self.money(amount),
            method=Method.TEST,
            payment_code="tok_ok",
            idempotency_key=key,
        )

    def wallet(self, customer_id: str | None = None) -> int:
        return services.wallet_balance(
            self.runtime.uow(),
            tenant_id=self.tenant_id,
            customer_id=customer_id or self.customer_id,
            currency=self.currency,
        ).amount

    def authorise(self, order_id: str, amount: int, *, method: Method = Method.WALLET, **kwargs: object):  # type: ignore[no-untyped-def]
        return services.authorise_order(
            self.runtime.uow(),
            self.providers,
            tenant_id=self.tenant_id,
            order_id=order_id,
            customer_id=str(kwargs.pop("customer_id", self.customer_id)),
            store_id=self.store_id,
            amount=self.money(amount),
            method=method,
            idempotency_key=str(kwargs.pop("key", f"auth-{order_id}")),
            **kwargs,  # type: ignore[arg-type]
        )

    def capture(self, order_id: str, amount: int, key: str | None = None, lines: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
        return services.capture_order(
            self.runtime.uow(),
            self.providers,
            tenant_id=self.tenant_id,
            order_id=order_id,
            amount=self.money(amount),
            lines={k: self.money(v) for k, v in lines.items()} if lines is not None else None,
            idempotency_key=key or f"capture-{order_id}",
        )

    def void(self, order_id: str, key: str | None = None):  # type: ignore[no-untyped-def]
        return services.void_authorisation(
            self.runtime.uow(),
            self.providers,
            tenant_id=self.tenant_id,
            order_id=order_id,
            idempotency_key=key or f"void-{order_id}",
        )

    def refund(self, order_id: str, key: str, amount: int | None = None, lines: dict[str, int] | None = None):  # type: ignore[no-untyped-def]
        return services.refund(
            self.runtime.uow(),
            self.providers,
            tenant_id=self.tenant_id,
            order_id=order_id,
            amount=self.money(amount) if amount is not None else None,
            lines={k: self.money(v) for k, v in lines.items()} if lines is not None else None,
            reason="damaged",
            actor=None,
            idempotency_key=key,
        )

    def verify(self) -> services.LedgerVerification:
        result = services.verify_ledger(self.runtime.uow())
        assert result.ok, result
        return result


@pytest.fixture
def shop(runtime: Runtime, providers: PaymentProviders, world) -> Shop:  # type: ignore[no-untyped-def]
    return Shop(runtime, providers, world.tenant_id, world.store.id, world.customer.id)


@pytest.fixture
def alipay_shop(runtime: Runtime, providers_with_alipay: PaymentProviders, world) -> Shop:  # type: ignore[no-untyped-def]
    return Shop(runtime, providers_with_alipay, world.tenant_id, world.store.id, world.customer.id)
