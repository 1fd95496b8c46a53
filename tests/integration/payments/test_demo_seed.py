"""The demo city starts with money in the demo shopper's wallet, and books that verify."""

from __future__ import annotations

from newretail.core.runtime import Runtime
from newretail.payments import services
from newretail.payments.seed import DEMO_WALLET_TOP_UP_MINOR
from newretail.seed import seed_demo
from newretail.tenancy.repository import TenancyRepository


def test_the_demo_shopper_has_a_topped_up_wallet(runtime: Runtime) -> None:
    city = seed_demo(runtime)
    with runtime.uow() as uow:
        shopper = TenancyRepository(uow.conn).user_by_email(city.tenant_id, city.logins["customer"])
    balance = services.wallet_balance(runtime.uow(), tenant_id=city.tenant_id, customer_id=shopper.id, currency="GBP")
    assert balance.amount == DEMO_WALLET_TOP_UP_MINOR
    assert services.verify_ledger(runtime.uow()).ok
