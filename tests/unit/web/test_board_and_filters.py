"""The board's one rule (is an order keeping its promise?) and the display helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.catalog.model import SoldBy
from newretail.core.geo import Point
from newretail.core.money import Money
from newretail.ordering.model import FinalLine, FulfilmentMethod, LineOutcome, Order, OrderLine, PaymentMode
from newretail.ordering.promise import DeliveryPromise, PromiseKind
from newretail.web.board import Standing, local_midnight, promise_standing
from newretail.web.rendering import duration, local_time, money, quantity, safe_next

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _order(kind: PromiseKind = PromiseKind.EXPRESS, minutes: int = 30) -> Order:
    end = T0 + timedelta(minutes=minutes)
    start = T0 if kind is not PromiseKind.COLLECTION else end
    promise = DeliveryPromise(kind=kind, quoted_at=T0, window_start=start, window_end=end, estimate=end)
    method = FulfilmentMethod.COLLECTION if kind is PromiseKind.COLLECTION else FulfilmentMethod.DELIVERY
    line = OrderLine("l1", "p1", "Milk", SoldBy.EACH, 2, Money(165, "GBP"))
    return Order.create(
        id="o1",
        tenant_id="t",
        store_id="s",
        customer_id="c",
        method=method,
        payment_mode=PaymentMode.PAY_ON_DELIVERY,
        lines=[line],
        promise=promise,
        at=T0,
        delivery_address=None if kind is PromiseKind.COLLECTION else Point(51.5, -0.13),
    )


def _deliver(order: Order, at: datetime) -> Order:
    order.start_picking(at - timedelta(minutes=3))
    final = [FinalLine("l1", "p1", "Milk", SoldBy.EACH, 2, Money(165, "GBP"), LineOutcome.FULL)]
    order.record_packed(final, at - timedelta(minutes=2))
    order.dispatch(at - timedelta(minutes=1))
    order.deliver(at)
    return order


def test_an_open_order_is_on_time_then_at_risk_then_late() -> None:
    order = _order()
    assert promise_standing(order, T0 + timedelta(minutes=10)) is Standing.ON_TIME
    assert promise_standing(order, T0 + timedelta(minutes=26)) is Standing.AT_RISK
    assert promise_standing(order, T0 + timedelta(minutes=31)) is Standing.LATE


def test_a_delivered_order_is_judged_by_when_it_arrived_not_by_now() -> None:
    kept = _deliver(_order(), T0 + timedelta(minutes=29))
    assert promise_standing(kept, T0 + timedelta(hours=5)) is Standing.ON_TIME
    missed = _deliver(_order(), T0 + timedelta(minutes=33))
    assert promise_standing(missed, T0 + timedelta(minutes=33)) is Standing.LATE


def test_a_collection_is_kept_when_it_is_ready_and_a_cancelled_order_has_no_standing() -> None:
    order = _order(PromiseKind.COLLECTION, minutes=20)
    order.start_picking(T0 + timedelta(minutes=5))
    order.record_packed(
        [FinalLine("l1", "p1", "Milk", SoldBy.EACH, 2, Money(165, "GBP"), LineOutcome.FULL)], T0 + timedelta(minutes=15)
    )
    order.mark_ready_for_collection(T0 + timedelta(minutes=15))
    assert promise_standing(order, T0 + timedelta(hours=2)) is Standing.ON_TIME

    cancelled = _order()
    cancelled.cancel_by_customer(T0 + timedelta(minutes=1))
    assert promise_standing(cancelled, T0 + timedelta(hours=2)) is Standing.CANCELLED


@given(st.integers(min_value=-120, max_value=120))
def test_standing_of_an_open_order_only_worsens_as_time_passes(minutes: int) -> None:
    order = _order()
    rank = {Standing.ON_TIME: 0, Standing.AT_RISK: 1, Standing.LATE: 2}
    now = T0 + timedelta(minutes=minutes)
    assert rank[promise_standing(order, now)] <= rank[promise_standing(order, now + timedelta(minutes=1))]


def test_local_midnight_is_the_stores_day_start() -> None:
    # 23:30 UTC on 31 March is 00:30 on 1 April in London (BST): the store's day began at 23:00 UTC.
    start = local_midnight(datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "Europe/London")
    assert start.astimezone(UTC) == datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (165, "GBP", "£1.65"),
        (0, "GBP", "£0.00"),
        (123456, "EUR", "€1,234.56"),
        (-50, "GBP", "-£0.50"),
        (99, "CHF", "0.99 CHF"),
        (None, "GBP", "—"),
    ],
)
def test_money_is_shown_from_minor_units(minor: int | None, currency: str, shown: str) -> None:
    assert money(minor, currency) == shown


def test_times_quantities_and_durations() -> None:
    assert local_time(datetime(2026, 7, 1, 11, 5, tzinfo=UTC)) == "12:05"  # London summer time
    assert local_time("2026-01-05T08:00:00+00:00") == "08:00"
    assert quantity(600, "weight") == "600 g" and quantity(1500, "weight") == "1.5 kg" and quantity(3, "each") == "3"
    assert duration(timedelta(seconds=42)) == "42s" and duration(timedelta(minutes=12)) == "12 min"
    assert duration(timedelta(minutes=75)) == "1 h 15 min" and duration(None) == "—"


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/ops", "/ops"),
        ("/shop?store=1", "/shop?store=1"),
        ("//evil.example", None),
        ("https://evil.example", None),
        ("/\\evil", None),
        ("", None),
        (None, None),
    ],
)
def test_login_redirects_stay_on_this_site(target: str | None, kept: str | None) -> None:
    assert safe_next(target) == kept
