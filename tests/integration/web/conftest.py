"""A cookie-keeping browser stand-in for the pages (TestClient), and a shop with staff on shift."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from newretail.core.runtime import Runtime
from newretail.delivery import services as delivery
from newretail.fulfilment import services as fulfilment
from newretail.tenancy import services as tenancy
from newretail.tenancy.model import Role


class Browser:
    """Keeps cookies like a browser does and sends forms with the page's CSRF token."""

    def __init__(self, app: FastAPI, base_url: str = "http://testserver") -> None:
        self.http = TestClient(app, base_url=base_url, follow_redirects=False)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.http.get(path, **kwargs)

    def csrf(self) -> str:
        if "nr_csrf" not in self.http.cookies:
            self.http.get("/")
        return str(self.http.cookies["nr_csrf"])

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        return self.http.post(path, data={**(data or {}), "csrf_token": self.csrf()}, **kwargs)

    def login(self, tenant: str, email: str, password: str) -> Response:
        response = self.post("/login", {"tenant": tenant, "email": email, "password": password})
        assert response.status_code == 303, response.text
        return response


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} in the page"
    return match.group(1)


@pytest.fixture
def browser(client: TestClient) -> Browser:
    return Browser(client.app)  # type: ignore[arg-type]


@pytest.fixture
def other_browser(client: TestClient) -> Browser:
    return Browser(client.app)  # type: ignore[arg-type]


@pytest.fixture
def staffed(runtime: Runtime, world, shop):  # type: ignore[no-untyped-def]
    """The world's store with a picker login, one more picker on shift and a courier on the road."""
    world.picker = tenancy.register_user(
        runtime.uow(),
        world.hashing,
        tenant_id=world.tenant_id,
        email="picker@acme.test",
        name="Picker",
        password=world.password,
        role=Role.PICKER,
        store_id=world.store.id,
    )
    fulfilment.start_shift(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, picker_id="sim-picker")
    courier_id = delivery.add_courier(runtime.uow(), tenant_id=world.tenant_id, store_id=world.store.id, name="Bike").id
    delivery.start_shift(runtime.uow(), tenant_id=world.tenant_id, courier_id=courier_id)
    return world
