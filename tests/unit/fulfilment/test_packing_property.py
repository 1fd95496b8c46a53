"""Property: whatever happens at the shelf, the final amount and the stock commits equal what was
actually picked (substitutes at their own price, weighed goods at their actual grams)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from newretail.catalog.model import ShelfLocation, SoldBy, TemperatureZone
from newretail.core.geo import Point
from newretail.core.money import Money
from newretail.fulfilment.model import OrderPicking, OrderToPick, ProductPlacement, StockQuantity
from newretail.fulfilment.substitution import SubstituteCandidate, SubstitutionPreference
from newretail.ordering.model import (
    FulfilmentMethod,
    FulfilmentOutcome,
    NothingPicked,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMode,
)
from newretail.ordering.promise import DeliveryPromise, PromiseKind

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
# product id -> (sold by, price per unit or per kg, gtin)
PRODUCTS: dict[str, tuple[SoldBy, int, str]] = {
    "apple": (SoldBy.EACH, 45, "00000017"),
    "bread": (SoldBy.EACH, 135, "00000024"),
    "cola": (SoldBy.EACH, 99, "00000031"),
    "beef": (SoldBy.WEIGHT, 1899, "00000048"),
    "cheese": (SoldBy.WEIGHT, 1250, "00000055"),
    "grapes": (SoldBy.WEIGHT, 333, "00000062"),
}
PLACEMENTS = {
    pid: ProductPlacement(pid, gtin, ShelfLocation(i, 1, 1), TemperatureZone.AMBIENT)
    for i, (pid, (_, _, gtin)) in enumerate(PRODUCTS.items())
}


def price(pid: str, quantity: int) -> int:
    sold_by, unit, _ = PRODUCTS[pid]
    if sold_by is SoldBy.WEIGHT:
        return (unit * quantity + 500) // 1000  # price per kg, rounded half up
    return unit * quantity


def full(sold_by: SoldBy, ordered: int, picked: int) -> bool:
    return picked * 100 >= ordered * 90 if sold_by is SoldBy.WEIGHT else picked == ordered


@st.composite
def order_lines(draw: st.DrawFn) -> list[OrderLine]:
    pids = draw(st.lists(st.sampled_from(sorted(PRODUCTS)), min_size=1, max_size=6))
    lines = []
    for i, pid in enumerate(pids):
        sold_by, unit, _ = PRODUCTS[pid]
        quantity = draw(st.integers(1, 6) if sold_by is SoldBy.EACH else st.integers(50, 2000))
        lines.append(OrderLine(f"l{i}", pid, pid, sold_by, quantity, Money(unit)))
    return lines


@settings(max_examples=200, deadline=None)
@given(order_lines(), st.data())
def test_final_amount_and_commits_equal_what_was_picked(lines: list[OrderLine], data: st.DataObject) -> None:
    preference = data.draw(st.sampled_from(list(SubstitutionPreference)))
    picking = OrderPicking.start(OrderToPick("o1", tuple(lines)), PLACEMENTS, preference, T0)

    kept: Counter[str] = Counter()  # product -> quantity that ends up in the bags
    put_back: Counter[str] = Counter()
    expected_total = 0
    expected_complete = True
    for minute, line in enumerate(lines, start=1):
        at = T0 + timedelta(minutes=minute)
        gtin = PRODUCTS[line.product_id][2]
        limit = line.quantity if line.sold_by is SoldBy.EACH else line.quantity * 110 // 100
        picked = data.draw(st.integers(0, limit), label=f"{line.id} picked")
        if picked:
            if line.sold_by is SoldBy.EACH:
                picking.scan(line.id, gtin, at, units=picked)
            else:
                picking.scan(line.id, gtin, at, grams=picked)
        kept[line.product_id] += picked
        expected_total += price(line.product_id, picked)
        if full(line.sold_by, line.quantity, picked):
            continue
        expected_complete = False
        if not data.draw(st.booleans(), label=f"{line.id} substitute?"):
            picking.report_short(line.id, at)
            continue
        alternatives = sorted(p for p, spec in PRODUCTS.items() if spec[0] is line.sold_by and p != line.product_id)
        sub_id = data.draw(st.sampled_from(alternatives), label=f"{line.id} substitute")
        sub_sold_by, sub_unit, sub_gtin = PRODUCTS[sub_id]
        candidate = SubstituteCandidate(sub_id, sub_id, sub_gtin, "any", sub_sold_by, Money(sub_unit))
        substitution = picking.propose_substitute(line.id, candidate, at)
        shortfall = line.quantity - picked
        assert substitution.quantity == shortfall
        sub_limit = shortfall if sub_sold_by is SoldBy.EACH else shortfall * 110 // 100
        sub_picked = data.draw(st.integers(0, sub_limit), label=f"{line.id} substitute picked")
        if sub_picked:
            if sub_sold_by is SoldBy.EACH:
                picking.scan(line.id, sub_gtin, at, units=sub_picked)
            else:
                picking.scan(line.id, sub_gtin, at, grams=sub_picked)
        answer = data.draw(st.sampled_from(["approve", "reject", "timeout"]), label=f"{line.id} answer")
        if answer == "approve":
            picking.approve_substitute(line.id, at + timedelta(minutes=1))
        elif answer == "reject":
            picking.reject_substitute(line.id, at + timedelta(minutes=1))
        accepted = answer == "approve" or (
            answer == "timeout" and preference is SubstitutionPreference.ACCEPT_SUGGESTED
        )
        if accepted:
            kept[sub_id] += sub_picked
            expected_total += price(sub_id, sub_picked)
        else:
            put_back[sub_id] += sub_picked

    pack_at = T0 + timedelta(hours=1)  # every deadline has passed
    if sum(kept.values()) == 0:
        try:
            picking.pack(pack_at)
        except NothingPicked:
            return
        raise AssertionError("an order with nothing picked was packed")
    result = picking.pack(pack_at)

    assert result.final_total == Money(expected_total)
    assert result.final_total == sum((f.total for f in result.final_lines), Money(0))
    assert result.commits == tuple(StockQuantity(p, q) for p, q in sorted(kept.items()) if q)
    assert result.put_back == tuple(StockQuantity(p, q) for p, q in sorted(put_back.items()) if q)
    reserved: Counter[str] = Counter()
    picked_as_ordered: Counter[str] = Counter()
    for f in result.final_lines:
        if f.outcome.value != "substitute":
            picked_as_ordered[f.product_id] += f.quantity
    for line in lines:
        reserved[line.product_id] += line.quantity
    releases = {p: max(0, reserved[p] - picked_as_ordered[p]) for p in reserved}
    assert result.releases == tuple(StockQuantity(p, q) for p, q in sorted(releases.items()) if q)
    assert (result.outcome is FulfilmentOutcome.COMPLETE) == expected_complete

    # the order accepts the packed lines as they are and recomputes the same total
    ready = T0 + timedelta(minutes=30)
    order = Order.create(
        id="o1",
        tenant_id="t",
        store_id="s",
        customer_id="c",
        method=FulfilmentMethod.DELIVERY,
        payment_mode=PaymentMode.PAY_ON_DELIVERY,
        lines=lines,
        promise=DeliveryPromise(PromiseKind.EXPRESS, T0, T0, ready, ready),
        at=T0,
        delivery_address=Point(0, 0),
    )
    order.start_picking(T0)
    order.record_packed(result.final_lines, pack_at)
    assert order.status is OrderStatus.PACKED
    assert order.final_total == result.final_total
    assert order.fulfilment_outcome is result.outcome
