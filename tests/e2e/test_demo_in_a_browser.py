"""The demo as people use it, in Chromium: a shopper checks out, the operator watches the order on
the live dashboard, a picker walks the batch and packs it — on a quiet demo and with live traffic
(where the operator also watches the live stores' orders arrive)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from newretail.core.geo import Point
from newretail.inventory import services as inventory
from newretail.ordering import services as ordering
from newretail.ordering.model import FulfilmentMethod
from newretail.ordering.services import DeliveryOption

from .conftest import DemoServer  # type: ignore[import-not-found]

pytestmark = pytest.mark.e2e
VIEWPORT = {"width": 1360, "height": 900}


def _log_in(chromium: Any, server: DemoServer, email: str) -> Any:
    context = chromium.new_context(viewport=VIEWPORT, base_url=server.base_url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/")
    page.fill("input[name=tenant]", "freshmart")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", server.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/(shop|ops|pick)$"))
    return page


def _soho(server: DemoServer) -> Any:
    return next(s for s in server.city.stores if s.name == "FreshMart Soho")


def test_shopper_checks_out_and_the_operator_sees_the_order(
    chromium: Any, demo_server: DemoServer, screenshots: Path
) -> None:
    shop = _log_in(chromium, demo_server, demo_server.city.logins["customer"])
    assert shop.url.endswith("/shop")
    shop.goto(f"/shop?{urlencode({'store': _soho(demo_server).id, 'category': 'Dairy & Eggs'})}")
    in_stock = shop.locator(".product:has(button:not([disabled]))")
    names = [in_stock.nth(i).get_attribute("data-name") for i in range(2)]
    for name in names:
        shop.locator(f'.product[data-name="{name}"] button').click()
        shop.wait_for_selector(".alert-ok")
    assert shop.locator(".cart-line").count() == 2
    assert shop.locator("[data-cart-total]").inner_text().startswith("£")
    shop.screenshot(path=str(screenshots / "shop.png"))

    shop.click("#to-checkout")
    promise = shop.locator("#promise")
    assert "From FreshMart Soho" in promise.inner_text()
    assert promise.locator(".option").count() >= 2  # express and slots, or several slots
    shop.screenshot(path=str(screenshots / "checkout.png"), full_page=True)
    shop.click("#checkout-form button[type=submit]")
    shop.wait_for_url(re.compile(r"/shop/orders\?placed="))
    order_id = shop.url.split("placed=")[1]
    placed = shop.locator(f'.order[data-order="{order_id}"]')
    assert "Placed" in placed.locator(".badge").inner_text()

    ops = _log_in(chromium, demo_server, demo_server.city.logins["store_manager"])
    assert ops.url.endswith("/ops")
    row = ops.locator(f'tr[data-order="{order_id}"]')
    assert "Placed" in row.inner_text() and "on time" in row.inner_text()
    assert int(ops.locator("[data-count=placed]").inner_text()) >= 1
    ops.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    ops.context.close()
    shop.context.close()


def test_the_dashboard_updates_itself_as_orders_arrive(chromium: Any, demo_server: DemoServer) -> None:
    ops = _log_in(chromium, demo_server, demo_server.city.logins["store_manager"])
    before = int(ops.locator("[data-count=placed]").inner_text())
    order_id = _place_order_behind_the_scenes(demo_server)
    # No reload: the page fetches the board every few seconds.
    ops.wait_for_selector(f'tr[data-order="{order_id}"]', timeout=8_000)
    assert int(ops.locator("[data-count=placed]").inner_text()) == before + 1
    ops.context.close()


def test_picker_walks_the_batch_in_aisle_order_and_packs(
    chromium: Any, demo_server: DemoServer, screenshots: Path
) -> None:
    _place_order_behind_the_scenes(demo_server)
    pick = _log_in(chromium, demo_server, demo_server.city.logins["picker"])
    assert pick.url.endswith("/pick")
    if pick.locator("#start-shift").count():
        pick.click("#start-shift")
        pick.wait_for_selector("#take-batch")
    pick.click("#take-batch")
    # The click submits a form: wait for the batch page, not the page the click left.
    pick.wait_for_selector(".task .aisle")
    aisles = [int(a.split()[-1]) for a in pick.locator(".task .aisle").all_inner_texts()]
    assert aisles == sorted(aisles) and aisles
    pick.screenshot(path=str(screenshots / "pick.png"), full_page=True)
    while pick.locator(".scan-form").count():
        task = pick.locator(".task:has(.scan-form)").first
        barcode = task.locator(".task-what .mono").inner_text()
        task.locator("input[name=barcode]").fill(barcode)
        task.locator(".scan-form button").click()
        pick.wait_for_selector(".alert-ok")
    totes = pick.locator(".tote").count()
    for _ in range(totes):
        pick.locator(".tote form button").first.click()
        pick.wait_for_selector(".alert-ok")
    assert "Ready for the next batch" in pick.inner_text("main")
    pick.context.close()


def test_the_operator_watches_live_orders_arrive_at_the_live_stores(
    chromium: Any, demo_server: DemoServer, screenshots: Path
) -> None:
    if demo_server.live is None:
        pytest.skip("the quiet demo has no live traffic")
    live_stores = [s.name for s in demo_server.live.sim.world.stores]
    ops = _log_in(chromium, demo_server, demo_server.city.logins["tenant_admin"])
    assert ops.url.endswith("/ops")  # every store's board, the live ones among them
    rows = ", ".join(f'section[data-store="{name}"] tr[data-order]' for name in live_stores)

    def shown() -> set[str]:
        return {str(r.get_attribute("data-order")) for r in ops.locator(rows).all()}

    first = shown()
    deadline = time.monotonic() + 45
    while not shown() - first:  # no reload: the boards re-render every few seconds
        assert time.monotonic() < deadline, "no live order reached the dashboard"
        ops.wait_for_timeout(500)
    ops.screenshot(path=str(screenshots / "dashboard-live.png"), full_page=True)
    ops.context.close()


def _place_order_behind_the_scenes(server: DemoServer) -> str:
    """A live order arriving while someone watches: through the services, as the simulator would."""
    runtime, city = server.runtime, server.city
    soho = _soho(server)
    shopper_id = _shopper_id(server)
    stocked = inventory.availability(runtime.uow(), city.tenant_id, soho.id)
    from newretail.catalog import services as catalog

    for item in catalog.price_list(runtime.uow(), city.tenant_id, soho.id, category="Bakery", limit=50):
        if item.product.sold_by.value == "each" and stocked[item.product.id].available >= 3:
            ordering.set_cart_line(
                runtime.uow(), tenant_id=city.tenant_id, customer_id=shopper_id, product_id=item.product.id, quantity=1
            )
            break
    home = Point(soho.location.lat + 0.004, soho.location.lon - 0.003)
    plan = ordering.quote(
        runtime.uow(),
        tenant_id=city.tenant_id,
        customer_id=shopper_id,
        method=FulfilmentMethod.DELIVERY,
        address=home,
        store_id=None,
    )
    option = DeliveryOption.EXPRESS if plan.quote.express else DeliveryOption.SLOT
    placed = ordering.checkout(
        runtime.uow(),
        tenant_id=city.tenant_id,
        customer_id=shopper_id,
        method=FulfilmentMethod.DELIVERY,
        option=option,
        address=home,
        slot_start=None if plan.quote.express else plan.quote.slots[0].start,
    )
    return str(placed["id"])


def _shopper_id(server: DemoServer) -> str:
    from newretail.tenancy.repository import TenancyRepository

    with server.runtime.uow() as uow:
        row = TenancyRepository(uow.conn).user_by_email(server.city.tenant_id, server.city.logins["customer"])
    assert row is not None
    return str(row.id)
