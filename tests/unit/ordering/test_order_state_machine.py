from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newretail.catalog.model import SoldBy
from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point
from newretail.core.money import Money
from newretail.ordering.model import (
    TRANSITIONS,
    FinalLine,
    FulfilmentMethod,
    FulfilmentOutcome,
    IllegalOrderTransition,
    InvalidFinalLines,
    LineOutcome,
    NothingPicked,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    PaymentMode,
    allowed_events,
)
from newretail.ordering.promise import DeliveryPromise, PromiseKind

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
D = FulfilmentMethod.DELIVERY
C = FulfilmentMethod.COLLECTION
S = OrderStatus
E = OrderEvent

# Written out by hand, independently of the model's table: the legal moves of the issue.
LEGAL: dict[tuple[FulfilmentMethod, OrderStatus, OrderEvent], OrderStatus] = {}
for method in (D, C):
    LEGAL |= {
        (method, S.AWAITING_PAYMENT, E.PAYMENT_AUTHORISED): S.PLACED,
        (method, S.AWAITING_PAYMENT, E.PAYMENT_FAILED): S.CANCELLED,
        (method, S.AWAITING_PAYMENT, E.CUSTOMER_CANCEL): S.CANCELLED,
        (method, S.AWAITING_PAYMENT, E.STORE_CANCEL): S.CANCELLED,
        (method, S.PLACED, E.START_PICKING): S.PICKING,
        (method, S.PLACED, E.CUSTOMER_CANCEL): S.CANCELLED,
        (method, S.PLACED, E.STORE_CANCEL): S.CANCELLED,
        (method, S.PICKING, E.PACK): S.PACKED,
        (method, S.PICKING, E.STORE_CANCEL): S.CANCELLED,
    }
LEGAL |= {
    (D, S.PACKED, E.DISPATCH): S.OUT_FOR_DELIVERY,
    (D, S.OUT_FOR_DELIVERY, E.DELIVER): S.DELIVERED,
    (D, S.OUT_FOR_DELIVERY, E.FAIL_DELIVERY): S.DELIVERY_FAILED,
    (D, S.DELIVERY_FAILED, E.RETURN_TO_STORE): S.RETURNED,
    (C, S.PACKED, E.READY_FOR_COLLECTION): S.READY_FOR_COLLECTION,
    (C, S.READY_FOR_COLLECTION, E.COLLECT): S.COLLECTED,
}

LINES = (
    OrderLine("l1", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125)),
    OrderLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 500, Money(1200)),  # 12.00 per kg
)


def promise_for(method: FulfilmentMethod) -> DeliveryPromise:
    if method is D:
        return DeliveryPromise(PromiseKind.EXPRESS, T0, T0, T0 + timedelta(minutes=30), T0 + timedelta(minutes=22))
    ready = T0 + timedelta(minutes=15)
    return DeliveryPromise(PromiseKind.COLLECTION, T0, ready, ready, ready)


def new_order(method: FulfilmentMethod = D, payment: PaymentMode = PaymentMode.PAY_NOW) -> Order:
    return Order.create(
        id="o1",
        tenant_id="t1",
        store_id="s1",
        customer_id="c1",
        method=method,
        payment_mode=payment,
        lines=LINES,
        promise=promise_for(method),
        at=T0,
        delivery_address=Point(51.5, -0.12) if method is D else None,
    )


def full_final_lines() -> list[FinalLine]:
    return [
        FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125), LineOutcome.FULL),
        FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 512, Money(1200), LineOutcome.FULL),
    ]


def fire(order: Order, event: OrderEvent, at: datetime) -> None:
    actions = {
        E.PAYMENT_AUTHORISED: lambda: order.authorise_payment(at),
        E.PAYMENT_FAILED: lambda: order.fail_payment(at),
        E.START_PICKING: lambda: order.start_picking(at),
        E.PACK: lambda: order.record_packed(full_final_lines(), at),
        E.DISPATCH: lambda: order.dispatch(at),
        E.DELIVER: lambda: order.deliver(at),
        E.FAIL_DELIVERY: lambda: order.fail_delivery("customer_absent", at),
        E.RETURN_TO_STORE: lambda: order.return_to_store(at),
        E.READY_FOR_COLLECTION: lambda: order.mark_ready_for_collection(at),
        E.COLLECT: lambda: order.collect(at),
        E.CUSTOMER_CANCEL: lambda: order.cancel_by_customer(at),
        E.STORE_CANCEL: lambda: order.cancel_by_store("shop flooded", at),
    }
    actions[event]()


PATHS: dict[tuple[FulfilmentMethod, OrderStatus], list[OrderEvent]] = {}
for method in (D, C):
    PATHS[(method, S.AWAITING_PAYMENT)] = []
    PATHS[(method, S.PLACED)] = [E.PAYMENT_AUTHORISED]
    PATHS[(method, S.PICKING)] = [E.PAYMENT_AUTHORISED, E.START_PICKING]
    PATHS[(method, S.PACKED)] = [E.PAYMENT_AUTHORISED, E.START_PICKING, E.PACK]
    PATHS[(method, S.CANCELLED)] = [E.CUSTOMER_CANCEL]
    # the other method's states cannot be reached: start from packed and try anyway
    PATHS[(method, S.OUT_FOR_DELIVERY)] = [*PATHS[(method, S.PACKED)], E.DISPATCH] if method is D else []
    PATHS[(method, S.DELIVERED)] = [*PATHS[(method, S.PACKED)], E.DISPATCH, E.DELIVER] if method is D else []
    PATHS[(method, S.DELIVERY_FAILED)] = (
        [*PATHS[(method, S.PACKED)], E.DISPATCH, E.FAIL_DELIVERY] if method is D else []
    )
    PATHS[(method, S.RETURNED)] = [*PATHS[(method, S.DELIVERY_FAILED)], E.RETURN_TO_STORE] if method is D else []
    PATHS[(method, S.READY_FOR_COLLECTION)] = (
        [*PATHS[(method, S.PACKED)], E.READY_FOR_COLLECTION] if method is C else []
    )
    PATHS[(method, S.COLLECTED)] = (
        [*PATHS[(method, S.PACKED)], E.READY_FOR_COLLECTION, E.COLLECT] if method is C else []
    )

REACHABLE = [(m, s) for (m, s), path in PATHS.items() if path or s is S.AWAITING_PAYMENT]


def order_in(method: FulfilmentMethod, status: OrderStatus) -> Order:
    order = new_order(method)
    for minute, event in enumerate(PATHS[(method, status)], start=1):
        fire(order, event, T0 + timedelta(minutes=minute))
    assert order.status is status
    return order


def test_the_model_table_is_exactly_the_issue_table() -> None:
    assert dict(TRANSITIONS) == LEGAL


@pytest.mark.parametrize(("method", "status"), REACHABLE, ids=lambda v: str(v))
@pytest.mark.parametrize("event", list(OrderEvent), ids=lambda v: str(v))
def test_every_transition_from_every_reachable_state(
    method: FulfilmentMethod, status: OrderStatus, event: OrderEvent
) -> None:
    order = order_in(method, status)
    history_before = list(order.history)
    at = T0 + timedelta(hours=1)
    expected = LEGAL.get((method, status, event))
    if expected is None:
        with pytest.raises(IllegalOrderTransition) as caught:
            fire(order, event, at)
        assert caught.value.code == "illegal_transition"
        assert caught.value.http_status == 409
        assert caught.value.details["status"] == status.value
        assert order.status is status
        assert order.history == history_before
    else:
        fire(order, event, at)
        assert order.status is expected
        assert order.history[-1].from_status is status
        assert order.history[-1].to_status is expected
        assert order.history[-1].event is event
        assert order.entered_at(expected) == at


def test_every_state_is_reachable_for_its_method() -> None:
    reached = {s for _, s in REACHABLE}
    assert reached == set(OrderStatus)


def test_payment_seam_pay_now_waits_pay_on_delivery_places_directly() -> None:
    waiting = new_order(payment=PaymentMode.PAY_NOW)
    assert waiting.status is S.AWAITING_PAYMENT
    with pytest.raises(IllegalOrderTransition):
        waiting.start_picking(T0)
    waiting.authorise_payment(T0 + timedelta(seconds=5))
    assert waiting.status is S.PLACED

    direct = new_order(payment=PaymentMode.PAY_ON_DELIVERY)
    assert direct.status is S.PLACED
    assert direct.history[0].from_status is None
    with pytest.raises(IllegalOrderTransition):
        direct.authorise_payment(T0)


def test_customer_can_cancel_only_before_picking_starts() -> None:
    order = order_in(D, S.PLACED)
    assert order.can_customer_cancel
    order.start_picking(T0 + timedelta(minutes=2))
    assert not order.can_customer_cancel
    with pytest.raises(IllegalOrderTransition, match="picking has started"):
        order.cancel_by_customer(T0 + timedelta(minutes=3))
    order.cancel_by_store("picker found the freezer broken", T0 + timedelta(minutes=4))
    assert order.status is S.CANCELLED
    assert order.cancellation_reason == "picker found the freezer broken"


def test_failed_payment_cancels_with_reason() -> None:
    order = new_order()
    order.fail_payment(T0 + timedelta(minutes=1))
    assert order.status is S.CANCELLED
    assert order.cancellation_reason == "payment_failed"


def test_allowed_events_matches_method() -> None:
    assert allowed_events(D, S.PACKED) == {E.DISPATCH}
    assert allowed_events(C, S.PACKED) == {E.READY_FOR_COLLECTION}
    assert allowed_events(D, S.DELIVERED) == frozenset()


def test_estimated_total_prices_units_and_grams() -> None:
    order = new_order()
    # 2 x 1.25 + 500 g at 12.00/kg = 2.50 + 6.00
    assert order.estimated_total == Money(850)
    assert order.total == Money(850)
    assert order.final_total is None
    assert order.item_count == 3  # two units + one weighed line


def test_packed_short_is_partial_but_still_delivered_and_total_recomputed() -> None:
    order = order_in(D, S.PICKING)
    order.record_packed(
        [
            FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 1, Money(125), LineOutcome.SHORT),
            FinalLine("l1", "oat-milk", "Oat milk", SoldBy.EACH, 1, Money(180), LineOutcome.SUBSTITUTE),
            FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 0, Money(1200), LineOutcome.MISSING),
        ],
        T0 + timedelta(minutes=10),
    )
    assert order.status is S.PACKED
    assert order.fulfilment_outcome is FulfilmentOutcome.PARTIAL
    assert order.is_partially_fulfilled
    assert order.final_total == Money(125 + 180)
    assert order.total == Money(305)
    order.dispatch(T0 + timedelta(minutes=12))
    order.deliver(T0 + timedelta(minutes=25))
    assert order.status is S.DELIVERED
    assert order.is_partially_fulfilled


def test_complete_packing_reprices_weighed_goods_on_actual_grams() -> None:
    order = order_in(C, S.PICKING)
    order.record_packed(full_final_lines(), T0 + timedelta(minutes=10))
    assert order.fulfilment_outcome is FulfilmentOutcome.COMPLETE
    assert order.final_total == Money(250 + Money(1200).per_kilogram(512).amount)


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        ([FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125), LineOutcome.FULL)], "exactly one"),
        (
            [
                *[FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125), LineOutcome.FULL)] * 2,
                FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 500, Money(1200), LineOutcome.FULL),
            ],
            "exactly one",
        ),
        (
            [
                FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 1, Money(125), LineOutcome.FULL),
                FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 500, Money(1200), LineOutcome.FULL),
            ],
            "outcome",
        ),
        (
            [
                FinalLine("l1", "bread", "Bread", SoldBy.EACH, 2, Money(125), LineOutcome.FULL),
                FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 500, Money(1200), LineOutcome.FULL),
            ],
            "does not match",
        ),
        (
            [
                FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125), LineOutcome.FULL),
                FinalLine("l9", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125), LineOutcome.FULL),
                FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 500, Money(1200), LineOutcome.FULL),
            ],
            "unknown order line",
        ),
        (
            [
                FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 2, Money(125), LineOutcome.FULL),
                FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 500, Money(1200, "CNY"), LineOutcome.FULL),
            ],
            "currency",
        ),
    ],
)
def test_record_packed_refuses_inconsistent_lines_and_changes_nothing(lines: list[FinalLine], reason: str) -> None:
    order = order_in(D, S.PICKING)
    with pytest.raises(InvalidFinalLines, match=reason):
        order.record_packed(lines, T0 + timedelta(minutes=10))
    assert order.status is S.PICKING
    assert order.final_lines is None


def test_nothing_picked_cannot_be_packed() -> None:
    order = order_in(D, S.PICKING)
    with pytest.raises(NothingPicked):
        order.record_packed(
            [
                FinalLine("l1", "milk", "Milk 1l", SoldBy.EACH, 0, Money(125), LineOutcome.MISSING),
                FinalLine("l2", "cherries", "Cherries", SoldBy.WEIGHT, 0, Money(1200), LineOutcome.MISSING),
            ],
            T0 + timedelta(minutes=10),
        )
    assert order.status is S.PICKING


def test_missing_outcome_and_zero_quantity_go_together() -> None:
    with pytest.raises(InvalidFinalLines):
        FinalLine("l1", "milk", "Milk", SoldBy.EACH, 0, Money(125), LineOutcome.SHORT)
    with pytest.raises(InvalidFinalLines):
        FinalLine("l1", "milk", "Milk", SoldBy.EACH, 1, Money(125), LineOutcome.MISSING)


def create(
    method: FulfilmentMethod,
    lines: list[OrderLine],
    promise: DeliveryPromise,
    delivery_address: Point | None = None,
    pick_complete_estimate: datetime | None = None,
) -> Order:
    return Order.create(
        id="o",
        tenant_id="t",
        store_id="s",
        customer_id="c",
        method=method,
        payment_mode=PaymentMode.PAY_NOW,
        lines=lines,
        promise=promise,
        at=T0,
        delivery_address=delivery_address,
        pick_complete_estimate=pick_complete_estimate,
    )


def test_create_validates_lines_method_and_promise() -> None:
    with pytest.raises(ValidationFailed, match="at least one line"):
        create(C, [], promise_for(C))
    with pytest.raises(ValidationFailed, match="unique"):
        create(C, [LINES[0], LINES[0]], promise_for(C))
    with pytest.raises(ValidationFailed, match="delivery address"):
        create(D, list(LINES), promise_for(D))
    with pytest.raises(ValidationFailed, match="express or slot"):
        create(D, list(LINES), promise_for(C), delivery_address=Point(0, 0))
    with pytest.raises(ValidationFailed, match="collection promise"):
        create(C, list(LINES), promise_for(D))
    with pytest.raises(ValidationFailed, match="one currency"):
        create(C, [LINES[0], OrderLine("l3", "tea", "Tea", SoldBy.EACH, 1, Money(300, "CNY"))], promise_for(C))
    with pytest.raises(ValidationFailed, match="pick-complete estimate"):
        create(C, list(LINES), promise_for(C), pick_complete_estimate=datetime(2026, 1, 5, 12, 9))


def test_create_keeps_the_pick_complete_estimate_the_promise_was_built_on() -> None:
    estimate = T0 + timedelta(minutes=9)
    assert create(C, list(LINES), promise_for(C), pick_complete_estimate=estimate).pick_complete_estimate == estimate


@pytest.mark.parametrize("quantity", [0, -1, True])
def test_order_line_quantity_must_be_positive_int(quantity: int) -> None:
    with pytest.raises(ValidationFailed):
        OrderLine("l", "p", "P", SoldBy.EACH, quantity, Money(1))
