"""Orders pay through the app: authorise at checkout, capture the packed total, hold on failure."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from newretail.core.runtime import Runtime
from newretail.delivery import services as delivery
from newretail.fulfilment import services as fulfilment
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.payments import services as payments

from .test_checkout_to_packed import HOME, staff_on_shift


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _checkout(client: TestClient, shopper: dict[str, str], shop, **payment: Any):  # type: ignore[no-untyped-def]
    for sku, quantity in (("MILK-1", 2), ("BREAD-1", 1)):
        assert (
            client.put(
                "/me/cart/lines", headers=shopper, json={"product_id": shop.ids[sku], "quantity": quantity}
            ).status_code
            == 200
        )
    return client.post(
        "/me/checkout",
        headers={**shopper, **_key()},
        json={
            "method": "delivery",
            "option": "express",
            "lat": HOME.lat,
            "lon": HOME.lon,
            "payment_mode": "pay_now",
            **payment,
        },
    )


def _pick_everything_but_one_milk(runtime: Runtime, world, shop, order_id: str) -> None:  # type: ignore[no-untyped-def]
    batch = fulfilment.start_batch(
        runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="p0", order_ids=[order_id]
    )
    for task in batch.pick_list.tasks:
        units = 1 if task.product_id == shop.ids["MILK-1"] else task.quantity
        fulfilment.scan(
            runtime.uow(),
            tenant_id=world.tenant_id,
            order_id=order_id,
            line_id=task.order_line_id,
            barcode=task.barcode,
            units=units,
        )
        if units < task.quantity:
            fulfilment.report_short(
                runtime.uow(), tenant_id=world.tenant_id, order_id=order_id, line_id=task.order_line_id
            )


def _wallet(runtime: Runtime, world) -> int:  # type: ignore[no-untyped-def]
    return payments.wallet_balance(
        runtime.uow(), tenant_id=world.tenant_id, customer_id=world.customer.id, currency="GBP"
    ).amount


def test_wallet_order_is_authorised_then_charged_the_packed_total(
    client: TestClient, runtime: Runtime, world, shop
) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    shopper = world.login(client, world.customer.email)
    topped = client.post(
        "/payments/wallet/top-ups", headers={**shopper, **_key()}, json={"amount_minor": 2000, "method": "test"}
    )
    assert topped.status_code == 201, topped.text
    placed = _checkout(client, shopper, shop, payment_method="wallet")
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "placed" and order["payment"]["status"] == "authorised"
    estimated = 2 * 165 + 250
    assert order["payment"]["authorised"] > estimated  # the margin for substitutions and weighed goods
    assert _wallet(runtime, world) == 2000 - order["payment"]["authorised"]

    _pick_everything_but_one_milk(runtime, world, shop, order["id"])
    packed = fulfilment.pack(runtime.uow(), tenant_id=world.tenant_id, order_id=order["id"])
    assert packed.final_total is not None and packed.final_total.amount == 165 + 250
    view = payments.order_payment(runtime.uow(), tenant_id=world.tenant_id, order_id=order["id"])
    assert view is not None and view.status.value == "captured" and view.captured == 165 + 250
    assert _wallet(runtime, world) == 2000 - (165 + 250)  # the rest of the hold came back
    assert payments.verify_ledger(runtime.uow()).ok


def test_declined_payment_cancels_the_order_and_frees_the_stock(
    client: TestClient, runtime: Runtime, world, shop
) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    shopper = world.login(client, world.customer.email)
    response = _checkout(client, shopper, shop, payment_method="test", payment_code="tok_decline")
    assert response.status_code == 402, response.text
    milk = shop.ids["MILK-1"]
    assert inventory.availability(runtime.uow(), world.tenant_id, world.store.id, [milk])[milk].reserved == 0
    orders = ordering.customer_orders(runtime.uow(), world.tenant_id, world.customer.id)
    assert [o.status.value for o in orders] == ["cancelled"]


def test_failed_capture_holds_the_order_until_a_manager_releases_it(
    client: TestClient, runtime: Runtime, world, shop
) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    shopper = world.login(client, world.customer.email)
    order = _checkout(client, shopper, shop, payment_method="test", payment_code="tok_capture_fails").json()
    assert order["status"] == "placed"
    _pick_everything_but_one_milk(runtime, world, shop, order["id"])
    fulfilment.pack(runtime.uow(), tenant_id=world.tenant_id, order_id=order["id"])
    admin = world.login(client)
    held = client.get(f"/orders/{order['id']}", headers=admin).json()
    assert held["status"] == "packed" and held["payment_hold"]
    # Dispatch leaves it at the store: no courier is given an unpaid order.
    summary = delivery.dispatch_tick(runtime.uow(), world.tenant_id, world.store.id, "fifo-nearest", force=True)
    assert order["id"] not in summary.assigned + summary.planned
    assert client.post(f"/orders/{order['id']}/payment-hold/release", headers=admin).status_code == 200
    summary = delivery.dispatch_tick(runtime.uow(), world.tenant_id, world.store.id, "fifo-nearest", force=True)
    assert summary.assigned == (order["id"],)


def test_held_collection_order_is_not_handed_over(client: TestClient, runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    shopper = world.login(client, world.customer.email)
    for sku, quantity in (("MILK-1", 2), ("BREAD-1", 1)):
        client.put("/me/cart/lines", headers=shopper, json={"product_id": shop.ids[sku], "quantity": quantity})
    order = client.post(
        "/me/checkout",
        headers={**shopper, **_key()},
        json={
            "method": "collection",
            "option": "collection",
            "store_id": world.store.id,
            "payment_mode": "pay_now",
            "payment_method": "test",
            "payment_code": "tok_capture_fails",
        },
    ).json()
    _pick_everything_but_one_milk(runtime, world, shop, order["id"])
    fulfilment.pack(runtime.uow(), tenant_id=world.tenant_id, order_id=order["id"])
    admin = world.login(client)
    refused = client.post(f"/orders/{order['id']}/steps/collect", headers=admin)
    assert refused.status_code == 409 and refused.json()["code"] == "payment_held"
    assert client.post(f"/orders/{order['id']}/payment-hold/release", headers=admin).status_code == 200
    assert client.post(f"/orders/{order['id']}/steps/collect", headers=admin).json()["status"] == "collected"


def test_cancelling_a_paid_order_gives_the_hold_back(client: TestClient, runtime: Runtime, world, shop) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    shopper = world.login(client, world.customer.email)
    client.post(
        "/payments/wallet/top-ups", headers={**shopper, **_key()}, json={"amount_minor": 2000, "method": "test"}
    )
    order = _checkout(client, shopper, shop, payment_method="wallet").json()
    assert _wallet(runtime, world) < 2000
    cancelled = client.post(f"/orders/{order['id']}/cancel", headers=shopper)
    assert cancelled.json()["status"] == "cancelled"
    assert _wallet(runtime, world) == 2000
    assert payments.verify_ledger(runtime.uow()).ok


def test_every_order_answer_carries_the_pick_complete_estimate_of_checkout(
    client: TestClient, runtime: Runtime, world, shop
) -> None:  # type: ignore[no-untyped-def]
    staff_on_shift(runtime, world.tenant_id, world.store.id)
    shopper = world.login(client, world.customer.email)
    admin = world.login(client)

    def estimate(order: dict[str, Any]) -> Any:
        return order["promise"]["pick_complete_estimate"]

    # Paying on delivery, the checkout answer is the one the promise was just quoted with.
    later = _checkout(client, shopper, shop, payment_mode="pay_on_delivery")
    assert later.status_code == 201, later.text
    quoted = estimate(later.json())
    assert quoted is not None
    order_id = later.json()["id"]
    assert estimate(client.get(f"/orders/{order_id}", headers=shopper).json()) == quoted
    assert [estimate(o) for o in client.get("/me/orders", headers=shopper).json()] == [quoted]
    _pick_everything_but_one_milk(runtime, world, shop, order_id)
    packed = client.post(f"/orders/{order_id}/pack", headers=admin)
    assert packed.status_code == 200, packed.text
    assert packed.json()["status"] == "packed" and estimate(packed.json()) == quoted

    # Paying now, the answer is the order read back after the payment: it keeps the estimate too.
    topped = client.post(
        "/payments/wallet/top-ups", headers={**shopper, **_key()}, json={"amount_minor": 2000, "method": "test"}
    )
    assert topped.status_code == 201, topped.text
    now = _checkout(client, shopper, shop, payment_method="wallet")
    assert now.status_code == 201, now.text
    assert estimate(now.json()) is not None
    assert estimate(client.get(f"/orders/{now.json()['id']}", headers=shopper).json()) == estimate(now.json())
