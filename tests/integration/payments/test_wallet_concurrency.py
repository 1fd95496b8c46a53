"""Many threads paying from one wallet through the service layer never overdraw it (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

from newretail.core.errors import DomainError
from newretail.payments import services
from newretail.payments.model import PaymentFailed, PaymentStatus

THREADS = 24


def _run_all(targets: list[Any]) -> None:
    barrier = threading.Barrier(len(targets))

    def wrapped(target: Any) -> None:
        barrier.wait()
        target()

    threads = [threading.Thread(target=wrapped, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a payment thread hung"


def test_concurrent_wallet_payments_never_overdraw(shop: Any) -> None:
    shop.top_up(10_000, "top-1")  # enough for exactly 9 orders of 1,100 (1,000 + 10% margin)
    outcomes: list[str] = []
    lock = threading.Lock()

    def pay(i: int) -> None:
        try:
            shop.authorise(f"order-{i}", 1_000)
            result = "paid"
        except PaymentFailed:
            result = "refused"
        except DomainError as exc:  # anything else is a bug in the guard
            result = f"error {exc.code}"
        with lock:
            outcomes.append(result)

    _run_all([lambda i=i: pay(i) for i in range(THREADS)])
    assert sorted(set(outcomes)) == ["paid", "refused"]
    assert outcomes.count("paid") == 9
    assert shop.wallet() == 10_000 - 9 * 1_100
    shop.verify()


def test_concurrent_captures_refunds_and_top_ups_keep_the_books_exact(shop: Any) -> None:
    shop.top_up(20_000, "top-1")
    for i in range(8):
        shop.authorise(f"order-{i}", 1_000)
    work: list[Any] = []
    for i in range(8):
        work.append(lambda i=i: shop.capture(f"order-{i}", 900 + i))
        work.append(lambda i=i: shop.top_up(100, f"top-more-{i}"))
    _run_all(work)
    refunds: list[str] = []
    lock = threading.Lock()

    def refund(i: int, key: str) -> None:
        try:
            shop.refund(f"order-{i % 8}", key, amount=500)
            with lock:
                refunds.append("ok")
        except DomainError as exc:
            with lock:
                refunds.append(exc.code)

    _run_all([lambda i=i: refund(i, f"refund-{i}") for i in range(THREADS)])
    # each order captured 900..907, so exactly one refund of 500 fits per order
    assert refunds.count("ok") == 8
    assert set(refunds) == {"ok", "refund_exceeds_capture"}
    captured = sum(900 + i for i in range(8))
    assert shop.wallet() == 20_000 + 8 * 100 - captured + 8 * 500
    for i in range(8):
        payment = services.order_payment(shop.runtime.uow(), tenant_id=shop.tenant_id, order_id=f"order-{i}")
        assert payment is not None and payment.status is PaymentStatus.CAPTURED and payment.refunded == 500
    shop.verify()
