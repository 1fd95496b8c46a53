"""The courier's app and the dispatcher's screen over HTTP: roles, idempotency, tenant isolation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from newretail.delivery import services as delivery
from newretail.ordering.model import OrderStatus
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role


def courier_login(client, world, depot, email: str = "rider@acme.test") -> tuple[dict[str, str], str]:  # type: ignore[no-untyped-def]
    """A courier user bound to the store, on the roster through the manager's endpoint."""
    user = tenancy.register_user(
        world.runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email=email,
        name="Rider",
        password=world.password,
        role=Role.COURIER,
        store_id=world.store.id,
    )
    admin = world.login(client)
    added = client.post(
        f"/stores/{world.store.id}/couriers",
        json={"name": "Rider", "vehicle": "ebike", "user_id": user.id},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert added.json()["state"] == "off"
    return world.login(client, email), added.json()["id"]


def test_a_courier_works_a_delivery_through_the_app(client, world, depot) -> None:  # type: ignore[no-untyped-def]
    rider, courier_id = courier_login(client, world, depot)
    admin = world.login(client)
    shopper = world.login(client, world.customer.email)

    started = client.post("/courier/shift/start", json={}, headers=rider)
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "idle" and started.json()["id"] == courier_id
    assert client.get("/courier/trip", headers=rider).json() is None

    (order_id,) = depot.packed_orders(1)
    ticked = client.post(f"/stores/{world.store.id}/dispatch/tick?policy=optimised&budget_ms=200", headers=admin)
    assert ticked.status_code == 200, ticked.text
    assert ticked.json()["assigned"] == [order_id]
    board = client.get(f"/stores/{world.store.id}/dispatch", headers=admin).json()
    assert board["policy"] == "optimised" and board["solves"] == 1
    assert [c["state"] for c in board["couriers"]] == ["waiting"]

    trip = client.get("/courier/trip", headers=rider).json()
    assert trip["status"] == "loading" and [s["order_id"] for s in trip["stops"]] == [order_id]
    key = {"Idempotency-Key": "depart-1"}
    first = client.post(f"/courier/trips/{trip['id']}/depart", headers={**rider, **key})
    again = client.post(f"/courier/trips/{trip['id']}/depart", headers={**rider, **key})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json() == again.json() and first.json()["status"] == "riding"
    assert depot.status(order_id) is OrderStatus.OUT_FOR_DELIVERY

    position = client.put("/courier/position", json={"lat": 51.51, "lon": -0.128}, headers=rider)
    assert position.status_code == 200 and position.json()["state"] == "riding"
    tracked = client.get(f"/orders/{order_id}/delivery", headers=shopper).json()
    assert tracked["stop_status"] == "out" and tracked["courier_name"] == "Rider" and tracked["eta"]
    code = tracked["delivery_code"]
    assert code is not None
    # Staff see the tracking, not the customer's code.
    assert client.get(f"/orders/{order_id}/delivery", headers=admin).json()["delivery_code"] is None

    stop = first.json()["stops"][0]
    drop = stop["drop_off"]
    wrong = client.post(
        f"/courier/stops/{stop['id']}/deliver",
        json={"lat": drop["lat"], "lon": drop["lon"], "code": "x" + code[1:]},
        headers=rider,
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_delivery_code"
    no_proof = client.post(
        f"/courier/stops/{stop['id']}/deliver", json={"lat": drop["lat"], "lon": drop["lon"]}, headers=rider
    )
    assert no_proof.status_code == 422 and no_proof.json()["code"] == "invalid_proof_of_delivery"
    done = client.post(
        f"/courier/stops/{stop['id']}/deliver",
        json={"lat": drop["lat"], "lon": drop["lon"], "code": code, "photo_ref": "s3://p/9.jpg"},
        headers={**rider, "Idempotency-Key": "drop-1"},
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "returning"
    assert depot.status(order_id) is OrderStatus.DELIVERED

    back = client.post(f"/courier/trips/{trip['id']}/back", headers=rider)
    assert back.status_code == 200 and back.json()["status"] == "done"
    trips = client.get(f"/stores/{world.store.id}/trips?status=done", headers=admin).json()
    assert [t["id"] for t in trips] == [trip["id"]]
    ended = client.post("/courier/shift/end", headers=rider)
    assert ended.status_code == 200 and ended.json()["state"] == "off"


def test_a_failed_delivery_through_the_app(client, world, depot) -> None:  # type: ignore[no-untyped-def]
    rider, _ = courier_login(client, world, depot)
    client.post("/courier/shift/start", json={}, headers=rider)
    (order_id,) = depot.packed_orders(1)
    depot.tick()
    trip = client.get("/courier/trip", headers=rider).json()
    riding = client.post(f"/courier/trips/{trip['id']}/depart", headers=rider).json()
    stop_id = riding["stops"][0]["id"]
    bad = client.post(f"/courier/stops/{stop_id}/fail", json={"reason": "dog"}, headers=rider)
    assert bad.status_code == 422
    early = client.post(f"/courier/trips/{trip['id']}/back", headers=rider)
    assert early.status_code == 409 and early.json()["code"] == "trip_state_conflict"
    failed = client.post(f"/courier/stops/{stop_id}/fail", json={"reason": "customer_absent"}, headers=rider)
    assert failed.status_code == 200 and failed.json()["stops"][0]["failure_reason"] == "customer_absent"
    assert client.post(f"/courier/trips/{trip['id']}/back", headers=rider).status_code == 200
    assert depot.status(order_id) is OrderStatus.RETURNED


def test_roles_are_checked(client, world, depot) -> None:  # type: ignore[no-untyped-def]
    rider, _ = courier_login(client, world, depot)
    shopper = world.login(client, world.customer.email)
    assert client.post("/courier/shift/start", json={}, headers=shopper).status_code == 403
    assert client.get("/courier/trip").status_code == 401
    assert client.post(f"/stores/{world.store.id}/dispatch/tick", headers=rider).status_code == 403
    assert client.get(f"/stores/{world.store.id}/dispatch", headers=shopper).status_code == 403
    # A courier login that is on no roster.
    tenancy.register_user(
        world.runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email="nobody@acme.test",
        name="Nobody",
        password=world.password,
        role=Role.COURIER,
    )
    nobody = world.login(client, "nobody@acme.test")
    missing = client.get("/courier/me", headers=nobody)
    assert missing.status_code == 404 and missing.json()["code"] == "courier_not_found"
    # Staff of the store may follow a delivery; a customer only their own.
    client.post("/courier/shift/start", json={}, headers=rider)
    (order_id,) = depot.packed_orders(1)
    assert client.get(f"/orders/{order_id}/delivery", headers=rider).status_code == 200
    tenancy.register_user(
        world.runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email="neighbour@acme.test",
        name="Neighbour",
        password=world.password,
        role=Role.CUSTOMER,
    )
    neighbour = world.login(client, "neighbour@acme.test")
    assert client.get(f"/orders/{order_id}/delivery", headers=neighbour).status_code == 404


def test_tenants_are_isolated(client, world, other_world, depot) -> None:  # type: ignore[no-untyped-def]
    rider, courier_id = courier_login(client, world, depot)
    client.post("/courier/shift/start", json={}, headers=rider)
    (order_id,) = depot.packed_orders(1)
    depot.tick()
    trip = client.get("/courier/trip", headers=rider).json()
    riding = client.post(f"/courier/trips/{trip['id']}/depart", headers=rider).json()
    stop = riding["stops"][0]

    rival_admin = other_world.login(client)
    rival_user = tenancy.register_user(
        other_world.runtime.uow(),
        other_world.hashing,
        tenant_id=other_world.tenant_id,
        email="rider@rival.test",
        name="Rival rider",
        password=other_world.password,
        role=Role.COURIER,
        store_id=other_world.store.id,
    )
    delivery.add_courier(
        other_world.runtime.uow(),
        tenant_id=other_world.tenant_id,
        store_id=other_world.store.id,
        name="Rival rider",
        user_id=rival_user.id,
    )
    rival_rider = other_world.login(client, "rider@rival.test")
    client.post("/courier/shift/start", json={}, headers=rival_rider)
    store = world.store.id
    for method, path in [
        ("get", f"/stores/{store}/dispatch"),
        ("get", f"/stores/{store}/trips"),
        ("get", f"/stores/{store}/couriers"),
        ("get", f"/stores/{store}/roster"),
        ("post", f"/stores/{store}/dispatch/tick"),
    ]:
        answer = getattr(client, method)(path, headers=rival_admin)
        assert answer.status_code == 404, (path, answer.text)
    attempts: list[tuple[str, dict[str, Any]]] = [
        (f"/courier/trips/{trip['id']}/depart", {}),
        (f"/courier/stops/{stop['id']}/deliver", {"lat": 51.5, "lon": -0.12, "photo_ref": "x"}),
        (f"/courier/stops/{stop['id']}/fail", {"reason": "refused"}),
        (f"/courier/trips/{trip['id']}/back", {}),
    ]
    for path, body in attempts:
        answer = client.post(path, json=body, headers=rival_rider)
        assert answer.status_code == 404, (path, answer.text)
    assert client.get(f"/orders/{order_id}/delivery", headers=rival_admin).status_code == 404
    assert depot.status(order_id) is OrderStatus.OUT_FOR_DELIVERY  # nothing happened to it
    # Our own courier cannot act on another courier's stop either.
    assert client.get("/courier/me", headers=rival_rider).json()["id"] != courier_id


def test_a_manager_rosters_shifts_through_the_api(client, world, depot) -> None:  # type: ignore[no-untyped-def]
    admin = world.login(client)
    courier_id = depot.courier("Rostered", on_shift=False)
    store = world.store.id
    now = depot.runtime.clock.now()

    def shift(hours_from: int, hours_to: int) -> dict[str, str]:
        return {
            "starts_at": (now + timedelta(hours=hours_from)).isoformat(),
            "ends_at": (now + timedelta(hours=hours_to)).isoformat(),
        }

    key = {"Idempotency-Key": "roster-1"}
    first = client.post(f"/stores/{store}/couriers/{courier_id}/roster", json=shift(1, 5), headers={**admin, **key})
    again = client.post(f"/stores/{store}/couriers/{courier_id}/roster", json=shift(1, 5), headers={**admin, **key})
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() and first.json()["courier_id"] == courier_id
    overlap = client.post(f"/stores/{store}/couriers/{courier_id}/roster", json=shift(4, 6), headers=admin)
    assert overlap.status_code == 409 and overlap.json()["code"] == "shift_overlaps", overlap.text
    backwards = client.post(f"/stores/{store}/couriers/{courier_id}/roster", json=shift(6, 5), headers=admin)
    assert backwards.status_code == 422 and "end after it starts" in backwards.json()["message"]
    naive = {"starts_at": "2030-01-01T09:00:00", "ends_at": "2030-01-01T17:00:00"}
    refused = client.post(f"/stores/{store}/couriers/{courier_id}/roster", json=naive, headers=admin)
    assert refused.status_code == 422 and "time zone" in refused.json()["message"]
    unknown = client.post(f"/stores/{store}/couriers/nobody/roster", json=shift(7, 9), headers=admin)
    assert unknown.status_code == 404

    listed = client.get(f"/stores/{store}/roster", headers=admin)
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [first.json()["id"]]
    gone = client.delete(f"/stores/{store}/roster/{first.json()['id']}", headers=admin)
    assert gone.status_code == 204
    assert client.get(f"/stores/{store}/roster", headers=admin).json() == []
    assert client.delete(f"/stores/{store}/roster/{first.json()['id']}", headers=admin).status_code == 404
