"""Payment rules: margin, amounts, capture and refund plans, refund authority, reconciliation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.errors import Conflict, Forbidden, ValidationFailed
from newretail.payments.model import (
    Channel,
    Method,
    PaymentFailed,
    PaymentStatus,
    PaymentView,
    ReconKey,
    RefundExceedsCapture,
    RefundLimitExceeded,
    authorisation_amount,
    can_see_payment,
    check_refund_authority,
    format_decimal_amount,
    parse_decimal_amount,
    plan_capture,
    plan_refund,
    reconcile,
)
from newretail.tenancy.model import Principal, Role

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
AUTHORISED = PaymentView(
    id="p1",
    tenant_id="t1",
    order_id="o1",
    customer_id="c1",
    store_id="s1",
    method=Method.WALLET,
    channel=Channel.DIRECT,
    currency="GBP",
    status=PaymentStatus.AUTHORISED,
    promised=1_000,
    margin=100,
    authorised=1_100,
    captured=0,
    released=0,
    refunded=0,
    created_at=NOW,
    updated_at=NOW,
)


def captured(amount: int, refunded: int = 0, lines: dict[str, tuple[int, int]] | None = None) -> PaymentView:
    return replace(AUTHORISED, status=PaymentStatus.CAPTURED, captured=amount, refunded=refunded, lines=lines or {})


@given(st.integers(1, 10**9), st.integers(0, 100), st.integers(0, 10_000))
def test_the_margin_covers_its_share_of_the_variable_part_rounded_up(promised: int, pct: int, bps: int) -> None:
    variable = promised * pct // 100
    margin, total = authorisation_amount(promised, variable, bps)
    assert total == promised + margin
    assert margin * 10_000 >= variable * bps  # covers its share...
    assert margin == 0 or (margin - 1) * 10_000 < variable * bps  # ...and rounds up by less than one unit


def test_a_margin_needs_a_sane_order() -> None:
    with pytest.raises(ValidationFailed):
        authorisation_amount(0, 0, 1000)
    with pytest.raises(ValidationFailed):
        authorisation_amount(100, 101, 1000)


@given(st.integers(0, 10**12))
def test_provider_amounts_round_trip(minor: int) -> None:
    assert parse_decimal_amount(format_decimal_amount(minor)) == minor


@pytest.mark.parametrize("bad", ["", "1.234", "-1.00", "1e3", " 1.00", "01.00", "1,00", "NaN"])
def test_only_plain_decimal_amounts_parse(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_decimal_amount(bad)


def test_capture_keeps_the_packed_total_and_releases_the_rest() -> None:
    plan = plan_capture(AUTHORISED, 950, None, can_take_extra=False)
    assert (plan.from_hold, plan.extra, plan.release, plan.captured) == (950, 0, 150, 950)
    plan = plan_capture(AUTHORISED, 1_300, None, can_take_extra=True)
    assert (plan.from_hold, plan.extra, plan.release) == (1_100, 200, 0)
    with pytest.raises(PaymentFailed):
        plan_capture(AUTHORISED, 1_101, None, can_take_extra=False)
    with pytest.raises(PaymentFailed):
        plan_capture(replace(AUTHORISED, status=PaymentStatus.PENDING), 10, None, can_take_extra=True)
    with pytest.raises(ValidationFailed):
        plan_capture(AUTHORISED, 100, {"a": 60, "b": 30}, can_take_extra=False)


@given(
    st.integers(0, 5_000),
    st.integers(0, 5_000),
    st.one_of(st.none(), st.integers(-5, 6_000)),
)
def test_a_refund_plan_never_exceeds_what_is_left(capture: int, already: int, amount: int | None) -> None:
    payment = captured(capture, min(already, capture))
    left = payment.captured - payment.refunded
    try:
        plan = plan_refund(payment, amount=amount, lines=None)
    except (RefundExceedsCapture, ValidationFailed):
        assert (amount is None and left == 0) or (amount is not None and (amount <= 0 or amount > left))
        return
    assert 0 < plan.amount <= left
    assert plan.amount == (left if amount is None else amount)


def test_per_line_refunds_respect_each_line() -> None:
    payment = captured(3_000, 500, {"milk": (1_000, 0), "salmon": (2_000, 500)})
    assert plan_refund(payment, amount=None, lines={"salmon": 1_500}).amount == 1_500
    with pytest.raises(RefundExceedsCapture):
        plan_refund(payment, amount=None, lines={"salmon": 1_501})
    with pytest.raises(ValidationFailed):
        plan_refund(payment, amount=None, lines={"bread": 1})
    with pytest.raises(ValidationFailed):
        plan_refund(captured(3_000), amount=None, lines={"milk": 1})  # captured without lines
    with pytest.raises(Conflict):
        plan_refund(AUTHORISED, amount=1, lines=None)


def test_refund_authority() -> None:
    payment = captured(10_000)
    admin = Principal("t1", "u1", Role.TENANT_ADMIN)
    manager = Principal("t1", "u2", Role.STORE_MANAGER, store_id="s1")
    far_manager = Principal("t1", "u3", Role.STORE_MANAGER, store_id="s2")
    check_refund_authority(None, payment, 10_000, 100)
    check_refund_authority(admin, payment, 10_000, 100)
    check_refund_authority(manager, payment, 100, 100)
    with pytest.raises(RefundLimitExceeded):
        check_refund_authority(manager, payment, 101, 100)
    with pytest.raises(Forbidden):
        check_refund_authority(far_manager, payment, 1, 100)
    for role in (Role.CUSTOMER, Role.PICKER, Role.COURIER, Role.PARTNER):
        with pytest.raises(Forbidden):
            check_refund_authority(Principal("t1", "c1", role), payment, 1, 100)


def test_who_sees_a_payment() -> None:
    assert can_see_payment(Principal("t1", "c1", Role.CUSTOMER), AUTHORISED)
    assert not can_see_payment(Principal("t1", "c2", Role.CUSTOMER), AUTHORISED)
    assert can_see_payment(Principal("t1", "x", Role.PICKER, store_id="s1"), AUTHORISED)
    assert not can_see_payment(Principal("t1", "x", Role.PICKER, store_id="s2"), AUTHORISED)
    assert can_see_payment(Principal("t1", "x", Role.TENANT_ADMIN), AUTHORISED)
    assert not can_see_payment(Principal("t1", "x", Role.PARTNER), AUTHORISED)


def test_payment_views_survive_the_idempotency_store() -> None:
    view = captured(900, 100, {"a": (900, 100)})
    assert PaymentView.from_json(view.to_json()) == view


def test_reconciliation_names_each_kind_of_mismatch() -> None:
    pay, release, refund = ReconKey("t1", "", "GBP"), ReconKey("t1", "t1-release", "GBP"), ReconKey("t1", "r1", "GBP")
    report = reconcile(
        "alipay",
        "2026-01-05",
        [(pay, 1_100), (release, -100), (refund, -50)],
        [(pay, 1_100), (release, -100), (ReconKey("t9", "", "GBP"), 500), (refund, -60)],
    )
    assert report.matched == 2
    assert [(m.problem, m.key.trade) for m in report.mismatches] == [
        ("amount_differs", "t1"),
        ("missing_in_ledger", "t9"),
    ]
    assert not report.clean
    assert reconcile("alipay", "d", [(pay, 1)], []).mismatches[0].problem == "missing_at_provider"
