from __future__ import annotations

from fastapi.testclient import TestClient

from newretail.core.runtime import Runtime
from newretail.inventory import services


def test_over_reserving_over_http_is_a_409_naming_the_short_lines(
    client: TestClient, runtime: Runtime, world, product_ids
) -> None:  # type: ignore[no-untyped-def]
    a, b = product_ids[:2]
    headers = world.login(client)
    assert (
        client.post(
            f"/stores/{world.store.id}/stock/receipts", headers=headers, json={"product_id": a, "quantity": 3}
        ).status_code
        == 200
    )
    response = client.post(
        f"/stores/{world.store.id}/reservations",
        headers=headers,
        json={"lines": [{"product_id": a, "quantity": 4}, {"product_id": b, "quantity": 1}]},
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "out_of_stock"
    assert {(line["product_id"], line["available"]) for line in body["details"]["lines"]} == {(a, 3), (b, 0)}


def test_shoppers_hold_carts_for_themselves_with_an_expiry(
    client: TestClient, runtime: Runtime, world, product_ids
) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    services.receive(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=a, quantity=5)
    shopper = world.login(client, world.customer.email)
    response = client.post(
        f"/stores/{world.store.id}/reservations",
        headers=shopper,
        json={"lines": [{"product_id": a, "quantity": 2}], "owner_id": "someone-else"},
    )
    assert response.status_code == 201
    held = response.json()
    assert held["owner_id"] == world.customer.id and held["expires_at"] is not None
    # Shoppers cannot move stock.
    assert (
        client.post(
            f"/stores/{world.store.id}/stock/receipts", headers=shopper, json={"product_id": a, "quantity": 1}
        ).status_code
        == 403
    )


def test_idempotency_key_header_replays_the_first_answer(
    client: TestClient, runtime: Runtime, world, product_ids
) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    headers = world.login(client)
    receipt = {"product_id": a, "quantity": 7}
    for _ in range(3):
        response = client.post(
            f"/stores/{world.store.id}/stock/receipts",
            json=receipt,
            headers={**headers, "Idempotency-Key": "delivery-note-881"},
        )
        assert response.status_code == 200
        assert response.json()["on_hand"] == 7
    different = client.post(
        f"/stores/{world.store.id}/stock/receipts",
        json={"product_id": a, "quantity": 8},
        headers={**headers, "Idempotency-Key": "delivery-note-881"},
    )
    assert different.status_code == 422 and different.json()["code"] == "idempotency_key_reused"


def test_a_tenant_cannot_read_or_move_another_tenants_stock(
    client: TestClient, runtime: Runtime, world, other_world, product_ids
) -> None:  # type: ignore[no-untyped-def]
    a = product_ids[0]
    services.receive(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, product_id=a, quantity=5)
    reservation = services.reserve(
        runtime.uow(),
        tenant_id=world.tenant_id,
        store_id=world.store.id,
        lines=[(a, 1)],
        owner_type="order",
        owner_id="o",
        ttl=None,
    )
    intruder = other_world.login(client)
    assert client.get(f"/stores/{world.store.id}/stock", headers=intruder).status_code == 404
    for path, body in [
        (f"/stores/{world.store.id}/stock/receipts", {"product_id": a, "quantity": 1}),
        (f"/stores/{world.store.id}/reservations", {"lines": [{"product_id": a, "quantity": 1}]}),
        (f"/stores/{other_world.store.id}/stock/receipts", {"product_id": a, "quantity": 1}),
        (f"/reservations/{reservation['id']}/release", {}),
    ]:
        response = client.post(path, headers=intruder, json=body)
        assert response.status_code == 404, (path, response.text)
    assert client.get(f"/reservations/{reservation['id']}", headers=intruder).status_code == 404
    level = services.availability(runtime.uow(), world.tenant_id, world.store.id, [a])[a]
    assert (level.on_hand, level.reserved) == (5, 1)


def test_bad_input_is_a_clear_4xx(client: TestClient, world, product_ids) -> None:  # type: ignore[no-untyped-def]
    headers = world.login(client)
    bad = client.post(
        f"/stores/{world.store.id}/reservations",
        headers=headers,
        json={"lines": [{"product_id": product_ids[0], "quantity": -1}]},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    unknown = client.post(
        f"/stores/{world.store.id}/reservations",
        headers=headers,
        json={"lines": [{"product_id": "nope", "quantity": 1}]},
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_product"
    adjust = client.post(
        f"/stores/{world.store.id}/stock/adjustments",
        headers=headers,
        json={"product_id": product_ids[0], "reason": "shrink", "delta": 3},
    )
    assert adjust.status_code == 422
