"""Ordering model: order lines, the order state machine, and the final (picked) lines. Pure Python.

State machine (``TRANSITIONS`` is the single source of truth)::

    awaiting_payment --payment_authorised--> placed      (pay-now orders wait for the payment seam)
    awaiting_payment --payment_failed------> cancelled
    placed ----------start_picking---------> picking
    picking ---------pack------------------> packed
    packed ----------dispatch--------------> out_for_delivery      (delivery orders)
    out_for_delivery --deliver-------------> delivered             (delivery orders)
    out_for_delivery --fail_delivery-------> delivery_failed       (nobody home, refused: the bags ride back)
    delivery_failed --return_to_store------> returned              (back at the store: stock back, refund due)
    packed ----------ready_for_collection--> ready_for_collection  (click-and-collect orders)
    ready_for_collection --collect---------> collected             (click-and-collect orders)
    awaiting_payment | placed --customer_cancel--> cancelled       (only before picking starts)
    awaiting_payment | placed | picking --store_cancel--> cancelled

Orders paid on delivery (also the test mode) are created straight in ``placed``.

**Partially fulfilled is an attribute, not a state.** An order packed short still travels the same
path (packed -> out_for_delivery -> delivered, or -> ready_for_collection -> collected); a state
would have to fork every later state in two. :attr:`Order.fulfilment_outcome` is set when the order
is packed (``complete`` or ``partial``), and each :class:`FinalLine` says what happened to its line.

Store cancel stops at ``picking``: after packing, stock has been committed and the goods are in
bags, so what happens to an undeliverable packed order belongs to returns, not to a cancel.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from newretail.catalog.model import SoldBy
from newretail.core.errors import Conflict, ValidationFailed
from newretail.core.geo import Point
from newretail.core.money import Money
from newretail.ordering.promise import DeliveryPromise, PromiseKind


class FulfilmentMethod(StrEnum):
    DELIVERY = "delivery"
    COLLECTION = "collection"  # click-and-collect


class PaymentMode(StrEnum):
    PAY_NOW = "pay_now"  # created awaiting_payment; a payment-authorised event places it
    PAY_ON_DELIVERY = "pay_on_delivery"  # also the test mode: placed at once


class OrderStatus(StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PLACED = "placed"
    PICKING = "picking"
    PACKED = "packed"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    READY_FOR_COLLECTION = "ready_for_collection"
    COLLECTED = "collected"
    CANCELLED = "cancelled"
    DELIVERY_FAILED = "delivery_failed"  # the courier could not hand it over and is bringing it back
    RETURNED = "returned"  # back in the store: goods restocked, the customer is owed a refund


TERMINAL_STATUSES: Final = frozenset(
    {OrderStatus.DELIVERED, OrderStatus.COLLECTED, OrderStatus.CANCELLED, OrderStatus.RETURNED}
)


class OrderEvent(StrEnum):
    PAYMENT_AUTHORISED = "payment_authorised"
    PAYMENT_FAILED = "payment_failed"
    START_PICKING = "start_picking"
    PACK = "pack"
    DISPATCH = "dispatch"
    DELIVER = "deliver"
    FAIL_DELIVERY = "fail_delivery"
    RETURN_TO_STORE = "return_to_store"
    READY_FOR_COLLECTION = "ready_for_collection"
    COLLECT = "collect"
    CUSTOMER_CANCEL = "customer_cancel"
    STORE_CANCEL = "store_cancel"


class FulfilmentOutcome(StrEnum):
    COMPLETE = "complete"
    PARTIAL = "partial"  # some line short, missing or substituted


class LineOutcome(StrEnum):
    FULL = "full"  # the ordered product, all of it (weighed: within tolerance)
    SHORT = "short"  # the ordered product, less than ordered
    MISSING = "missing"  # none of the ordered product (quantity 0, nothing charged)
    SUBSTITUTE = "substitute"  # a substitute the customer accepted, for the shortfall


_BOTH: Final = frozenset(FulfilmentMethod)
_DELIVERY: Final = frozenset({FulfilmentMethod.DELIVERY})
_COLLECTION: Final = frozenset({FulfilmentMethod.COLLECTION})
_S = OrderStatus
_E = OrderEvent

_RULES: Final[tuple[tuple[OrderStatus, OrderEvent, OrderStatus, frozenset[FulfilmentMethod]], ...]] = (
    (_S.AWAITING_PAYMENT, _E.PAYMENT_AUTHORISED, _S.PLACED, _BOTH),
    (_S.AWAITING_PAYMENT, _E.PAYMENT_FAILED, _S.CANCELLED, _BOTH),
    (_S.AWAITING_PAYMENT, _E.CUSTOMER_CANCEL, _S.CANCELLED, _BOTH),
    (_S.AWAITING_PAYMENT, _E.STORE_CANCEL, _S.CANCELLED, _BOTH),
    (_S.PLACED, _E.START_PICKING, _S.PICKING, _BOTH),
    (_S.PLACED, _E.CUSTOMER_CANCEL, _S.CANCELLED, _BOTH),
    (_S.PLACED, _E.STORE_CANCEL, _S.CANCELLED, _BOTH),
    (_S.PICKING, _E.PACK, _S.PACKED, _BOTH),
    (_S.PICKING, _E.STORE_CANCEL, _S.CANCELLED, _BOTH),
    (_S.PACKED, _E.DISPATCH, _S.OUT_FOR_DELIVERY, _DELIVERY),
    (_S.OUT_FOR_DELIVERY, _E.DELIVER, _S.DELIVERED, _DELIVERY),
    (_S.OUT_FOR_DELIVERY, _E.FAIL_DELIVERY, _S.DELIVERY_FAILED, _DELIVERY),
    (_S.DELIVERY_FAILED, _E.RETURN_TO_STORE, _S.RETURNED, _DELIVERY),
    (_S.PACKED, _E.READY_FOR_COLLECTION, _S.READY_FOR_COLLECTION, _COLLECTION),
    (_S.READY_FOR_COLLECTION, _E.COLLECT, _S.COLLECTED, _COLLECTION),
)

#: (method, from status, event) -> to status. Anything absent is illegal.
TRANSITIONS: Final[Mapping[tuple[FulfilmentMethod, OrderStatus, OrderEvent], OrderStatus]] = {
    (method, source, event): target for source, event, target, methods in _RULES for method in methods
}


class IllegalOrderTransition(Conflict):
    code = "illegal_transition"
    http_status = 409


class PaymentHeld(Conflict):
    """The packed total was not collected: the order may not be handed over until it is."""

    code = "payment_held"
    http_status = 409


class InvalidFinalLines(ValidationFailed):
    code = "invalid_final_lines"
    http_status = 422


class NothingPicked(Conflict):
    """Every line came back missing: there is nothing to pack; the store should cancel instead."""

    code = "nothing_picked"
    http_status = 409


def next_status(method: FulfilmentMethod, status: OrderStatus, event: OrderEvent, order_id: str = "") -> OrderStatus:
    try:
        return TRANSITIONS[(method, status, event)]
    except KeyError:
        if event is OrderEvent.CUSTOMER_CANCEL and status not in TERMINAL_STATUSES:
            message = "the order can no longer be cancelled: picking has started"
        else:
            message = f"cannot {event.value.replace('_', ' ')} a {method.value} order that is {status.value}"
        raise IllegalOrderTransition(
            message, order_id=order_id, status=status.value, event=event.value, method=method.value
        ) from None


def allowed_events(method: FulfilmentMethod, status: OrderStatus) -> frozenset[OrderEvent]:
    return frozenset(e for (m, s, e) in TRANSITIONS if m is method and s is status)


def line_price(sold_by: SoldBy, unit_price: Money, quantity: int) -> Money:
    """``unit_price`` is per unit (each) or per kilogram (weight); ``quantity`` is units or grams."""
    if sold_by is SoldBy.WEIGHT:
        return unit_price.per_kilogram(quantity)
    return unit_price.times(quantity)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order. ``quantity`` is in the product's stock unit: units, or grams when sold
    by weight; ``unit_price`` is per unit, or per kilogram when sold by weight."""

    id: str
    product_id: str
    name: str
    sold_by: SoldBy
    quantity: int
    unit_price: Money

    def __post_init__(self) -> None:
        if not self.id or not self.product_id:
            raise ValidationFailed("order lines need an id and a product id", field="lines")
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity <= 0:
            raise ValidationFailed(
                "quantity must be a positive whole number of units or grams", field="quantity", line_id=self.id
            )
        if self.unit_price.amount < 0:
            raise ValidationFailed("unit price cannot be negative", field="unit_price", line_id=self.id)

    @property
    def total(self) -> Money:
        """Estimated line total at order time (weighed goods are re-priced on the picked grams)."""
        return line_price(self.sold_by, self.unit_price, self.quantity)

    @property
    def pick_items(self) -> int:
        """Items for the pick-time model: each unit counts, a weighed line counts once."""
        return 1 if self.sold_by is SoldBy.WEIGHT else self.quantity


@dataclass(frozen=True, slots=True)
class FinalLine:
    """What was actually handed over for an order line (one per line, plus an optional substitute)."""

    order_line_id: str
    product_id: str
    name: str
    sold_by: SoldBy
    quantity: int  # units or grams actually picked
    unit_price: Money
    outcome: LineOutcome

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise InvalidFinalLines("picked quantity cannot be negative", line_id=self.order_line_id)
        if (self.outcome is LineOutcome.MISSING) != (self.quantity == 0):
            raise InvalidFinalLines(
                "a missing line has quantity 0 and only a missing line does", line_id=self.order_line_id
            )

    @property
    def total(self) -> Money:
        return line_price(self.sold_by, self.unit_price, self.quantity)


@dataclass(frozen=True, slots=True)
class StatusChange:
    event: OrderEvent | None  # None for creation
    from_status: OrderStatus | None
    to_status: OrderStatus
    at: datetime


@dataclass(eq=False)
class Order:
    """The order aggregate. Mutating methods take ``at`` (from the injected clock) and append to
    ``history``, which records when each status was entered (the pick timestamps feed the promise
    model and the digital twin)."""

    id: str
    tenant_id: str
    store_id: str
    customer_id: str
    method: FulfilmentMethod
    payment_mode: PaymentMode
    lines: tuple[OrderLine, ...]
    promise: DeliveryPromise
    delivery_address: Point | None
    status: OrderStatus
    created_at: datetime
    # When checkout expected picking to be complete: what the promise was built on. None only on an
    # order made without a quote (tests).
    pick_complete_estimate: datetime | None = None
    history: list[StatusChange] = field(default_factory=list)
    final_lines: tuple[FinalLine, ...] | None = None
    cancellation_reason: str | None = None
    # Set when the packed total could not be collected: the goods wait, they never leave unpaid.
    payment_hold_reason: str | None = None
    delivery_failure_reason: str | None = None

    @classmethod
    def create(
        cls,
        *,
        id: str,
        tenant_id: str,
        store_id: str,
        customer_id: str,
        method: FulfilmentMethod,
        payment_mode: PaymentMode,
        lines: Sequence[OrderLine],
        promise: DeliveryPromise,
        at: datetime,
        delivery_address: Point | None = None,
        pick_complete_estimate: datetime | None = None,
    ) -> Order:
        if at.tzinfo is None:
            raise ValidationFailed("order time must be timezone-aware", field="at")
        if pick_complete_estimate is not None and pick_complete_estimate.tzinfo is None:
            raise ValidationFailed("the pick-complete estimate must be timezone-aware", field="pick_complete_estimate")
        if not lines:
            raise ValidationFailed("an order needs at least one line", field="lines")
        duplicated = [line_id for line_id, n in Counter(line.id for line in lines).items() if n > 1]
        if duplicated:
            raise ValidationFailed("order line ids must be unique", field="lines", line_ids=duplicated)
        currencies = {line.unit_price.currency for line in lines}
        if len(currencies) != 1:
            raise ValidationFailed("all lines must be in one currency", field="lines", currencies=sorted(currencies))
        if method is FulfilmentMethod.DELIVERY:
            if delivery_address is None:
                raise ValidationFailed("a delivery order needs a delivery address", field="delivery_address")
            if not promise.is_delivery:
                raise ValidationFailed("a delivery order needs an express or slot promise", field="promise")
        else:
            if promise.kind is not PromiseKind.COLLECTION:
                raise ValidationFailed("a click-and-collect order needs a collection promise", field="promise")
        status = OrderStatus.AWAITING_PAYMENT if payment_mode is PaymentMode.PAY_NOW else OrderStatus.PLACED
        return cls(
            id=id,
            tenant_id=tenant_id,
            store_id=store_id,
            customer_id=customer_id,
            method=method,
            payment_mode=payment_mode,
            lines=tuple(lines),
            promise=promise,
            delivery_address=delivery_address,
            status=status,
            created_at=at,
            pick_complete_estimate=pick_complete_estimate,
            history=[StatusChange(None, None, status, at)],
        )

    # ---- derived values -------------------------------------------------------------------

    @property
    def currency(self) -> str:
        return self.lines[0].unit_price.currency

    @property
    def item_count(self) -> int:
        return sum(line.pick_items for line in self.lines)

    @property
    def estimated_total(self) -> Money:
        return sum((line.total for line in self.lines), Money.zero(self.currency))

    @property
    def final_total(self) -> Money | None:
        """Recomputed from what was actually picked; ``None`` until the order is packed."""
        if self.final_lines is None:
            return None
        return sum((line.total for line in self.final_lines), Money.zero(self.currency))

    @property
    def total(self) -> Money:
        """What the customer owes: the final total once packed, the estimate before."""
        final = self.final_total
        return self.estimated_total if final is None else final

    @property
    def fulfilment_outcome(self) -> FulfilmentOutcome | None:
        if self.final_lines is None:
            return None
        if all(line.outcome is LineOutcome.FULL for line in self.final_lines):
            return FulfilmentOutcome.COMPLETE
        return FulfilmentOutcome.PARTIAL

    @property
    def is_partially_fulfilled(self) -> bool:
        return self.fulfilment_outcome is FulfilmentOutcome.PARTIAL

    @property
    def can_customer_cancel(self) -> bool:
        return OrderEvent.CUSTOMER_CANCEL in allowed_events(self.method, self.status)

    def entered_at(self, status: OrderStatus) -> datetime | None:
        """When the order last entered ``status`` (e.g. picking started, packed)."""
        for change in reversed(self.history):
            if change.to_status is status:
                return change.at
        return None

    # ---- transitions ----------------------------------------------------------------------

    def _apply(self, event: OrderEvent, at: datetime) -> None:
        target = next_status(self.method, self.status, event, self.id)
        if at.tzinfo is None:
            raise ValidationFailed("transition time must be timezone-aware", field="at")
        self.history.append(StatusChange(event, self.status, target, at))
        self.status = target

    def authorise_payment(self, at: datetime) -> None:
        self._apply(OrderEvent.PAYMENT_AUTHORISED, at)

    def fail_payment(self, at: datetime) -> None:
        self._apply(OrderEvent.PAYMENT_FAILED, at)
        self.cancellation_reason = "payment_failed"

    def start_picking(self, at: datetime) -> None:
        self._apply(OrderEvent.START_PICKING, at)

    def record_packed(self, final_lines: Iterable[FinalLine], at: datetime) -> None:
        """Close picking with what was actually picked; the total is recomputed from these lines.

        Expects exactly one line for the ordered product per order line (``full``, ``short`` or
        ``missing``), and at most one ``substitute`` line per order line. Raises
        :class:`NothingPicked` when every line is missing (cancel the order instead).
        """
        lines = tuple(final_lines)
        next_status(self.method, self.status, OrderEvent.PACK, self.id)  # refuse before validating
        self._check_final_lines(lines)
        if all(line.quantity == 0 for line in lines):
            raise NothingPicked("nothing was picked for this order", order_id=self.id)
        self._apply(OrderEvent.PACK, at)
        self.final_lines = lines

    def dispatch(self, at: datetime) -> None:
        self._check_not_held()
        self._apply(OrderEvent.DISPATCH, at)

    def hold_for_payment(self, reason: str) -> None:
        if self.status not in (OrderStatus.PACKED, OrderStatus.READY_FOR_COLLECTION):
            raise IllegalOrderTransition(
                f"only a packed order is held for payment, this one is {self.status.value}", order_id=self.id
            )
        self.payment_hold_reason = reason or "payment not collected"

    def release_payment_hold(self) -> None:
        self.payment_hold_reason = None

    @property
    def is_held_for_payment(self) -> bool:
        return self.payment_hold_reason is not None

    def _check_not_held(self) -> None:
        if self.payment_hold_reason is not None:
            raise PaymentHeld(
                f"the order is held: {self.payment_hold_reason}", order_id=self.id, reason=self.payment_hold_reason
            )

    def deliver(self, at: datetime) -> None:
        self._apply(OrderEvent.DELIVER, at)

    def fail_delivery(self, reason: str, at: datetime) -> None:
        if not reason.strip():
            raise ValidationFailed("a failed delivery needs a reason", field="reason")
        self._apply(OrderEvent.FAIL_DELIVERY, at)
        self.delivery_failure_reason = reason

    def return_to_store(self, at: datetime) -> None:
        self._apply(OrderEvent.RETURN_TO_STORE, at)

    def mark_ready_for_collection(self, at: datetime) -> None:
        self._apply(OrderEvent.READY_FOR_COLLECTION, at)

    def collect(self, at: datetime) -> None:
        self._check_not_held()
        self._apply(OrderEvent.COLLECT, at)

    def cancel_by_customer(self, at: datetime) -> None:
        self._apply(OrderEvent.CUSTOMER_CANCEL, at)
        self.cancellation_reason = "customer_cancelled"

    def cancel_by_store(self, reason: str, at: datetime) -> None:
        if not reason.strip():
            raise ValidationFailed("a store cancellation needs a reason", field="reason")
        self._apply(OrderEvent.STORE_CANCEL, at)
        self.cancellation_reason = reason

    def _check_final_lines(self, lines: tuple[FinalLine, ...]) -> None:
        by_id = {line.id: line for line in self.lines}
        originals: Counter[str] = Counter()
        substitutes: Counter[str] = Counter()
        for final in lines:
            ordered = by_id.get(final.order_line_id)
            if ordered is None:
                raise InvalidFinalLines("final line refers to an unknown order line", line_id=final.order_line_id)
            if final.unit_price.currency != self.currency:
                raise InvalidFinalLines("final line is in another currency", line_id=final.order_line_id)
            if final.outcome is LineOutcome.SUBSTITUTE:
                substitutes[final.order_line_id] += 1
                if final.product_id == ordered.product_id:
                    raise InvalidFinalLines("a substitute must be another product", line_id=final.order_line_id)
                continue
            originals[final.order_line_id] += 1
            if final.product_id != ordered.product_id or final.sold_by is not ordered.sold_by:
                raise InvalidFinalLines("final line does not match its order line", line_id=final.order_line_id)
            if ordered.sold_by is SoldBy.EACH:
                full = final.quantity == ordered.quantity
                if final.quantity > ordered.quantity or full != (final.outcome is LineOutcome.FULL):
                    raise InvalidFinalLines("picked units do not match the line's outcome", line_id=final.order_line_id)
        missing = [line.id for line in self.lines if originals[line.id] != 1]
        if missing:
            raise InvalidFinalLines("every order line needs exactly one final line", line_ids=missing)
        doubled = [line_id for line_id, n in substitutes.items() if n > 1]
        if doubled:
            raise InvalidFinalLines("at most one substitute per order line", line_ids=doubled)
