"""The payments repository per call: ledger posts on their own, and order payments through the services.

Prints ONE JSON object. Runs on the twin's kind of engine (a fresh SQLite file with a small pool, or a
PostgreSQL schema of its own), one thread, each call in a transaction of its own as the twin makes them.

* ``ledger``: ``LedgerRepository.post`` called directly. Customers cycle through top-up, authorisation,
  capture and release; every tenth cycle also tries to authorise more than the wallet holds, which
  must be refused (``InsufficientFunds``) and leave nothing behind. A customer's first entry opens
  its accounts, the rest find them.
* ``services``: one top-up per customer, then orders authorised from the wallet and captured through
  the real payment services (payment, live_payment_for_order, transition, topup_transition, ...).

Both parts end with ``verify_ledger``; the final balances are printed so two runs can be compared.

    python benchmarks/ledger_post.py [--posts 2000] [--orders 500] [--customers 50] \
        [--database sqlite:///bench.db | postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from _common import twin_or_benchmark_engine
from newretail.core.clock import SimulatedClock
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.payments import ledger
from newretail.payments import services as payments
from newretail.payments.config import PaymentSettings
from newretail.payments.ledger import EntryKind, InsufficientFunds, JournalEntry
from newretail.payments.model import Method
from newretail.payments.providers import PaymentProviders, TestProvider, WalletProvider
from newretail.payments.repository import LedgerRepository
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role
from newretail.tenancy.security import PasswordHashing

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
CURRENCY = "GBP"
TOP_UP, AUTHORISED, CAPTURED = 10_000, 3_000, 2_500


def cycle(customer: str, store: str) -> list[JournalEntry]:
    """One customer's top-up, authorisation, capture and release of the unused part."""
    wallet, hold = ledger.wallet(customer, CURRENCY), ledger.holds(customer, CURRENCY)
    clearing, sales = ledger.provider_clearing("test", CURRENCY), ledger.store_sales(store, CURRENCY)
    return [
        ledger.entry(EntryKind.TOP_UP, CURRENCY, ledger.transfer(clearing, wallet, TOP_UP), description="top-up"),
        ledger.entry(EntryKind.AUTHORISATION, CURRENCY, ledger.transfer(wallet, hold, AUTHORISED)),
        ledger.entry(EntryKind.CAPTURE, CURRENCY, ledger.transfer(hold, sales, CAPTURED)),
        ledger.entry(EntryKind.RELEASE, CURRENCY, ledger.transfer(hold, wallet, AUTHORISED - CAPTURED)),
    ]


def run_ledger(engine: Engine, tenant_id: str, store_id: str, posts: int, customers: int) -> dict[str, object]:
    def post(journal: JournalEntry) -> bool:
        try:
            with engine.begin() as conn:
                LedgerRepository(conn).post(tenant_id, journal, START)
            return True
        except InsufficientFunds:
            return False

    posted = refused = 0
    started = time.perf_counter()
    n = 0
    while posted + refused < posts:
        customer = f"c{n % customers}"
        for journal in cycle(customer, store_id):
            posted += post(journal)
        if n % 10 == 0:  # more than the wallet holds: refused as a whole
            wallet, hold = ledger.wallet(customer, CURRENCY), ledger.holds(customer, CURRENCY)
            too_much = ledger.entry(EntryKind.AUTHORISATION, CURRENCY, ledger.transfer(wallet, hold, 10**9))
            refused += not post(too_much)
        n += 1
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        book = LedgerRepository(conn)
        wallets = sum(book.balance(tenant_id, ledger.wallet(f"c{i}", CURRENCY)) for i in range(customers))
        sales = book.balance(tenant_id, ledger.store_sales(store_id, CURRENCY))
    return {
        "posts": posted + refused,
        "refused": refused,
        "posts_per_s": round((posted + refused) / elapsed, 1),
        "ms_per_post": round(1000 * elapsed / (posted + refused), 3),
        "wallets_minor": wallets,
        "store_sales_minor": sales,
    }


def run_services(runtime: Runtime, tenant_id: str, store_id: str, orders: int, customers: int) -> dict[str, object]:
    hashing = PasswordHashing(1, 64)
    providers = PaymentProviders(
        PaymentSettings(authorisation_margin_bps=1000, manager_refund_limit_minor=2_000, max_topup_minor=1_000_000),
        {Method.WALLET: WalletProvider(), Method.TEST: TestProvider(runtime.clock)},
    )
    customer_ids = [
        tenancy.register_user(
            runtime.uow(),
            hashing,
            tenant_id=tenant_id,
            email=f"shopper{i}@bench.test",
            name=f"Shopper {i}",
            password="correct horse battery",
            role=Role.CUSTOMER,
        ).id
        for i in range(customers)
    ]
    started = time.perf_counter()
    for i, customer_id in enumerate(customer_ids):
        payments.top_up_wallet(
            runtime.uow(),
            providers,
            tenant_id=tenant_id,
            customer_id=customer_id,
            amount=Money(orders * 4_000 // customers + 4_000, CURRENCY),
            method=Method.TEST,
            payment_code="tok_ok",
            idempotency_key=f"bench-topup-{i}",
        )
    for n in range(orders):
        order_id = f"order-{n}"
        payments.authorise_order(
            runtime.uow(),
            providers,
            tenant_id=tenant_id,
            order_id=order_id,
            customer_id=customer_ids[n % customers],
            store_id=store_id,
            amount=Money(3_000, CURRENCY),
            method=Method.WALLET,
            idempotency_key=f"auth-{order_id}",
        )
        payments.capture_order(
            runtime.uow(),
            providers,
            tenant_id=tenant_id,
            order_id=order_id,
            amount=Money(2_500 + n % 7 * 100, CURRENCY),
            idempotency_key=f"capture-{order_id}",
        )
    elapsed = time.perf_counter() - started
    wallets = sum(
        payments.wallet_balance(runtime.uow(), tenant_id=tenant_id, customer_id=c, currency=CURRENCY).amount
        for c in customer_ids
    )
    return {
        "orders": orders,
        "orders_per_s": round(orders / elapsed, 1),
        "ms_per_order": round(1000 * elapsed / orders, 3),
        "wallets_minor": wallets,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=None, help="SQLAlchemy URL; default: a fresh SQLite file")
    parser.add_argument("--posts", type=int, default=2_000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    if args.posts < 1 or args.orders < 1 or args.customers < 1:
        parser.error("--posts, --orders and --customers must be positive")
    with twin_or_benchmark_engine(args.database) as engine:
        runtime = Runtime(
            engine=engine, settings=Settings(argon2_time_cost=1, argon2_memory_kib=64), clock=SimulatedClock(START)
        )
        tenant_id = tenancy.create_tenant(runtime.uow(), slug="bench-ledger", name="Bench", currency=CURRENCY)
        store = tenancy.open_store(
            runtime.uow(), tenant_id=tenant_id, name="Bench", address="x", lat=51.5, lon=-0.1, delivery_radius_m=3219
        )
        ledger_result = run_ledger(engine, tenant_id, store.id, args.posts, args.customers)
        services_result = run_services(runtime, tenant_id, store.id, args.orders, args.customers)
        verification = payments.verify_ledger(runtime.uow())
        print(
            json.dumps(
                {
                    "backend": engine.dialect.name,
                    "customers": args.customers,
                    "ledger": ledger_result,
                    "services": services_result,
                    "ledger_ok": verification.ok,
                }
            )
        )


if __name__ == "__main__":
    main()
