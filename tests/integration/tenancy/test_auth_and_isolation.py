from __future__ import annotations

from fastapi.testclient import TestClient

from newretail.core.runtime import Runtime
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role


def test_login_issues_a_token_that_identifies_the_user(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    headers = world.login(client)
    me = client.get("/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == world.admin.email
    assert me.json()["role"] == "tenant_admin"


def test_wrong_password_and_unknown_tenant_get_the_same_answer(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    wrong = client.post("/auth/login", json={"tenant": world.slug, "email": world.admin.email, "password": "nope-nope"})
    unknown = client.post("/auth/login", json={"tenant": "nobody", "email": world.admin.email, "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "unauthenticated"


def test_requests_without_credentials_are_refused(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/stores").status_code == 401
    assert client.get("/stores", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_a_tenant_cannot_see_or_open_stores_of_another(client: TestClient, world, other_world) -> None:  # type: ignore[no-untyped-def]
    headers = world.login(client)
    listed = client.get("/stores", headers=headers).json()
    assert [s["id"] for s in listed] == [world.store.id]
    response = client.get(f"/stores/{other_world.store.id}", headers=headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_customers_cannot_open_stores(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    headers = world.login(client, world.customer.email)
    response = client.post("/stores", headers=headers, json={"name": "X", "address": "Y", "lat": 51.5, "lon": -0.1})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_bad_store_input_is_a_clear_422(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    headers = world.login(client)
    response = client.post("/stores", headers=headers, json={"name": "X", "address": "Y", "lat": 123.0, "lon": -0.1})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    response = client.post("/stores", headers=headers, json={"name": "X"})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["details"]["errors"]} >= {"body.address", "body.lat"}


def test_api_keys_authenticate_machines_within_their_tenant(client: TestClient, world, other_world) -> None:  # type: ignore[no-untyped-def]
    headers = world.login(client)
    created = client.post("/api-keys", headers=headers, json={"name": "shelf gateway", "role": "store_manager"})
    assert created.status_code == 201
    key_headers = {"X-API-Key": created.json()["key"]}
    assert [s["id"] for s in client.get("/stores", headers=key_headers).json()] == [world.store.id]
    assert client.get(f"/stores/{other_world.store.id}", headers=key_headers).status_code == 404
    forged = created.json()["key"][:-4] + "AAAA"
    assert client.get("/stores", headers={"X-API-Key": forged}).status_code == 401


def test_duplicate_email_in_a_tenant_is_a_conflict(runtime: Runtime, world) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from newretail.core.errors import Conflict

    with pytest.raises(Conflict):
        tenancy.register_user(
            runtime.uow(),
            world.hashing,
            tenant_id=world.tenant_id,
            email=world.admin.email.upper(),
            name="Again",
            password="long enough pw",
            role=Role.CUSTOMER,
        )
