"""Ordering use cases: addresses, cart, quote, checkout, order life cycle.

Checkout is one transaction: choose the store, quote the promise from live state, book the slot,
reserve the basket and place the order — all of it or none of it, and idempotent per key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from newretail.catalog import services as catalog
from newretail.catalog.model import SoldBy
from newretail.core.errors import Forbidden, NotFound, ValidationFailed
from newretail.core.geo import Point
from newretail.core.idempotency import run_idempotent
from newretail.core.ids import new_id
from newretail.core.money import Money
from newretail.core.uow import UnitOfWork, joined
from newretail.delivery.model import Load, ParcelLine, estimate_load
from newretail.delivery.roster import SLOT_LEAD, courier_plan, recent_orders_per_trip
from newretail.fulfilment.repository import FulfilmentRepository
from newretail.fulfilment.substitution import SubstitutionPreference
from newretail.inventory import services as inventory
from newretail.ordering.config import StoreOperations
from newretail.ordering.events import OrderCancelled, OrderPlaced, OrderReturned, OrderStatusChanged
from newretail.ordering.model import FulfilmentMethod, Order, OrderLine, OrderStatus, PaymentMode, line_price
from newretail.ordering.promise import (
    CourierRide,
    DeliveryPromise,
    OfferNotAvailable,
    PromiseKind,
    PromiseQuote,
    QueuedOrder,
    StoreCandidate,
    StoreLoad,
    choose_store,
    distance_m,
    quote_promise,
    slot_grid,
    slot_starts,
)
from newretail.ordering.repository import OrderingRepository
from newretail.tenancy.model import Store
from newretail.tenancy.repository import TenancyRepository

MAX_LINE_UNITS = 99
ORDER_RATE_WINDOW = timedelta(minutes=30)  # the promise's view of how busy the store is lately
TRIP_SHARING_WINDOW = timedelta(hours=1)  # the trips whose orders-per-trip the promise counts on
MAX_LINE_GRAMS = 20_000


class DeliveryOption(StrEnum):
    EXPRESS = "express"
    SLOT = "slot"
    COLLECTION = "collection"


class EmptyCart(ValidationFailed):
    code = "empty_cart"


class NotSoldHere(ValidationFailed):
    code = "not_sold_here"


class SlotFull(OfferNotAvailable):
    code = "slot_full"


# -- addresses ------------------------------------------------------------------------------------
def add_address(
    uow: UnitOfWork, *, tenant_id: str, customer_id: str, label: str, line1: str, lat: float, lon: float
) -> str:
    try:
        Point(lat, lon)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="location") from exc
    address_id = new_id()
    with uow:
        OrderingRepository(uow.conn).add_address(
            id=address_id,
            tenant_id=tenant_id,
            customer_id=customer_id,
            label=label,
            line1=line1,
            lat=lat,
            lon=lon,
            created_at=uow.clock.now(),
        )
        uow.commit()
    return address_id


def addresses(uow: UnitOfWork, tenant_id: str, customer_id: str) -> list[Any]:
    with uow:
        return OrderingRepository(uow.conn).addresses(tenant_id, customer_id)


# -- cart -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CartLineView:
    product_id: str
    name: str
    sold_by: SoldBy
    quantity: int
    unit_price: Money | None
    line_total: Money | None


@dataclass(frozen=True)
class CartView:
    store_id: str | None
    lines: list[CartLineView]
    total: Money | None


def set_cart_line(uow: UnitOfWork, *, tenant_id: str, customer_id: str, product_id: str, quantity: int) -> None:
    """Set a product's quantity in the cart (units, or grams for goods sold by weight); 0 removes it."""
    with uow:
        product = catalog.get_product(uow, tenant_id, product_id)
        limit = MAX_LINE_GRAMS if product.sold_by is SoldBy.WEIGHT else MAX_LINE_UNITS
        if not 0 <= quantity <= limit:
            raise ValidationFailed(f"quantity must be 0 to {limit}", field="quantity", product_id=product_id)
        OrderingRepository(uow.conn).set_cart_line(tenant_id, customer_id, product_id, quantity, uow.clock.now())
        uow.commit()


def view_cart(uow: UnitOfWork, *, tenant_id: str, customer_id: str, store_id: str | None) -> CartView:
    with uow:
        basket = OrderingRepository(uow.conn).cart(tenant_id, customer_id)
        products = catalog.products_by_ids(uow, tenant_id, list(basket)) if basket else {}
        prices = catalog.price_lines(uow, tenant_id, store_id, list(basket)) if store_id and basket else {}
    lines = []
    for product_id, quantity in basket.items():
        product = products[product_id]
        price = prices.get(product_id)
        total = line_price(product.sold_by, price, quantity) if price else None
        lines.append(CartLineView(product_id, product.name, product.sold_by, quantity, price, total))
    known = [line.line_total for line in lines if line.line_total is not None]
    cart_total = sum(known[1:], known[0]) if known and len(known) == len(lines) else None
    return CartView(store_id, lines, cart_total)


# -- quote and checkout ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    store: Store
    distance_m: int | None
    quote: PromiseQuote
    lines: list[OrderLine]
    ops: StoreOperations


def quote(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    customer_id: str,
    method: FulfilmentMethod,
    address: Point | None,
    store_id: str | None,
) -> Plan:
    with uow:
        return _plan(uow, tenant_id, customer_id, method, address, store_id)


def checkout(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    customer_id: str,
    method: FulfilmentMethod,
    option: DeliveryOption,
    address: Point | None = None,
    store_id: str | None = None,
    slot_start: datetime | None = None,
    payment_mode: PaymentMode = PaymentMode.PAY_ON_DELIVERY,
    substitution_preference: SubstitutionPreference = SubstitutionPreference.ACCEPT_SUGGESTED,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Place the cart as an order. Returns the order as JSON (the stored answer for retries)."""
    if (method is FulfilmentMethod.COLLECTION) != (option is DeliveryOption.COLLECTION):
        raise ValidationFailed(
            "click-and-collect orders take the 'collection' option, deliveries do not", field="option"
        )
    if option is DeliveryOption.SLOT and slot_start is None:
        raise ValidationFailed("choose a slot: slot_start is required", field="slot_start")

    def work(uow: UnitOfWork) -> dict[str, Any]:
        now = uow.clock.now()
        plan = _plan(uow, tenant_id, customer_id, method, address, store_id)
        repo = OrderingRepository(uow.conn)
        promise: DeliveryPromise
        if option is DeliveryOption.EXPRESS:
            promise = plan.quote.express_promise()
        elif option is DeliveryOption.SLOT:
            assert slot_start is not None
            promise = plan.quote.slot_promise(slot_start)
            if not repo.book_slot(tenant_id, plan.store.id, slot_start, plan.ops.slot_capacity):
                raise SlotFull("that delivery slot has just filled up", slot_start=slot_start.isoformat())
        else:
            promise = plan.quote.collection_promise()
        order_id = new_id()
        reservation = inventory.reserve_within(
            uow,
            tenant_id=tenant_id,
            store_id=plan.store.id,
            lines=[(line.product_id, line.quantity) for line in plan.lines],
            owner_type="order",
            owner_id=order_id,
            ttl=None,
        )
        order = Order.create(
            id=order_id,
            tenant_id=tenant_id,
            store_id=plan.store.id,
            customer_id=customer_id,
            method=method,
            payment_mode=payment_mode,
            lines=plan.lines,
            promise=promise,
            at=now,
            delivery_address=address,
            pick_complete_estimate=plan.quote.pick_complete_at,
        )
        repo.add_order(
            order,
            reservation_id=reservation["id"],
            distance_m=plan.distance_m,
            substitution_preference=substitution_preference.value,
        )
        repo.clear_cart(tenant_id, customer_id)
        uow.emit(
            OrderPlaced(
                tenant_id=tenant_id,
                order_id=order.id,
                store_id=order.store_id,
                customer_id=customer_id,
                method=method.value,
                promise_kind=promise.kind.value,
                promised_by=promise.window_end.isoformat(),
                total_minor=order.estimated_total.amount,
                currency=order.currency,
            )
        )
        return order_json(order)

    request = {
        "customer": customer_id,
        "method": method.value,
        "option": option.value,
        "address": [address.lat, address.lon] if address else None,
        "store_id": store_id,
        "slot_start": slot_start.isoformat() if slot_start else None,
        "payment_mode": payment_mode.value,
    }
    return run_idempotent(
        uow, tenant_id=tenant_id, scope="ordering.checkout", key=idempotency_key, request=request, work=work
    )


def _plan(
    uow: UnitOfWork,
    tenant_id: str,
    customer_id: str,
    method: FulfilmentMethod,
    address: Point | None,
    store_id: str | None,
) -> Plan:
    now = uow.clock.now()
    repo = OrderingRepository(uow.conn)
    basket = repo.cart(tenant_id, customer_id)
    if not basket:
        raise EmptyCart("the cart is empty")
    stores = TenancyRepository(uow.conn).stores(tenant_id)
    if method is FulfilmentMethod.DELIVERY:
        if address is None:
            raise ValidationFailed("a delivery needs an address", field="address")
        open_now = {s.id: s.is_open(now) for s in stores}
        # Only an open store whose zone covers the address can be chosen, so only those need their
        # stock checked: all of them in two reads.
        eligible = [s.id for s in stores if open_now[s.id] and distance_m(address, s.location) <= s.delivery_radius_m]
        stock = inventory.availability_in_stores(uow, tenant_id, eligible, list(basket)) if eligible else {}
        candidates = [
            StoreCandidate(
                s.id,
                s.location,
                s.delivery_radius_m,
                open_now[s.id],
                has_every_line_in_stock=s.id in stock and all(stock[s.id][p].available >= q for p, q in basket.items()),
            )
            for s in stores
        ]
        choice = choose_store(address, candidates)
        store = next(s for s in stores if s.id == choice.store_id)
        distance: int | None = choice.distance_m
    else:
        if store_id is None:
            raise ValidationFailed("click-and-collect needs a store", field="store_id")
        store = TenancyRepository(uow.conn).store(tenant_id, store_id)
        distance = None
    lines, load = _priced_lines(uow, tenant_id, store.id, basket)
    ops = repo.store_operations(store.id)
    item_count = sum(line.pick_items for line in lines)
    quote_ = quote_promise(_store_load(uow, tenant_id, store, ops, now, load), item_count, distance, ops.promise)
    return Plan(store, distance, quote_, lines, ops)


def _priced_lines(
    uow: UnitOfWork, tenant_id: str, store_id: str, basket: dict[str, int]
) -> tuple[list[OrderLine], Load]:
    """The basket's lines at this store's prices, and the totes and weight it will fill (the
    promise counts only couriers who can carry that)."""
    found = catalog.products_in_store(uow, tenant_id, store_id, list(basket))
    unpriced = sorted(p for p in basket if found[p].price is None)
    if unpriced:
        raise NotSoldHere("this store does not sell every product in the cart", product_ids=unpriced, store_id=store_id)
    lines = []
    parcel = []
    for p, quantity in basket.items():
        product, price = found[p].product, found[p].price
        assert price is not None
        lines.append(OrderLine(new_id(), p, product.name, product.sold_by, quantity, price))
        parcel.append(ParcelLine(product.sold_by is SoldBy.WEIGHT, quantity, product.unit_weight_g))
    return lines, estimate_load(parcel)


def _store_load(
    uow: UnitOfWork, tenant_id: str, store: Store, ops: StoreOperations, now: datetime, carrying: Load
) -> StoreLoad:
    store_id = store.id
    repo = OrderingRepository(uow.conn)
    # The queue and the orders underway in one read (each keeps its placing order).
    live = repo.order_rows_in_status(tenant_id, store_id, [OrderStatus.PLACED, OrderStatus.PICKING, OrderStatus.PACKED])
    waiting = [r for r in live if r.status == OrderStatus.PLACED.value]

    # A slot order takes a courier only shortly before its slot (the dispatcher holds it back).
    def not_before(row: Any) -> datetime | None:
        return row.promise_from - SLOT_LEAD if row.promise_kind == PromiseKind.SLOT.value else None

    queued = [QueuedOrder(r.id, r.item_count, r.created_at, r.distance_m, not_before(r)) for r in waiting]
    # Orders being picked or packed already hold pickers (their shifts' busy_until) and will take
    # couriers before this one. Those the dispatcher already put on a trip ride on it; the trips
    # loading hold their couriers until they are back, the trips only planned take a courier
    # when they are due to leave.
    underway = [r for r in live if r.status != OrderStatus.PLACED.value]
    length = ops.slot_length
    starts = slot_starts(_next_boundary(now, length), ops.slots_ahead, length, store.is_open)
    # The roster matters up to the last slot offered (express is sooner).
    roster_until = max(starts, default=now) + max(length, ops.promise.express_limit)
    dispatch = courier_plan(uow.conn, tenant_id, store_id, now, carrying, roster_until)
    sharing = recent_orders_per_trip(uow.conn, tenant_id, store_id, now - TRIP_SHARING_WINDOW)
    rides = [CourierRide(leaves, busy) for leaves, busy in dispatch.planned_rides]
    ride = ops.promise.ride
    for r in underway:
        if r.distance_m is None or r.id in dispatch.planned_orders:
            continue
        leaves = max(r.estimated_pick_complete, now) + timedelta(seconds=ops.dispatch_seconds)
        if (slot_from := not_before(r)) is not None:
            leaves = max(leaves, slot_from)
        round_trip = 2 * ride.ride_seconds(r.distance_m) / sharing
        rides.append(CourierRide(leaves, timedelta(seconds=round_trip)))
    slots = slot_grid(starts, ops.slot_capacity, repo.slot_bookings(store_id, starts), length)
    recent = repo.count_orders_placed_since(tenant_id, store_id, now - ORDER_RATE_WINDOW)
    return StoreLoad(
        now=now,
        queued_orders=queued,
        picker_free_at=FulfilmentRepository(uow.conn).picker_free_times(tenant_id, store_id, now),
        courier_free_at=dispatch.free_at,
        courier_can_carry=dispatch.can_carry,
        courier_off_at=dispatch.off_at,
        courier_rides=rides,
        slots=slots,
        orders_per_hour=recent * (timedelta(hours=1) / ORDER_RATE_WINDOW),
        orders_per_trip=sharing,
    )


def _next_boundary(now: datetime, length: timedelta) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=now.tzinfo)
    steps = math.ceil((now - epoch) / length)
    return epoch + steps * length


# -- the order's life -----------------------------------------------------------------------------
def get_order(uow: UnitOfWork, tenant_id: str, order_id: str) -> Order:
    with joined(uow):
        return OrderingRepository(uow.conn).order(tenant_id, order_id)


def customer_orders(uow: UnitOfWork, tenant_id: str, customer_id: str) -> list[Order]:
    with uow:
        return OrderingRepository(uow.conn).orders_of_customer(tenant_id, customer_id)


def cancel_by_customer(uow: UnitOfWork, *, tenant_id: str, customer_id: str, order_id: str) -> Order:
    with uow:
        repo = OrderingRepository(uow.conn)
        order = repo.order(tenant_id, order_id, for_update=True)
        if order.customer_id != customer_id:
            raise NotFound("order not found", order_id=order_id)
        order.cancel_by_customer(uow.clock.now())
        release_order_stock(uow, order)
        repo.save_order(order)
        uow.emit(
            OrderCancelled(
                tenant_id=tenant_id, order_id=order.id, store_id=order.store_id, reason="cancelled by the customer"
            )
        )
        uow.commit()
    return order


def release_order_stock(uow: UnitOfWork, order: Order) -> None:
    repo = OrderingRepository(uow.conn)
    row = repo.order_row(order.tenant_id, order.id)
    inventory.release_within(uow, tenant_id=order.tenant_id, reservation_id=row.reservation_id)
    if order.promise.kind.value == "slot":
        repo.free_slot(order.store_id, order.promise.window_start)


def advance(uow: UnitOfWork, *, tenant_id: str, order_id: str, step: str) -> Order:
    """Staff moves an order along after packing: dispatch, deliver, ready_for_collection, collect."""
    steps = {
        "dispatch": Order.dispatch,
        "deliver": Order.deliver,
        "ready_for_collection": Order.mark_ready_for_collection,
        "collect": Order.collect,
    }
    if step not in steps:
        raise ValidationFailed(f"step must be one of {sorted(steps)}", field="step")
    with uow:
        repo = OrderingRepository(uow.conn)
        order = repo.order(tenant_id, order_id, for_update=True)
        steps[step](order, uow.clock.now())
        repo.save_order(order)
        uow.emit(
            OrderStatusChanged(
                tenant_id=tenant_id, order_id=order.id, store_id=order.store_id, status=order.status.value
            )
        )
        uow.commit()
    return order


@dataclass(frozen=True)
class StoreOrderBoard:
    """What an operator watches: orders in each live status now, orders finished since a given
    instant (delivered, collected, cancelled), and the newest orders whole."""

    counts: dict[OrderStatus, int]
    recent: list[Order]


LIVE_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.PLACED,
    OrderStatus.PICKING,
    OrderStatus.PACKED,
    OrderStatus.OUT_FOR_DELIVERY,
    OrderStatus.READY_FOR_COLLECTION,
)
FINISHED_STATUSES: tuple[OrderStatus, ...] = (OrderStatus.DELIVERED, OrderStatus.COLLECTED, OrderStatus.CANCELLED)
MAX_RECENT_ORDERS = 100


def store_order_board(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, finished_since: datetime, recent: int = 10
) -> StoreOrderBoard:
    if not 0 <= recent <= MAX_RECENT_ORDERS:
        raise ValidationFailed(f"recent must be 0 to {MAX_RECENT_ORDERS}", field="recent")
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        repo = OrderingRepository(uow.conn)
        raw = repo.status_counts(
            tenant_id, store_id, current=list(LIVE_STATUSES), finished=list(FINISHED_STATUSES), since=finished_since
        )
        newest = repo.recent_orders(tenant_id, store_id, recent) if recent else []
    counts = {status: raw.get(status.value, 0) for status in (*LIVE_STATUSES, *FINISHED_STATUSES)}
    return StoreOrderBoard(counts, newest)


# -- delivery steps, inside the delivery context's unit of work ---------------------------------------
def dispatch_within(uow: UnitOfWork, *, tenant_id: str, order_ids: list[str]) -> list[Order]:
    """The courier left the store with these orders: packed -> out_for_delivery (locked in id order)."""
    changed = []
    for order_id in sorted(set(order_ids)):
        changed.append(_step_within(uow, tenant_id, order_id, lambda order, at: order.dispatch(at)))
    return changed


def deliver_within(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> Order:
    return _step_within(uow, tenant_id, order_id, lambda order, at: order.deliver(at))


def fail_delivery_within(uow: UnitOfWork, *, tenant_id: str, order_id: str, reason: str) -> Order:
    return _step_within(uow, tenant_id, order_id, lambda order, at: order.fail_delivery(reason, at))


def return_to_store_within(uow: UnitOfWork, *, tenant_id: str, order_id: str) -> Order:
    """An undelivered order is back in the store: restock what was packed, and say a refund is due."""
    order = _step_within(uow, tenant_id, order_id, lambda order, at: order.return_to_store(at))
    returned: dict[str, int] = {}
    for line in order.final_lines or ():
        if line.quantity > 0:
            returned[line.product_id] = returned.get(line.product_id, 0) + line.quantity
    if returned:
        inventory.return_within(
            uow, tenant_id=tenant_id, store_id=order.store_id, lines=sorted(returned.items()), reference=order.id
        )
    charged = order.payment_mode is PaymentMode.PAY_NOW
    uow.emit(
        OrderReturned(
            tenant_id=tenant_id,
            order_id=order.id,
            store_id=order.store_id,
            customer_id=order.customer_id,
            reason=order.delivery_failure_reason or "undelivered",
            payment_mode=order.payment_mode.value,
            refund_due_minor=order.total.amount if charged else 0,
            currency=order.currency,
        )
    )
    return order


def _step_within(uow: UnitOfWork, tenant_id: str, order_id: str, step: Callable[[Order, datetime], None]) -> Order:
    repo = OrderingRepository(uow.conn)
    order = repo.order(tenant_id, order_id, for_update=True)
    step(order, uow.clock.now())
    repo.save_order(order)
    uow.emit(
        OrderStatusChanged(tenant_id=tenant_id, order_id=order.id, store_id=order.store_id, status=order.status.value)
    )
    return order


def delivery_queue(uow: UnitOfWork, *, tenant_id: str, store_id: str) -> list[Any]:
    """Rows (id, status, promised_by, estimated_pick_complete, updated_at) of the store's delivery
    orders being picked or packed, for dispatch; joins the caller's transaction."""
    with joined(uow):
        return OrderingRepository(uow.conn).delivery_queue(tenant_id, store_id)


def orders_by_ids(uow: UnitOfWork, *, tenant_id: str, order_ids: list[str]) -> dict[str, Order]:
    with joined(uow):
        return OrderingRepository(uow.conn).orders_by_ids(tenant_id, order_ids)


def require_owner_or_staff(order: Order, subject_id: str, is_staff: bool) -> None:
    if not is_staff and order.customer_id != subject_id:
        raise NotFound("order not found", order_id=order.id)


def require_staff_of_store(order: Order, store_id: str | None) -> None:
    if store_id is not None and store_id != order.store_id:
        raise Forbidden("this order belongs to another store", order_id=order.id)


def set_store_operations(
    uow: UnitOfWork, *, tenant_id: str, store_id: str, settings: dict[str, Any]
) -> StoreOperations:
    ops = StoreOperations.from_json(settings)
    with uow:
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        OrderingRepository(uow.conn).set_store_operations(tenant_id, store_id, ops, uow.clock.now())
        uow.commit()
    return ops


def store_operations(uow: UnitOfWork, *, tenant_id: str, store_id: str) -> StoreOperations:
    with joined(uow):
        TenancyRepository(uow.conn).store(tenant_id, store_id)
        return OrderingRepository(uow.conn).store_operations(store_id)


def order_json(order: Order) -> dict[str, Any]:
    final = order.final_lines
    return {
        "id": order.id,
        "store_id": order.store_id,
        "status": order.status.value,
        "method": order.method.value,
        "payment_mode": order.payment_mode.value,
        "created_at": order.created_at.isoformat(),
        "promise": {
            "kind": order.promise.kind.value,
            "window_start": order.promise.window_start.isoformat(),
            "window_end": order.promise.window_end.isoformat(),
            "estimate": order.promise.estimate.isoformat(),
            "pick_complete_estimate": estimate.isoformat() if (estimate := order.pick_complete_estimate) else None,
        },
        "lines": [
            {
                "id": ln.id,
                "product_id": ln.product_id,
                "name": ln.name,
                "sold_by": ln.sold_by.value,
                "quantity": ln.quantity,
                "unit_price_minor": ln.unit_price.amount,
                "line_total_minor": ln.total.amount,
            }
            for ln in order.lines
        ],
        "final_lines": None
        if final is None
        else [
            {
                "order_line_id": fl.order_line_id,
                "product_id": fl.product_id,
                "name": fl.name,
                "quantity": fl.quantity,
                "outcome": fl.outcome.value,
                "unit_price_minor": fl.unit_price.amount,
                "line_total_minor": fl.total.amount,
            }
            for fl in final
        ],
        "estimated_total_minor": order.estimated_total.amount,
        "final_total_minor": order.final_total.amount if order.final_total else None,
        "currency": order.currency,
        "partially_fulfilled": order.is_partially_fulfilled,
        "payment_hold": order.payment_hold_reason,
        "history": [{"status": h.to_status.value, "at": h.at.isoformat()} for h in order.history],
    }
