"""`newretail ledger verify` and `newretail payments reconcile`: they pass on good books and fail on bad ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from typer.testing import CliRunner

from newretail.cli import app
from newretail.payments import services
from newretail.payments.gateway_sim import AlipayGatewaySim, private_key_pem
from newretail.payments.model import Channel, Method
from newretail.payments.tables import ledger_accounts, ledger_postings

runner = CliRunner()
sqlite_only = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _some_business(shop: Any) -> None:
    shop.top_up(5_000, "top-1")
    shop.authorise("order-1", 1_000)
    shop.capture("order-1", 950)
    shop.refund("order-1", "r1", amount=200)
    shop.authorise("order-2", 700, method=Method.TEST)
    shop.void("order-2")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _corrupt_one_posting(engine: Engine) -> None:
    with engine.begin() as conn:
        first = conn.execute(select(func.min(ledger_postings.c.id))).scalar_one()
        conn.execute(
            update(ledger_postings)
            .where(ledger_postings.c.id == first)
            .values(amount_minor=ledger_postings.c.amount_minor + 1)
        )


@sqlite_only
def test_ledger_verify_passes_on_real_books_and_fails_on_a_corrupted_posting(shop: Any, engine: Engine) -> None:
    _some_business(shop)
    result = runner.invoke(app, ["ledger", "verify", "--database", _url(engine)])
    assert result.exit_code == 0, result.output
    entries = shop.verify().entries
    assert f"every one of {entries} journal entries balances" in result.output

    _corrupt_one_posting(engine)
    result = runner.invoke(app, ["ledger", "verify", "--database", _url(engine)])
    assert result.exit_code == 1
    assert "unbalanced entry" in result.output
    assert "differs from its postings" in result.output
    assert "ledger NOT verified" in result.output


@sqlite_only
def test_ledger_verify_fails_when_a_cached_balance_drifts(shop: Any, engine: Engine) -> None:
    _some_business(shop)
    with engine.begin() as conn:
        conn.execute(
            update(ledger_accounts)
            .where(ledger_accounts.c.kind == "wallet")
            .values(balance_minor=ledger_accounts.c.balance_minor + 100)
        )
    result = runner.invoke(app, ["ledger", "verify", "--database", _url(engine)])
    assert result.exit_code == 1
    assert "account wallet:" in result.output and "differs from its postings" in result.output


def test_verify_finds_a_corrupted_row_on_every_backend(shop: Any, engine: Engine) -> None:
    _some_business(shop)
    assert services.verify_ledger(shop.runtime.uow()).ok
    _corrupt_one_posting(engine)
    verification = services.verify_ledger(shop.runtime.uow())
    assert not verification.ok
    assert len(verification.unbalanced) == 1 and verification.unbalanced[0]["sum"] == 1
    assert len(verification.mismatched_accounts) == 1


@sqlite_only
def test_reconcile_command_reports_a_clean_day_and_a_day_with_a_stray_trade(
    alipay_shop: Any,
    alipay_sim: AlipayGatewaySim,
    app_key: Any,
    engine: Engine,
    clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "APP_ID": alipay_sim.app_id,
        "APP_PRIVATE_KEY": private_key_pem(app_key),
        "PUBLIC_KEY": alipay_sim.alipay_public_key_pem,
        "GATEWAY_URL": alipay_sim.gateway_url,
    }.items():
        monkeypatch.setenv(f"NEWRETAIL_PAYMENTS_ALIPAY_{name}", value)
    buyer = alipay_sim.open_buyer(100_000)
    day = clock.now().date()
    alipay_shop.authorise(
        "order-1", 2_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code=alipay_sim.payment_code(buyer)
    )
    alipay_shop.capture("order-1", 1_500)
    clock.advance(timedelta(days=1))
    result = runner.invoke(app, ["payments", "reconcile", "--date", day.isoformat(), "--database", _url(engine)])
    assert result.exit_code == 0, result.output
    assert "reconciled" in result.output and "2 movements match" in result.output

    stray_day = clock.now().date()
    alipay_shop.providers.get(Method.ALIPAY)._client.api_alipay_trade_pay(
        out_trade_no="stray-1",
        scene="bar_code",
        auth_code=alipay_sim.payment_code(buyer),
        subject="not through our services",
        total_amount="5.00",
        trans_currency="GBP",
    )
    clock.advance(timedelta(days=1))
    result = runner.invoke(app, ["payments", "reconcile", "--date", stray_day.isoformat(), "--database", _url(engine)])
    assert result.exit_code == 1
    assert "missing_in_ledger trade stray-1" in result.output

    result = runner.invoke(app, ["payments", "reconcile", "--date", "yesterday", "--database", _url(engine)])
    assert result.exit_code == 2
