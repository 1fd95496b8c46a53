"""Ordering storage. The order aggregate is stored whole as a JSON document (via pydantic's
dataclass support) beside the columns that queues and the promise model query."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, bindparam, delete, func, insert, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite

from newretail.core.db import JSON_TEXT, load_document, not_indexed
from newretail.core.errors import NotFound, ValidationFailed
from newretail.ordering.config import StoreOperations
from newretail.ordering.model import Order, OrderStatus
from newretail.ordering.tables import cart_lines, customer_addresses, orders, slot_bookings, store_fulfilment_settings

_ORDER = TypeAdapter(Order)


class OrderNotFound(NotFound):
    code = "order_not_found"


# Dispatch reads this every minute for every store: built once, compiled once.
_DELIVERY_QUEUE = (
    select(orders.c.id, orders.c.status, orders.c.promised_by, orders.c.estimated_pick_complete, orders.c.updated_at)
    .where(
        orders.c.tenant_id == bindparam("tenant_id"),
        orders.c.store_id == bindparam("store_id"),
        orders.c.status.in_([OrderStatus.PICKING.value, OrderStatus.PACKED.value]),
        orders.c.method == "delivery",
        orders.c.payment_held.is_(False),  # packed but unpaid: it waits at the store
    )
    .order_by(orders.c.id)
)


def _insert(conn: Connection, table: Any) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


# The statements carts, quotes, checkout, picking and packing run are built once: building and
# hashing a statement per call costs several times what the database takes to run it.
# Order documents travel as JSON text that pydantic parses and renders itself (core.db.JSONText).
_DOCUMENT = type_coerce(orders.c.document, JSON_TEXT).label("document")
# Checkout's pick-complete estimate is kept in its column only (written once; the promise and
# dispatch query it there): the document leaves it out and every load puts it back on the order.
_COLUMN_ONLY = {"pick_complete_estimate"}
_ORDER_DOCUMENT = select(_DOCUMENT, orders.c.estimated_pick_complete).where(
    orders.c.tenant_id == bindparam("tenant_id"), orders.c.id == bindparam("order_id")
)
_ORDER_DOCUMENT_FOR_UPDATE = _ORDER_DOCUMENT.with_for_update()
_ORDER_ROW = select(*(c for c in orders.c if c.name != "document"), _DOCUMENT).where(
    orders.c.tenant_id == bindparam("tenant_id"), orders.c.id == bindparam("order_id")
)
_ORDER_ROW_FOR_UPDATE = _ORDER_ROW.with_for_update()
_DOCUMENT_PARAM = bindparam("b_document", type_=JSON_TEXT)
_ADD_ORDER = insert(orders).values(document=_DOCUMENT_PARAM)  # the other columns come with the values
_SAVE_ORDER = update(orders).where(orders.c.id == bindparam("order_key")).values(document=_DOCUMENT_PARAM)
_QUEUE_COLUMNS = (
    orders.c.id,
    orders.c.item_count,
    orders.c.created_at,
    orders.c.distance_m,
    orders.c.method,
    orders.c.promise_kind,
    orders.c.promise_from,
    orders.c.promised_by,
    orders.c.status,
    orders.c.estimated_pick_complete,
)
_ROWS_IN_STATUS: dict[tuple[str, ...], Any] = {}  # one statement per status set, built on first use
# Every status is named so the (store, status, created_at) index serves the time range: without it
# the count reads every order the store ever had (thousands by the evening, on every quote).
_ORDERS_PLACED_SINCE = select(func.count()).where(
    orders.c.tenant_id == bindparam("tenant_id"),
    orders.c.store_id == bindparam("store_id"),
    orders.c.status.in_([status.value for status in OrderStatus]),
    orders.c.created_at >= bindparam("since"),
)
_CART = (
    select(cart_lines.c.product_id, cart_lines.c.quantity)
    .where(cart_lines.c.tenant_id == bindparam("tenant_id"), cart_lines.c.customer_id == bindparam("customer_id"))
    .order_by(cart_lines.c.product_id)
)
_CART_REMOVE_LINE = delete(cart_lines).where(
    cart_lines.c.customer_id == bindparam("customer_id"), cart_lines.c.product_id == bindparam("product_id")
)


def _cart_upsert(statement: Any) -> Any:
    """Set a cart line whether or not it is there yet: one statement instead of delete + insert."""
    return statement.on_conflict_do_update(
        index_elements=[cart_lines.c.customer_id, cart_lines.c.product_id],
        set_={
            "tenant_id": statement.excluded.tenant_id,
            "quantity": statement.excluded.quantity,
            "updated_at": statement.excluded.updated_at,
        },
    )


_CART_SET_LINE = {
    "postgresql": _cart_upsert(postgresql.insert(cart_lines)),
    "sqlite": _cart_upsert(sqlite.insert(cart_lines)),
}
_CLEAR_CART = delete(cart_lines).where(
    cart_lines.c.tenant_id == bindparam("tenant_id"), cart_lines.c.customer_id == bindparam("customer_id")
)
_SLOT_BOOKINGS = select(slot_bookings.c.slot_start, slot_bookings.c.booked).where(
    slot_bookings.c.store_id == bindparam("store_id"),
    slot_bookings.c.slot_start.in_(bindparam("starts", expanding=True)),
)


def _take_slot_place(statement: Any) -> Any:
    """Open the slot with this booking, or take one more place if it still has room: one statement."""
    # An INSERT's rowcount (1: booked, 0: full) is kept only on request.
    return statement.on_conflict_do_update(
        index_elements=[slot_bookings.c.store_id, slot_bookings.c.slot_start],
        set_={"booked": slot_bookings.c.booked + 1},
        where=slot_bookings.c.booked < bindparam("b_capacity"),
    ).execution_options(preserve_rowcount=True)


_TAKE_SLOT_PLACE = {
    "postgresql": _take_slot_place(postgresql.insert(slot_bookings)),
    "sqlite": _take_slot_place(sqlite.insert(slot_bookings)),
}
_STORE_OPERATIONS = select(store_fulfilment_settings.c.settings).where(
    store_fulfilment_settings.c.store_id == bindparam("store_id")
)


def _rows_in_status(statuses: tuple[str, ...]) -> Any:
    statement = _ROWS_IN_STATUS.get(statuses)
    if statement is None:
        statement = (
            select(*_QUEUE_COLUMNS)
            .where(
                orders.c.tenant_id == bindparam("tenant_id"),
                orders.c.store_id == bindparam("store_id"),
                orders.c.status.in_(statuses),
            )
            .order_by(orders.c.created_at, orders.c.id)
        )
        _ROWS_IN_STATUS[statuses] = statement
    return statement


def _loaded(row: Any) -> Order:
    """The order from a row's document and its pick-complete estimate column."""
    order = load_document(_ORDER, row.document)
    order.pick_complete_estimate = row.estimated_pick_complete
    return order


class OrderingRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # -- orders -----------------------------------------------------------------------------------
    def add_order(
        self,
        order: Order,
        *,
        reservation_id: str,
        distance_m: int | None,
        substitution_preference: str,
    ) -> None:
        if order.pick_complete_estimate is None:  # the queue and the promise sort on it
            raise ValidationFailed("a new order needs its pick-complete estimate", field="pick_complete_estimate")
        self.conn.execute(
            _ADD_ORDER,
            {
                **self._columns(order),
                "reservation_id": reservation_id,
                "substitution_preference": substitution_preference,
                "distance_m": distance_m,
                "estimated_pick_complete": order.pick_complete_estimate,
                "created_at": order.created_at,
            },
        )

    def save_order(self, order: Order) -> None:
        values = self._columns(order)
        values["order_key"] = values.pop("id")
        self.conn.execute(_SAVE_ORDER, values)

    @staticmethod
    def _columns(order: Order) -> dict[str, Any]:
        """The row's values for the prebuilt insert and update (the document as ``b_document``)."""
        return {
            "id": order.id,
            "tenant_id": order.tenant_id,
            "store_id": order.store_id,
            "customer_id": order.customer_id,
            "method": order.method.value,
            "status": order.status.value,
            "promise_kind": order.promise.kind.value,
            "promise_from": order.promise.window_start,
            "promised_by": order.promise.window_end,
            "item_count": order.item_count,
            "total_minor": order.total.amount,
            "currency": order.currency,
            "updated_at": order.history[-1].at,
            "payment_held": order.is_held_for_payment,
            "b_document": _ORDER.dump_json(order, exclude=_COLUMN_ONLY).decode(),
        }

    def order(self, tenant_id: str, order_id: str, *, for_update: bool = False) -> Order:
        query = _ORDER_DOCUMENT_FOR_UPDATE if for_update else _ORDER_DOCUMENT
        row = self.conn.execute(query, {"tenant_id": tenant_id, "order_id": order_id}).first()
        if row is None:
            raise OrderNotFound("order not found", order_id=order_id)
        return _loaded(row)

    def order_row(self, tenant_id: str, order_id: str) -> Any:
        row = self.conn.execute(_ORDER_ROW, {"tenant_id": tenant_id, "order_id": order_id}).first()
        if row is None:
            raise OrderNotFound("order not found", order_id=order_id)
        return row

    def order_with_row(self, tenant_id: str, order_id: str, *, for_update: bool = False) -> tuple[Order, Any]:
        """The order and its row (reservation, substitution preference, ...) in one read."""
        query = _ORDER_ROW_FOR_UPDATE if for_update else _ORDER_ROW
        row = self.conn.execute(query, {"tenant_id": tenant_id, "order_id": order_id}).first()
        if row is None:
            raise OrderNotFound("order not found", order_id=order_id)
        return _loaded(row), row

    def orders_by_ids(self, tenant_id: str, order_ids: list[str]) -> dict[str, Order]:
        if not order_ids:
            return {}
        query = select(orders.c.document, orders.c.estimated_pick_complete).where(
            not_indexed(orders.c.tenant_id) == tenant_id, orders.c.id.in_(order_ids)
        )
        found = (_loaded(row) for row in self.conn.execute(query))
        return {order.id: order for order in found}

    def delivery_queue(self, tenant_id: str, store_id: str) -> list[Any]:
        """Delivery orders being picked or packed at a store: what dispatch plans (no documents read)."""
        return list(self.conn.execute(_DELIVERY_QUEUE, {"tenant_id": tenant_id, "store_id": store_id}))

    def orders_of_customer(self, tenant_id: str, customer_id: str, limit: int = 50) -> list[Order]:
        query = (
            select(orders.c.document, orders.c.estimated_pick_complete)
            .where(orders.c.tenant_id == tenant_id, orders.c.customer_id == customer_id)
            .order_by(orders.c.created_at.desc())
            .limit(limit)
        )
        return [_loaded(row) for row in self.conn.execute(query)]

    def order_rows_in_status(
        self, tenant_id: str, store_id: str, statuses: list[OrderStatus], limit: int | None = None
    ) -> list[Any]:
        query = _rows_in_status(tuple(s.value for s in statuses))
        if limit is not None:
            query = query.limit(limit)
        return list(self.conn.execute(query, {"tenant_id": tenant_id, "store_id": store_id}))

    def status_counts(
        self, tenant_id: str, store_id: str, *, current: list[OrderStatus], finished: list[OrderStatus], since: datetime
    ) -> dict[str, int]:
        """How many of the store's orders are in each ``current`` status now, and how many reached
        a ``finished`` status at or after ``since`` (a terminal order's last change is its finish)."""
        counts: dict[str, int] = {}
        queries = [
            orders.c.status.in_([s.value for s in current]),
            (orders.c.status.in_([s.value for s in finished])) & (orders.c.updated_at >= since),
        ]
        for condition in queries:
            rows = self.conn.execute(
                select(orders.c.status, func.count())
                .where(orders.c.tenant_id == tenant_id, orders.c.store_id == store_id, condition)
                .group_by(orders.c.status)
            )
            counts.update({row[0]: int(row[1]) for row in rows})
        return counts

    def recent_orders(self, tenant_id: str, store_id: str, limit: int) -> list[Order]:
        query = (
            select(orders.c.document, orders.c.estimated_pick_complete)
            .where(orders.c.tenant_id == tenant_id, orders.c.store_id == store_id)
            .order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
        )
        return [_loaded(row) for row in self.conn.execute(query)]

    # -- carts ------------------------------------------------------------------------------------
    def cart(self, tenant_id: str, customer_id: str) -> dict[str, int]:
        rows = self.conn.execute(_CART, {"tenant_id": tenant_id, "customer_id": customer_id})
        return {row.product_id: int(row.quantity) for row in rows}

    def set_cart_line(self, tenant_id: str, customer_id: str, product_id: str, quantity: int, now: datetime) -> None:
        if quantity > 0:
            self.conn.execute(
                _CART_SET_LINE[self.conn.dialect.name],
                {
                    "tenant_id": tenant_id,
                    "customer_id": customer_id,
                    "product_id": product_id,
                    "quantity": quantity,
                    "updated_at": now,
                },
            )
        else:
            self.conn.execute(_CART_REMOVE_LINE, {"customer_id": customer_id, "product_id": product_id})

    def clear_cart(self, tenant_id: str, customer_id: str) -> None:
        self.conn.execute(_CLEAR_CART, {"tenant_id": tenant_id, "customer_id": customer_id})

    # -- addresses --------------------------------------------------------------------------------
    def add_address(self, **values: Any) -> None:
        self.conn.execute(insert(customer_addresses).values(**values))

    def addresses(self, tenant_id: str, customer_id: str) -> list[Any]:
        return list(
            self.conn.execute(
                select(customer_addresses)
                .where(customer_addresses.c.tenant_id == tenant_id, customer_addresses.c.customer_id == customer_id)
                .order_by(customer_addresses.c.created_at)
            )
        )

    def address(self, tenant_id: str, customer_id: str, address_id: str) -> Any:
        row = self.conn.execute(
            select(customer_addresses).where(
                customer_addresses.c.tenant_id == tenant_id,
                customer_addresses.c.customer_id == customer_id,
                customer_addresses.c.id == address_id,
            )
        ).first()
        if row is None:
            raise NotFound("address not found", address_id=address_id)
        return row

    # -- slots ------------------------------------------------------------------------------------
    def slot_bookings(self, store_id: str, starts: list[datetime]) -> dict[datetime, int]:
        if not starts:
            return {}
        rows = self.conn.execute(_SLOT_BOOKINGS, {"store_id": store_id, "starts": starts})
        return {row.slot_start: int(row.booked) for row in rows}

    def book_slot(self, tenant_id: str, store_id: str, slot_start: datetime, capacity: int) -> bool:
        """Take one place in a slot if it has room: a conditional update, so two checkouts never overbook."""
        if capacity < 1:
            return False
        params = {"tenant_id": tenant_id, "store_id": store_id, "slot_start": slot_start, "booked": 1}
        result = self.conn.execute(_TAKE_SLOT_PLACE[self.conn.dialect.name], {**params, "b_capacity": capacity})
        return result.rowcount == 1

    def free_slot(self, store_id: str, slot_start: datetime) -> None:
        self.conn.execute(
            update(slot_bookings)
            .where(
                slot_bookings.c.store_id == store_id,
                slot_bookings.c.slot_start == slot_start,
                slot_bookings.c.booked > 0,
            )
            .values(booked=slot_bookings.c.booked - 1)
        )

    # -- store settings ---------------------------------------------------------------------------
    def store_operations(self, store_id: str) -> StoreOperations:
        raw = self.conn.execute(_STORE_OPERATIONS, {"store_id": store_id}).scalar_one_or_none()
        return StoreOperations.from_json(raw) if raw else StoreOperations()

    def set_store_operations(self, tenant_id: str, store_id: str, ops: StoreOperations, now: datetime) -> None:
        self.conn.execute(delete(store_fulfilment_settings).where(store_fulfilment_settings.c.store_id == store_id))
        self.conn.execute(
            insert(store_fulfilment_settings).values(
                tenant_id=tenant_id, store_id=store_id, settings=ops.to_json(), updated_at=now
            )
        )

    def count_orders_placed_since(self, tenant_id: str, store_id: str, since: datetime) -> int:
        params = {"tenant_id": tenant_id, "store_id": store_id, "since": since}
        return int(self.conn.execute(_ORDERS_PLACED_SINCE, params).scalar_one())

    def count_orders(self, tenant_id: str) -> int:
        return int(self.conn.execute(select(func.count()).where(orders.c.tenant_id == tenant_id)).scalar_one())
