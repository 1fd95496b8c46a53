"""Payments over HTTP: idempotency keys, who may see and do what, provider notifications."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from newretail.payments.gateway_sim import AlipayGatewaySim, generate_private_key, sign_notification
from newretail.payments.providers import PaymentProviders
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role


@pytest.fixture
def api(client: TestClient, providers_with_alipay: PaymentProviders, world: Any) -> TestClient:
    client.app.state.payment_providers = providers_with_alipay  # type: ignore[attr-defined]
    return client


def _staff(world: Any, email: str, role: Role, store_id: str | None) -> None:
    tenancy.register_user(
        world.runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email=email,
        name=email,
        password=world.password,
        role=role,
        store_id=store_id,
    )


def _customer(world: Any, email: str) -> str:
    return tenancy.register_user(
        world.runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email=email,
        name="Other",
        password=world.password,
        role=Role.CUSTOMER,
    ).id


def _with_key(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def _paid_order(api: TestClient, customer: dict[str, str], staff: dict[str, str], world: Any, order: str) -> str:
    assert (
        api.post(
            "/payments/wallet/top-ups",
            headers=_with_key(customer, f"top-{order}"),
            json={"amount_minor": 50_000, "method": "test", "payment_code": "tok_ok"},
        ).status_code
        == 201
    )
    authorised = api.post(
        f"/payments/orders/{order}/authorise",
        headers=_with_key(customer, f"auth-{order}"),
        json={"store_id": world.store.id, "amount_minor": 10_000, "method": "wallet"},
    )
    assert authorised.status_code == 201, authorised.text
    captured = api.post(
        f"/payments/orders/{order}/capture",
        headers=_with_key(staff, f"cap-{order}"),
        json={"amount_minor": 9_000, "lines": {"a": 4_000, "b": 5_000}},
    )
    assert captured.status_code == 200, captured.text
    return str(captured.json()["id"])


def test_money_moving_calls_need_an_idempotency_key_and_a_retry_changes_nothing(api: TestClient, world: Any) -> None:
    customer = world.login(api, world.customer.email)
    body = {"amount_minor": 2_500, "method": "test", "payment_code": "tok_ok"}
    missing = api.post("/payments/wallet/top-ups", headers=customer, json=body)
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    first = api.post("/payments/wallet/top-ups", headers=_with_key(customer, "t1"), json=body)
    again = api.post("/payments/wallet/top-ups", headers=_with_key(customer, "t1"), json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = api.post("/payments/wallet/top-ups", headers=_with_key(customer, "t1"), json={**body, "amount_minor": 1})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert api.get("/payments/wallet", headers=customer).json()["balance_minor"] == 2_500


def test_customers_see_only_their_own_payments(api: TestClient, world: Any, other_world: Any) -> None:
    _staff(world, "picker@acme.test", Role.PICKER, world.store.id)
    customer = world.login(api, world.customer.email)
    picker = world.login(api, "picker@acme.test")
    payment_id = _paid_order(api, customer, picker, world, "order-1")

    _customer(world, "neighbour@acme.test")
    neighbour = world.login(api, "neighbour@acme.test")
    assert api.get("/payments", headers=neighbour).json() == []
    assert api.get(f"/payments/{payment_id}", headers=neighbour).status_code == 404
    assert api.get(f"/payments/{payment_id}/refunds", headers=neighbour).status_code == 404
    assert api.get("/payments/wallet", headers=neighbour).json()["balance_minor"] == 0
    stranger = other_world.login(api)  # another retailer's admin
    assert api.get(f"/payments/{payment_id}", headers=stranger).status_code == 404
    assert api.get("/payments", headers=stranger).json() == []

    mine = api.get("/payments", headers=customer).json()
    assert [p["id"] for p in mine] == [payment_id]
    assert mine[0]["lines"] == {"a": [4_000, 0], "b": [5_000, 0]}
    assert api.get(f"/payments/{payment_id}", headers=world.login(api)).status_code == 200  # the admin


def test_only_staff_capture_and_only_managers_refund_within_their_limit(api: TestClient, world: Any) -> None:
    _staff(world, "picker@acme.test", Role.PICKER, world.store.id)
    _staff(world, "manager@acme.test", Role.STORE_MANAGER, world.store.id)
    customer = world.login(api, world.customer.email)
    picker = world.login(api, "picker@acme.test")
    manager = world.login(api, "manager@acme.test")
    admin = world.login(api)

    api.post(
        "/payments/wallet/top-ups",
        headers=_with_key(customer, "t"),
        json={"amount_minor": 50_000, "method": "test"},
    )
    api.post(
        "/payments/orders/order-1/authorise",
        headers=_with_key(customer, "a"),
        json={"store_id": world.store.id, "amount_minor": 10_000, "method": "wallet"},
    )
    refused = api.post("/payments/orders/order-1/capture", headers=_with_key(customer, "c"), json={"amount_minor": 1})
    assert refused.status_code == 403
    payment_id = api.post(
        "/payments/orders/order-1/capture",
        headers=_with_key(picker, "c"),
        json={"amount_minor": 9_000, "lines": {"a": 4_000, "b": 5_000}},
    ).json()["id"]

    refund = {"amount_minor": 1_500, "reason": "bruised apples"}
    assert api.post(f"/payments/{payment_id}/refunds", headers=_with_key(customer, "r"), json=refund).status_code == 403
    assert api.post(f"/payments/{payment_id}/refunds", headers=_with_key(picker, "r"), json=refund).status_code == 403
    ok = api.post(f"/payments/{payment_id}/refunds", headers=_with_key(manager, "r1"), json=refund)
    assert ok.status_code == 201 and ok.json()["amount_minor"] == 1_500
    too_big = api.post(
        f"/payments/{payment_id}/refunds", headers=_with_key(manager, "r2"), json={"lines": {"b": 5_000}, "reason": "x"}
    )
    assert too_big.status_code == 403 and too_big.json()["code"] == "refund_limit_exceeded"
    by_admin = api.post(
        f"/payments/{payment_id}/refunds", headers=_with_key(admin, "r3"), json={"lines": {"b": 5_000}, "reason": "x"}
    )
    assert by_admin.status_code == 201
    beyond = api.post(f"/payments/{payment_id}/refunds", headers=_with_key(admin, "r4"), json={"reason": "all"})
    assert beyond.status_code == 201 and beyond.json()["amount_minor"] == 9_000 - 1_500 - 5_000
    nothing_left = api.post(f"/payments/{payment_id}/refunds", headers=_with_key(admin, "r5"), json={"reason": "more"})
    assert nothing_left.status_code == 409 and nothing_left.json()["code"] == "refund_exceeds_capture"
    assert len(api.get(f"/payments/{payment_id}/refunds", headers=customer).json()) == 3
    assert api.get("/payments/wallet", headers=customer).json()["balance_minor"] == 50_000


def test_staff_of_another_store_cannot_touch_the_payment(api: TestClient, world: Any) -> None:
    other_store = tenancy.open_store(
        world.runtime.uow(),
        tenant_id=world.tenant_id,
        name="North",
        address="2 High St",
        lat=51.6,
        lon=-0.1,
        delivery_radius_m=3000,
    )
    _staff(world, "picker@acme.test", Role.PICKER, world.store.id)
    _staff(world, "far-manager@acme.test", Role.STORE_MANAGER, other_store.id)
    customer = world.login(api, world.customer.email)
    payment_id = _paid_order(api, customer, world.login(api, "picker@acme.test"), world, "order-1")
    far = world.login(api, "far-manager@acme.test")
    assert api.get(f"/payments/{payment_id}", headers=far).status_code == 404
    refund = api.post(f"/payments/{payment_id}/refunds", headers=_with_key(far, "r"), json={"reason": "x"})
    assert refund.status_code == 404


def test_a_failed_capture_is_a_402_and_the_payment_says_why(api: TestClient, world: Any) -> None:
    _staff(world, "picker@acme.test", Role.PICKER, world.store.id)
    customer = world.login(api, world.customer.email)
    api.post(
        "/payments/orders/order-1/authorise",
        headers=_with_key(customer, "a"),
        json={"store_id": world.store.id, "amount_minor": 1_000, "method": "test", "payment_code": "tok_capture_fails"},
    )
    failed = api.post(
        "/payments/orders/order-1/capture",
        headers=_with_key(world.login(api, "picker@acme.test"), "c"),
        json={"amount_minor": 1_000},
    )
    assert failed.status_code == 402 and failed.json()["code"] == "payment_failed"
    [payment] = api.get("/payments", headers=customer).json()
    assert payment["status"] == "authorised" and payment["capture_failure"]


def test_customers_void_their_own_holds(api: TestClient, world: Any) -> None:
    customer = world.login(api, world.customer.email)
    api.post(
        "/payments/wallet/top-ups", headers=_with_key(customer, "t"), json={"amount_minor": 5_000, "method": "test"}
    )
    api.post(
        "/payments/orders/order-1/authorise",
        headers=_with_key(customer, "a"),
        json={"store_id": world.store.id, "amount_minor": 1_000, "method": "wallet"},
    )
    assert api.get("/payments/wallet", headers=customer).json()["balance_minor"] == 5_000 - 1_100
    _customer(world, "neighbour@acme.test")
    neighbour = world.login(api, "neighbour@acme.test")
    assert api.post("/payments/orders/order-1/void", headers=_with_key(neighbour, "v"), json={}).status_code == 404
    voided = api.post("/payments/orders/order-1/void", headers=_with_key(customer, "v"), json={})
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert api.get("/payments/wallet", headers=customer).json()["balance_minor"] == 5_000


def test_alipay_notifications_over_http(api: TestClient, world: Any, alipay_sim: AlipayGatewaySim) -> None:
    customer = world.login(api, world.customer.email)
    pending = api.post(
        "/payments/orders/order-1/authorise",
        headers=_with_key(customer, "a"),
        json={"store_id": world.store.id, "amount_minor": 1_000, "method": "alipay", "channel": "qr"},
    ).json()
    assert pending["status"] == "pending" and pending["qr_code"]
    alipay_sim.scan_and_pay(pending["qr_code"], alipay_sim.open_buyer(10_000))
    [genuine] = alipay_sim.pending_notifications()

    forged = sign_notification(generate_private_key(), {k: v for k, v in genuine.items() if k != "sign"})
    answer = api.post("/payments/notifications/alipay", data=forged)
    assert (answer.status_code, answer.text) == (400, "fail")

    def post(params: dict[str, str]) -> str:
        return api.post("/payments/notifications/alipay", data=params).text

    assert alipay_sim.deliver_notifications(post) == 1
    for _ in range(9):  # Alipay redelivers; each is acknowledged, none moves money
        assert post(genuine) == "success"
    assert api.get(f"/payments/{pending['id']}", headers=customer).json()["status"] == "authorised"
    unknown = sign_notification(alipay_sim._key, {**genuine, "out_trade_no": "not-ours", "notify_id": "n-2"})
    assert post(unknown) == "fail"  # not acknowledged: Alipay will try again later
