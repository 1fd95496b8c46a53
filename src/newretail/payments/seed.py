"""Demo money: every demo customer starts with a topped-up wallet (paid with the test provider)."""

from __future__ import annotations

from collections.abc import Iterable

from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.payments import services
from newretail.payments.config import PaymentSettings
from newretail.payments.model import Method
from newretail.payments.providers import PaymentProviders, TestProvider, WalletProvider
from newretail.tenancy.repository import TenancyRepository

DEMO_WALLET_TOP_UP_MINOR = 5_000


def seed_demo_wallets(runtime: Runtime, *, tenant_id: str, customer_emails: Iterable[str]) -> None:
    # The test provider, whatever the settings: demo money must never go through a real provider.
    providers = PaymentProviders(
        PaymentSettings(), {Method.WALLET: WalletProvider(), Method.TEST: TestProvider(runtime.clock)}
    )
    currency = services.tenant_currency(runtime.uow(), tenant_id)
    for email in customer_emails:
        with runtime.uow() as uow:
            customer = TenancyRepository(uow.conn).user_by_email(tenant_id, email)
        if customer is None:
            raise LookupError(f"demo customer {email} does not exist")
        services.top_up_wallet(
            runtime.uow(),
            providers,
            tenant_id=tenant_id,
            customer_id=customer.id,
            amount=Money(DEMO_WALLET_TOP_UP_MINOR, currency),
            method=Method.TEST,
            payment_code="tok_ok",
            idempotency_key=f"demo-wallet-{email}",
        )
