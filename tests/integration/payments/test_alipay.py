"""The Alipay adapter runs the real python-alipay-sdk against the local gateway on loopback.

Both key pairs are generated in the test run: the app's (fixture ``app_key``) and the gateway's
(inside ``AlipayGatewaySim``). Nothing is committed.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from newretail.payments import services
from newretail.payments.alipay import AlipayProvider
from newretail.payments.gateway_sim import AlipayGatewaySim, generate_private_key, private_key_pem, sign_notification
from newretail.payments.model import (
    Channel,
    InvalidNotification,
    Method,
    PaymentFailed,
    PaymentStatus,
    ProviderUnavailable,
)
from newretail.payments.tables import journal_entries, provider_notifications

Shop = Any


def _entries(shop: Shop, payment_id: str) -> list[str]:
    with shop.runtime.engine.connect() as conn:
        return [
            r.kind
            for r in conn.execute(
                select(journal_entries.c.kind)
                .where(journal_entries.c.payment_id == payment_id)
                .order_by(journal_entries.c.occurred_at, journal_entries.c.id)
            )
        ]


def _notify(shop: Shop, params: dict[str, str]) -> services.NotificationResult:
    return services.handle_notification(shop.runtime.uow(), shop.providers, method=Method.ALIPAY, params=params)


def test_qr_payment_is_pending_until_the_signed_notification_even_delivered_ten_times(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim, caplog: pytest.LogCaptureFixture
) -> None:
    payment = alipay_shop.authorise("order-1", 2_000, method=Method.ALIPAY, channel=Channel.QR)
    assert payment.status is PaymentStatus.PENDING
    assert payment.qr_code and payment.qr_code.startswith("https://qr.alipay.com/")
    assert _entries(alipay_shop, payment.id) == []  # no money moved yet

    buyer = alipay_sim.open_buyer(50_000)
    alipay_sim.scan_and_pay(payment.qr_code, buyer)
    [notification] = alipay_sim.pending_notifications()
    assert notification["trade_status"] == "TRADE_SUCCESS"
    caplog.set_level(logging.INFO, logger="newretail.payments.services")
    outcomes = [_notify(alipay_shop, notification).outcome for _ in range(10)]
    assert outcomes == ["applied"] + ["duplicate"] * 9
    assert caplog.text.count("was already processed; ignored") == 9  # replays are refused, and logged
    assert _entries(alipay_shop, payment.id) == ["authorisation"]
    with alipay_shop.runtime.engine.connect() as conn:
        deliveries = conn.execute(select(provider_notifications.c.deliveries)).scalar_one()
    assert deliveries == 10
    paid = services.get_payment(alipay_shop.runtime.uow(), tenant_id=alipay_shop.tenant_id, payment_id=payment.id)
    assert paid.status is PaymentStatus.AUTHORISED and paid.provider_trade_no
    alipay_shop.verify()


def test_the_same_notification_delivered_concurrently_moves_money_once(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim
) -> None:
    payment = alipay_shop.authorise("order-1", 2_000, method=Method.ALIPAY, channel=Channel.QR)
    alipay_sim.scan_and_pay(payment.qr_code, alipay_sim.open_buyer(50_000))
    [notification] = alipay_sim.pending_notifications()
    results: list[str] = []
    barrier = threading.Barrier(10)

    def deliver() -> None:
        barrier.wait()
        results.append(_notify(alipay_shop, notification).outcome)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["applied"] + ["duplicate"] * 9
    assert _entries(alipay_shop, payment.id) == ["authorisation"]
    alipay_shop.verify()


def test_notifications_out_of_order_never_move_a_payment_backwards(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim
) -> None:
    payment = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    alipay_sim.scan_and_pay(payment.qr_code, alipay_sim.open_buyer(50_000))
    [paid_note] = alipay_sim.pending_notifications()
    # The notification is late: capture asks Alipay itself (an active query is trusted) and proceeds.
    captured = alipay_shop.capture("order-1", 1_000)
    assert captured.status is PaymentStatus.CAPTURED
    # ... the capture released the margin by a refund; then the old TRADE_SUCCESS arrives
    assert _notify(alipay_shop, paid_note).outcome == "no_change"
    alipay_shop.refund("order-1", "refund-all")  # full refund closes the trade at Alipay
    closed = [n for n in alipay_sim.pending_notifications() if n["trade_status"] == "TRADE_CLOSED"]
    assert [_notify(alipay_shop, n).outcome for n in closed] == ["no_change"]
    assert _entries(alipay_shop, payment.id) == ["authorisation", "capture", "release", "refund"]
    alipay_shop.verify()


def test_barcode_payment_in_store_then_capture_release_and_refund_at_alipay(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim
) -> None:
    buyer = alipay_sim.open_buyer(10_000)
    payment = alipay_shop.authorise(
        "order-1",
        2_000,
        method=Method.ALIPAY,
        channel=Channel.BARCODE,
        payment_code=alipay_sim.payment_code(buyer),
        variable_amount=alipay_shop.money(1_000),
    )
    assert payment.status is PaymentStatus.AUTHORISED
    assert alipay_sim.buyer_balance(buyer) == 10_000 - 2_100
    captured = alipay_shop.capture("order-1", 1_900, lines={"a": 1_000, "b": 900})
    assert captured.released == 200
    alipay_shop.refund("order-1", "damaged-b", lines={"b": 900})
    assert alipay_sim.buyer_balance(buyer) == 10_000 - 1_000
    trade = alipay_sim.trade(payment.id)
    assert trade is not None and trade.refunded == 1_100 and trade.status == "TRADE_SUCCESS"
    # The notification for the barcode payment arrives after the synchronous success: nothing moves.
    outcomes = [_notify(alipay_shop, n).outcome for n in alipay_sim.pending_notifications()]
    assert outcomes == ["no_change"]
    alipay_shop.verify()


def test_a_declined_barcode_payment_writes_nothing(alipay_shop: Shop, alipay_sim: AlipayGatewaySim) -> None:
    poor = alipay_sim.open_buyer(100)
    with pytest.raises(PaymentFailed) as failure:
        alipay_shop.authorise(
            "order-1", 2_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code=alipay_sim.payment_code(poor)
        )
    assert "ACQ.BUYER_BALANCE_NOT_ENOUGH" in failure.value.message
    with pytest.raises(PaymentFailed):
        alipay_shop.authorise(
            "order-1", 2_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code="280000000000000000", key="k2"
        )
    assert (
        services.order_payment(alipay_shop.runtime.uow(), tenant_id=alipay_shop.tenant_id, order_id="order-1") is None
    )


def test_a_forged_notification_is_rejected_and_logged(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim, caplog: pytest.LogCaptureFixture
) -> None:
    payment = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    alipay_sim.scan_and_pay(payment.qr_code, alipay_sim.open_buyer(50_000))
    [genuine] = alipay_sim.pending_notifications()

    forger = generate_private_key()  # signs like Alipay, but with a key that is not Alipay's
    forged = sign_notification(forger, {k: v for k, v in genuine.items() if k not in ("sign", "sign_type")})
    tampered = {**genuine, "total_amount": "0.01"}
    unsigned = {k: v for k, v in genuine.items() if k != "sign"}
    wrong_type = {**genuine, "sign_type": "RSA"}
    caplog.set_level(logging.WARNING, logger="newretail.payments.services")
    for bad in (forged, tampered, unsigned, wrong_type):
        with pytest.raises(InvalidNotification):
            _notify(alipay_shop, bad)
    assert caplog.text.count("rejected alipay notification") == 4
    assert _entries(alipay_shop, payment.id) == []
    with alipay_shop.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(provider_notifications)).scalar_one() == 0
    assert _notify(alipay_shop, genuine).outcome == "applied"
    alipay_shop.verify()


def test_a_notification_for_another_app_is_rejected(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim, caplog: pytest.LogCaptureFixture
) -> None:
    payment = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    alipay_sim.scan_and_pay(payment.qr_code, alipay_sim.open_buyer(50_000))
    [genuine] = alipay_sim.pending_notifications()
    # Genuinely signed by the gateway's key, but for a different app id: not ours to act on.
    foreign = sign_notification(alipay_sim._key, {**genuine, "app_id": "2021999999999999"})
    with pytest.raises(InvalidNotification):
        _notify(alipay_shop, foreign)


def test_void_cancels_an_unpaid_qr_trade_and_refunds_a_paid_one(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim
) -> None:
    unpaid = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    assert alipay_shop.void("order-1").status is PaymentStatus.VOIDED
    assert alipay_sim.trade(unpaid.id).status == "TRADE_CLOSED"  # type: ignore[union-attr]
    # the closing notification arrives afterwards: nothing to do
    assert [_notify(alipay_shop, n).outcome for n in alipay_sim.pending_notifications()] == ["no_change"]

    buyer = alipay_sim.open_buyer(10_000)
    paid = alipay_shop.authorise(
        "order-2", 1_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code=alipay_sim.payment_code(buyer)
    )
    voided = alipay_shop.void("order-2")
    assert (voided.status, voided.released) == (PaymentStatus.VOIDED, paid.authorised)
    assert alipay_sim.buyer_balance(buyer) == 10_000
    assert _entries(alipay_shop, paid.id) == ["authorisation", "void"]
    alipay_shop.verify()


def test_an_unpaid_qr_trade_closed_by_alipay_fails_the_payment(alipay_shop: Shop, alipay_sim: AlipayGatewaySim) -> None:
    payment = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    # Alipay closes a trade nobody paid (here: by a cancel made outside our services).
    alipay_shop.providers.get(Method.ALIPAY).void(payment.id, paid=0, currency="GBP", request="x")
    [closed] = alipay_sim.pending_notifications()
    assert _notify(alipay_shop, closed).outcome == "applied"
    failed = services.get_payment(alipay_shop.runtime.uow(), tenant_id=alipay_shop.tenant_id, payment_id=payment.id)
    assert failed.status is PaymentStatus.FAILED
    with pytest.raises(PaymentFailed):
        alipay_shop.capture("order-1", 1_000)
    alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR, key="second")


def test_sync_asks_alipay_when_the_notification_is_lost(alipay_shop: Shop, alipay_sim: AlipayGatewaySim) -> None:
    payment = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    synced = services.sync_payment(
        alipay_shop.runtime.uow(), alipay_shop.providers, tenant_id=alipay_shop.tenant_id, payment_id=payment.id
    )
    assert synced.status is PaymentStatus.PENDING
    alipay_sim.scan_and_pay(payment.qr_code, alipay_sim.open_buyer(50_000))
    synced = services.sync_payment(
        alipay_shop.runtime.uow(), alipay_shop.providers, tenant_id=alipay_shop.tenant_id, payment_id=payment.id
    )
    assert synced.status is PaymentStatus.AUTHORISED
    alipay_shop.verify()


def test_wallet_top_up_through_alipay_qr(alipay_shop: Shop, alipay_sim: AlipayGatewaySim) -> None:
    topup = services.top_up_wallet(
        alipay_shop.runtime.uow(),
        alipay_shop.providers,
        tenant_id=alipay_shop.tenant_id,
        customer_id=alipay_shop.customer_id,
        amount=alipay_shop.money(5_000),
        method=Method.ALIPAY,
        channel=Channel.QR,
        idempotency_key="topup-1",
    )
    assert topup.status.value == "pending" and topup.qr_code
    assert alipay_shop.wallet() == 0
    alipay_sim.scan_and_pay(topup.qr_code, alipay_sim.open_buyer(10_000))
    for notification in alipay_sim.pending_notifications() * 3:
        _notify(alipay_shop, notification)
    assert alipay_shop.wallet() == 5_000
    alipay_shop.verify()


def test_requests_signed_with_the_wrong_app_key_are_refused_by_the_gateway(alipay_sim: AlipayGatewaySim) -> None:
    impostor = AlipayProvider(
        app_id="2021000000000042",
        app_private_key_pem=private_key_pem(generate_private_key()),
        alipay_public_key_pem=alipay_sim.alipay_public_key_pem,
        gateway_url=alipay_sim.gateway_url,
    )
    with pytest.raises(ProviderUnavailable):
        impostor.query("anything")
    assert alipay_sim.rejected_requests == 1


def test_answers_not_signed_by_alipay_are_not_trusted(alipay: AlipayProvider, alipay_sim: AlipayGatewaySim) -> None:
    # An impostor gateway accepts our request but signs its answer with its own key, not Alipay's.
    with AlipayGatewaySim(app_id=alipay.app_id, app_public_key_pem=alipay_sim._app_public_key_pem) as impostor:
        alipay._client._gateway = impostor.gateway_url
        with pytest.raises(ProviderUnavailable):
            alipay.query("anything")


def test_an_unreachable_gateway_is_a_retryable_error(alipay_shop: Shop, alipay_sim: AlipayGatewaySim) -> None:
    alipay_sim.stop()
    with pytest.raises(ProviderUnavailable):
        alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    assert (
        services.order_payment(alipay_shop.runtime.uow(), tenant_id=alipay_shop.tenant_id, order_id="order-1") is None
    )


def test_reconciliation_matches_the_gateway_bill_and_reports_what_the_ledger_lacks(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim, clock: Any
) -> None:
    buyer = alipay_sim.open_buyer(100_000)
    day = clock.now().date()
    alipay_shop.authorise(
        "order-1", 2_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code=alipay_sim.payment_code(buyer)
    )
    alipay_shop.capture("order-1", 1_800)
    alipay_shop.refund("order-1", "r1", amount=300)
    qr = alipay_shop.authorise("order-2", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    alipay_sim.scan_and_pay(qr.qr_code, buyer)
    for n in alipay_sim.pending_notifications():
        _notify(alipay_shop, n)
    with pytest.raises(ProviderUnavailable):  # Alipay publishes a day's bill once the day is over
        services.reconcile_provider(alipay_shop.runtime.uow(), alipay_shop.providers, method=Method.ALIPAY, day=day)
    clock.advance(timedelta(days=1))
    report = services.reconcile_provider(
        alipay_shop.runtime.uow(), alipay_shop.providers, method=Method.ALIPAY, day=day
    )
    assert report.clean, report.mismatches
    assert report.matched == 4  # pay + release + refund for order-1, pay for order-2
    assert report.ledger_total == report.provider_total == 2_200 - 400 - 300 + 1_100

    # Money taken at Alipay that our ledger never recorded (e.g. a crash before our commit):
    alipay_shop.providers.get(Method.ALIPAY)._client.api_alipay_trade_pay(
        out_trade_no="stray-1",
        scene="bar_code",
        auth_code=alipay_sim.payment_code(buyer),
        subject="x",
        total_amount="5.00",
        trans_currency="GBP",
    )
    next_day = clock.now().date()
    clock.advance(timedelta(days=1))
    report = services.reconcile_provider(
        alipay_shop.runtime.uow(), alipay_shop.providers, method=Method.ALIPAY, day=next_day
    )
    assert [(m.problem, m.key.trade, m.provider_amount) for m in report.mismatches] == [
        ("missing_in_ledger", "stray-1", 500)
    ]


def test_the_buyer_side_of_the_gateway_works_over_http_for_the_demo(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim
) -> None:
    import json
    import urllib.parse
    import urllib.request

    def post(path: str, **form: str) -> dict[str, str]:
        data = urllib.parse.urlencode(form).encode()
        with urllib.request.urlopen(f"{alipay_sim.base_url}{path}", data=data, timeout=5) as response:
            answer: dict[str, str] = json.loads(response.read())
            return answer

    buyer = alipay_sim.open_buyer(10_000)
    payment = alipay_shop.authorise("order-1", 1_000, method=Method.ALIPAY, channel=Channel.QR)
    assert post("/buyer/scan", qr_code=payment.qr_code, buyer_id=buyer)["trade_status"] == "TRADE_SUCCESS"
    code = post("/buyer/payment-code", buyer_id=buyer)["auth_code"]
    paid = alipay_shop.authorise("order-2", 1_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code=code)
    assert paid.status is PaymentStatus.AUTHORISED


def test_a_retry_after_a_crash_between_alipay_and_our_commit_charges_once(
    alipay_shop: Shop, alipay_sim: AlipayGatewaySim
) -> None:
    from newretail.payments.providers import ChargeRequest, ChargeStatus

    buyer = alipay_sim.open_buyer(10_000)
    code = alipay_sim.payment_code(buyer)
    # The first attempt reached Alipay, then our process died before committing: only Alipay knows.
    trade = services._derived_id(alipay_shop.tenant_id, "authorise", "order-1", "checkout-1")
    first = alipay_shop.providers.get(Method.ALIPAY).authorise(
        ChargeRequest(
            trade=trade, amount=1_100, currency="GBP", subject="x", channel=Channel.BARCODE, payment_code=code
        )
    )
    assert first.status is ChargeStatus.SUCCEEDED
    # The client retries with the same Idempotency-Key (and the same, now used, payment code).
    payment = alipay_shop.authorise(
        "order-1", 1_000, method=Method.ALIPAY, channel=Channel.BARCODE, payment_code=code, key="checkout-1"
    )
    assert payment.id == trade and payment.status is PaymentStatus.AUTHORISED
    assert alipay_sim.buyer_balance(buyer) == 10_000 - 1_100
    assert _entries(alipay_shop, payment.id) == ["authorisation"]
    alipay_shop.verify()
