"""A stocked store with pickers, couriers and packed delivery orders, made through the real services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from newretail.core.geo import Point, offset_km
from newretail.core.messaging import outbox
from newretail.core.runtime import Runtime
from newretail.delivery import services as delivery
from newretail.fulfilment import services as fulfilment
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod, OrderStatus, PaymentMode
from newretail.ordering.services import DeliveryOption


class Depot:
    """The ``world`` store as a delivery depot: couriers, and orders placed, picked and packed."""

    def __init__(self, runtime: Runtime, world: Any, shop: Any) -> None:
        self.runtime = runtime
        self.world = world
        self.shop = shop
        self.tenant_id: str = world.tenant_id
        self.store_id: str = world.store.id
        self.location: Point = world.store.location
        fulfilment.start_shift(runtime.uow(), tenant_id=self.tenant_id, store_id=self.store_id, picker_id="p0")
        # Tests place many orders at once: express (within the hour here) stays on offer.
        ordering.set_store_operations(
            runtime.uow(),
            tenant_id=self.tenant_id,
            store_id=self.store_id,
            settings={"express_limit_minutes": 60, "seconds_per_order": 60, "seconds_per_item": 5},
        )

    def courier(self, name: str = "Bo", *, on_shift: bool = True, **kwargs: Any) -> str:
        view = delivery.add_courier(
            self.runtime.uow(), tenant_id=self.tenant_id, store_id=self.store_id, name=name, **kwargs
        )
        if on_shift:
            delivery.start_shift(self.runtime.uow(), tenant_id=self.tenant_id, courier_id=view.id)
        return view.id

    def place(
        self,
        at_km: tuple[float, float] = (1.0, 0.0),
        lines: tuple[tuple[str, int], ...] = (("MILK-1", 1),),
        payment_mode: PaymentMode = PaymentMode.PAY_ON_DELIVERY,
    ) -> str:
        self.fill_cart(lines)
        placed = ordering.checkout(
            self.runtime.uow(),
            tenant_id=self.tenant_id,
            customer_id=self.world.customer.id,
            method=FulfilmentMethod.DELIVERY,
            option=DeliveryOption.EXPRESS,
            address=offset_km(self.location, *at_km),
            payment_mode=payment_mode,
        )
        return str(placed["id"])

    def fill_cart(self, lines: tuple[tuple[str, int], ...]) -> None:
        for sku, quantity in lines:
            ordering.set_cart_line(
                self.runtime.uow(),
                tenant_id=self.tenant_id,
                customer_id=self.world.customer.id,
                product_id=self.shop.ids[sku],
                quantity=quantity,
            )

    def clear_cart(self) -> None:
        for product_id in self.shop.ids.values():
            ordering.set_cart_line(
                self.runtime.uow(),
                tenant_id=self.tenant_id,
                customer_id=self.world.customer.id,
                product_id=product_id,
                quantity=0,
            )

    def start_picking(self, order_ids: list[str]) -> Any:
        return fulfilment.start_batch(
            self.runtime.uow(), tenant_id=self.tenant_id, store_id=self.store_id, picker_id="p0", order_ids=order_ids
        )

    def pack(self, order_ids: list[str], batch: Any) -> None:
        for task in batch.pick_list.tasks:
            if task.order_id not in order_ids:
                continue
            weighed = task.sold_by.value == "weight"
            fulfilment.scan(
                self.runtime.uow(),
                tenant_id=self.tenant_id,
                order_id=task.order_id,
                line_id=task.order_line_id,
                barcode=task.barcode,
                units=None if weighed else task.quantity,
                grams=task.quantity if weighed else None,
            )
        for order_id in order_ids:
            fulfilment.pack(self.runtime.uow(), tenant_id=self.tenant_id, order_id=order_id, picker_id="p0")

    def packed_orders(
        self, count: int, *, spread_km: float = 1.0, lines: tuple[tuple[str, int], ...] = (("MILK-1", 1),)
    ) -> list[str]:
        """``count`` orders placed around the store, picked in one batch and packed."""
        order_ids = [
            self.place((spread_km * ((i % 3) - 1), spread_km * ((i // 3) % 3 - 1) + 0.3), lines) for i in range(count)
        ]
        batch = self.start_picking(order_ids)
        self.advance(timedelta(minutes=2))
        self.pack(order_ids, batch)
        return order_ids

    def advance(self, delta: timedelta) -> None:
        self.runtime.clock.advance(delta)  # type: ignore[attr-defined]

    def status(self, order_id: str) -> OrderStatus:
        return ordering.get_order(self.runtime.uow(), self.tenant_id, order_id).status

    def available(self, sku: str) -> int:
        product_id = self.shop.ids[sku]
        levels = inventory.availability(self.runtime.uow(), self.tenant_id, self.store_id, [product_id])
        return levels[product_id].available

    def events(self, name: str) -> list[dict[str, Any]]:
        with self.runtime.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.payload).where(outbox.c.name == name).order_by(outbox.c.id))
            return [dict(r.payload) for r in rows]

    def tick(self, policy: str = "optimised", **kwargs: Any) -> delivery.TickSummary:
        kwargs.setdefault("budget", timedelta(milliseconds=300))
        return delivery.dispatch_tick(self.runtime.uow(), self.tenant_id, self.store_id, policy, **kwargs)


@pytest.fixture
def depot(runtime: Runtime, world: Any, shop: Any) -> Depot:
    return Depot(runtime, world, shop)
