"""Logging in through the pages: cookie flags, CSRF, role checks, and the same tenant isolation as the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from newretail.core.runtime import Runtime

from .conftest import Browser  # type: ignore[import-not-found]


def _set_cookie_headers(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]


def test_login_sets_an_http_only_strict_session_cookie_and_lands_by_role(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    landing = browser.get("/")
    assert landing.status_code == 200
    assert 'action="/login"' in landing.text
    assert "script-src 'self'" in landing.headers["content-security-policy"]

    response = browser.login(world.slug, world.customer.email, world.password)
    assert response.headers["location"] == "/shop"
    session = next(c for c in _set_cookie_headers(response) if c.startswith("nr_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session and "Path=/" in session
    assert browser.get("/shop").status_code == 200


def test_cookies_are_secure_over_https(client: TestClient, world) -> None:  # type: ignore[no-untyped-def]
    browser = Browser(client.app, base_url="https://shop.example")  # type: ignore[arg-type]
    response = browser.login(world.slug, world.admin.email, world.password)
    assert response.headers["location"] == "/ops"
    assert all("Secure" in c for c in _set_cookie_headers(response))


def test_wrong_password_shows_the_message_and_sets_no_session(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    response = browser.post("/login", {"tenant": world.slug, "email": world.admin.email, "password": "nope-nope"})
    assert response.status_code == 401
    assert "wrong tenant, email or password" in response.text
    assert "nr_session" not in browser.http.cookies


def test_forms_without_the_csrf_token_or_from_another_site_are_refused(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    browser.csrf()
    login = {"tenant": world.slug, "email": world.admin.email, "password": world.password}
    missing = browser.http.post("/login", data=login)
    assert missing.status_code == 403 and "did not come from this site" in missing.text
    wrong = browser.http.post("/login", data={**login, "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    cross_site = browser.post("/login", login, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403 and "another site" in cross_site.text
    assert "nr_session" not in browser.http.cookies

    browser.login(world.slug, world.admin.email, world.password)
    assert browser.http.post("/logout").status_code == 403  # logging out is a form too
    assert browser.get("/ops").status_code == 200


def test_pages_send_a_logged_out_browser_to_the_login_form(browser: Browser) -> None:
    for path in ("/ops", "/shop", "/pick", "/shop/orders", "/ops/board"):
        response = browser.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/?next={path}"
    browser.http.cookies.set("nr_session", "not-a-token")
    assert browser.get("/ops").status_code == 303


def test_login_follows_next_only_within_this_site(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    creds = {"tenant": world.slug, "email": world.admin.email, "password": world.password}
    assert browser.post("/login", {**creds, "next": "/pick"}).headers["location"] == "/pick"
    assert browser.post("/login", {**creds, "next": "//evil.example/x"}).headers["location"] == "/ops"
    assert browser.post("/login", {**creds, "next": "https://evil.example"}).headers["location"] == "/ops"


def test_logout_ends_the_session(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    browser.login(world.slug, world.admin.email, world.password)
    response = browser.post("/logout")
    assert response.status_code == 303
    assert "nr_session" not in browser.http.cookies
    assert browser.get("/ops").status_code == 303


def test_each_role_sees_only_its_pages(browser: Browser, other_browser: Browser, staffed) -> None:  # type: ignore[no-untyped-def]
    browser.login(staffed.slug, staffed.customer.email, staffed.password)
    refused = browser.get("/ops")
    assert refused.status_code == 403 and "customer" in refused.text
    assert browser.get("/pick").status_code == 403

    other_browser.login(staffed.slug, staffed.picker.email, staffed.password)
    assert other_browser.get("/shop").status_code == 403
    assert other_browser.get("/pick").status_code == 200
    assert other_browser.get("/ops").status_code == 200


def test_the_session_cookie_does_not_authenticate_the_api(browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    browser.login(world.slug, world.admin.email, world.password)
    assert browser.get("/me").status_code == 401  # the API wants a bearer token: no CSRF through the API


def test_one_tenant_cannot_see_another_tenants_stores_through_the_pages(
    runtime: Runtime, browser: Browser, world, other_world
) -> None:  # type: ignore[no-untyped-def]
    browser.login(other_world.slug, other_world.admin.email, other_world.password)
    own = browser.get("/ops")
    assert own.status_code == 200
    assert other_world.store.name in own.text and world.store.name not in own.text
    assert browser.get(f"/ops?store={world.store.id}").status_code == 404
    assert browser.get(f"/ops/board?store={world.store.id}").status_code == 404
    assert browser.get(f"/pick?store={world.store.id}").status_code == 404
    assert browser.post("/pick/shift/start", {"store": world.store.id}).status_code == 404

    shopper = Browser(browser.http.app)  # type: ignore[arg-type]
    shopper.login(other_world.slug, other_world.customer.email, other_world.password)
    assert shopper.get(f"/shop?store={world.store.id}").status_code == 404
