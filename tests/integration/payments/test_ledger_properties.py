"""Hypothesis: any sequence of top-ups, payments, captures, voids, refunds and retries keeps every journal
entry balanced, every wallet at or above zero, refunds within captures — and the services agree with a
simple reference model of what should have happened.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newretail.core.errors import Conflict, DomainError, NotFound
from newretail.core.money import Money
from newretail.core.runtime import Runtime
from newretail.payments import services
from newretail.payments.model import Method, PaymentFailed, RefundExceedsCapture
from newretail.payments.providers import PaymentProviders
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role
from newretail.tenancy.security import PasswordHashing

CUSTOMERS = 2
ORDERS = 4
MARGIN_BPS = 1000  # the `payment_settings` fixture's

_tenants = itertools.count()

amounts = st.integers(min_value=1, max_value=3_000)
operation = st.one_of(
    st.tuples(st.just("top_up"), st.integers(0, CUSTOMERS - 1), amounts),
    st.tuples(
        st.just("authorise"),
        st.integers(0, CUSTOMERS - 1),
        st.integers(0, ORDERS - 1),
        amounts,
        st.integers(0, 100),  # percent of the total that is weighed / substitutable
        st.sampled_from([Method.WALLET, Method.WALLET, Method.TEST]),
    ),
    st.tuples(st.just("capture"), st.integers(0, ORDERS - 1), st.integers(0, 4_000)),
    st.tuples(st.just("void"), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("refund"), st.integers(0, ORDERS - 1), st.none() | st.integers(1, 2_000)),
    st.tuples(st.just("retry"), st.integers(0, 1_000)),
)


@dataclass
class ExpectedOrder:
    customer: int
    method: Method
    authorised: int
    status: str = "authorised"
    captured: int = 0
    refunded: int = 0


@dataclass
class Reference:
    wallets: list[int] = field(default_factory=lambda: [0] * CUSTOMERS)
    orders: dict[int, ExpectedOrder] = field(default_factory=dict)


def _new_tenant(runtime: Runtime) -> tuple[str, str, list[str]]:
    n = next(_tenants)
    hashing = PasswordHashing(1, 64)
    tenant_id = tenancy.create_tenant(runtime.uow(), slug=f"prop-{n}", name="Prop")
    store = tenancy.open_store(
        runtime.uow(), tenant_id=tenant_id, name="S", address="A", lat=51.5, lon=-0.1, delivery_radius_m=3000
    )
    customers = [
        tenancy.register_user(
            runtime.uow(),
            hashing,
            tenant_id=tenant_id,
            email=f"c{i}@prop{n}.test",
            name="C",
            password="long enough pw",
            role=Role.CUSTOMER,
        ).id
        for i in range(CUSTOMERS)
    ]
    return tenant_id, store.id, customers


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=20))
def test_any_sequence_of_money_movements_keeps_the_books_exact(
    runtime: Runtime, providers: PaymentProviders, ops: list[tuple[Any, ...]]
) -> None:
    tenant_id, store_id, customers = _new_tenant(runtime)
    ref = Reference()
    done: list[Callable[[], object]] = []  # successful calls, to retry under the same key

    def gbp(amount: int) -> Money:
        return Money(amount, "GBP")

    for step, op in enumerate(ops):
        key = f"op-{step}"
        kind = op[0]
        before = list(ref.wallets)
        if kind == "top_up":
            _, c, amount = op

            def call(c: int = c, amount: int = amount, key: str = key) -> object:
                return services.top_up_wallet(
                    runtime.uow(),
                    providers,
                    tenant_id=tenant_id,
                    customer_id=customers[c],
                    amount=gbp(amount),
                    method=Method.TEST,
                    idempotency_key=key,
                )

            call()
            ref.wallets[c] += amount
            done.append(call)
        elif kind == "authorise":
            _, c, o, amount, variable_pct, method = op
            variable = amount * variable_pct // 100
            total = amount + -(-variable * MARGIN_BPS // 10_000)

            def call(
                c: int = c,
                o: int = o,
                amount: int = amount,
                variable: int = variable,
                method: Method = method,
                key: str = key,
            ) -> object:
                return services.authorise_order(
                    runtime.uow(),
                    providers,
                    tenant_id=tenant_id,
                    order_id=f"o{o}",
                    customer_id=customers[c],
                    store_id=store_id,
                    amount=gbp(amount),
                    variable_amount=gbp(variable),
                    method=method,
                    idempotency_key=key,
                )

            live = ref.orders.get(o)
            try:
                call()
                assert live is None or live.status == "voided", "a second live payment for one order"
                assert method is not Method.WALLET or ref.wallets[c] >= total
                ref.orders[o] = ExpectedOrder(c, method, total)
                if method is Method.WALLET:
                    ref.wallets[c] -= total
                done.append(call)
            except Conflict:
                assert live is not None and live.status != "voided"
            except PaymentFailed:
                assert method is Method.WALLET and ref.wallets[c] < total
        elif kind == "capture":
            _, o, amount = op

            def call(o: int = o, amount: int = amount, key: str = key) -> object:
                return services.capture_order(
                    runtime.uow(),
                    providers,
                    tenant_id=tenant_id,
                    order_id=f"o{o}",
                    amount=gbp(amount),
                    idempotency_key=key,
                )

            order = ref.orders.get(o)
            try:
                call()
                assert order is not None and order.status in ("authorised", "captured")
                if order.status == "captured":
                    assert order.captured == amount
                else:
                    extra = max(0, amount - order.authorised)
                    if order.method is Method.WALLET:
                        ref.wallets[order.customer] += order.authorised - amount
                    else:
                        assert extra == 0
                    order.status, order.captured = "captured", amount
                done.append(call)
            except PaymentFailed:
                assert (
                    order is None
                    or order.status == "voided"
                    or (
                        amount > order.authorised
                        and (order.method is Method.TEST or ref.wallets[order.customer] < amount - order.authorised)
                    )
                )
            except Conflict:
                assert order is not None and order.status == "captured" and order.captured != amount
        elif kind == "void":
            _, o = op

            def call(o: int = o, key: str = key) -> object:
                return services.void_authorisation(
                    runtime.uow(), providers, tenant_id=tenant_id, order_id=f"o{o}", idempotency_key=key
                )

            order = ref.orders.get(o)
            try:
                call()
                assert order is not None and order.status in ("authorised", "voided")
                if order.status == "authorised" and order.method is Method.WALLET:
                    ref.wallets[order.customer] += order.authorised
                order.status = "voided"
                done.append(call)
            except NotFound:
                assert order is None
            except Conflict:
                assert order is not None and order.status == "captured"
        elif kind == "refund":
            _, o, amount = op

            def call(o: int = o, amount: int | None = amount, key: str = key) -> object:
                return services.refund(
                    runtime.uow(),
                    providers,
                    tenant_id=tenant_id,
                    order_id=f"o{o}",
                    amount=gbp(amount) if amount is not None else None,
                    reason="r",
                    actor=None,
                    idempotency_key=key,
                )

            order = ref.orders.get(o)
            try:
                call()
                assert order is not None and order.status == "captured"
                value = amount if amount is not None else order.captured - order.refunded
                assert 0 < value <= order.captured - order.refunded
                order.refunded += value
                if order.method is Method.WALLET:
                    ref.wallets[order.customer] += value
                done.append(call)
            except RefundExceedsCapture:
                assert order is not None and order.status == "captured"
                assert (amount or 0) > order.captured - order.refunded or order.captured == order.refunded
            except (NotFound, Conflict):
                assert order is None or order.status != "captured"
        else:  # retry an earlier successful call under its key: same answer, no money moves
            if done:
                done[op[1] % len(done)]()
            assert ref.wallets == before
        actual = [
            services.wallet_balance(runtime.uow(), tenant_id=tenant_id, customer_id=c, currency="GBP").amount
            for c in customers
        ]
        assert actual == ref.wallets, f"after {op}"
        assert all(balance >= 0 for balance in actual)

    verification = services.verify_ledger(runtime.uow())
    assert verification.ok, verification
    for o, order in ref.orders.items():
        payment = services.order_payment(runtime.uow(), tenant_id=tenant_id, order_id=f"o{o}")
        assert payment is not None
        assert payment.refunded <= payment.captured
        assert (payment.captured, payment.refunded) == (order.captured, order.refunded)


def test_domain_errors_are_the_only_refusals() -> None:
    # The property above treats only these as refusals; anything else must surface as a failure.
    assert issubclass(PaymentFailed, DomainError) and issubclass(RefundExceedsCapture, DomainError)
