"""The demo's story through the pages: a shopper fills a cart, sees the promise and checks out; the
operations board shows the order; a picker walks the batch, scans and packs; everyone sees it packed."""

from __future__ import annotations

import re
from datetime import timedelta

from newretail.core.clock import SimulatedClock
from newretail.core.runtime import Runtime

from .conftest import Browser, hidden  # type: ignore[import-not-found]

HOME = {"lat": "51.5150", "lon": "-0.1300"}  # about 1 km from the test store


def _count(html: str, name: str) -> int:
    match = re.search(rf'data-count="{name}">(\d+)<', html)
    assert match, f"no {name} count on the board"
    return int(match.group(1))


def _checkout(browser: Browser, store_id: str) -> tuple[str, str]:
    page = browser.get("/shop/checkout", params={"store": store_id, **HOME})
    assert page.status_code == 200, page.text
    assert "Express" in page.text and "arrives about" in page.text
    key = hidden(page.text, "idempotency_key")
    form = {"idempotency_key": key, **HOME, "option": "express", "substitution_preference": "accept_suggested"}
    placed = browser.post("/shop/checkout", form)
    assert placed.status_code == 303, placed.text
    order_id = placed.headers["location"].split("placed=")[1]
    again = browser.post("/shop/checkout", form)  # a double click: the same order, not a second one
    assert again.headers["location"] == placed.headers["location"]
    return order_id, key


def test_shop_checkout_board_and_picking(
    runtime: Runtime, clock: SimulatedClock, browser: Browser, other_browser: Browser, staffed, shop
) -> None:  # type: ignore[no-untyped-def]
    store_id = staffed.store.id
    browser.login(staffed.slug, staffed.customer.email, staffed.password)

    dairy = browser.get("/shop", params={"store": store_id, "category": "Dairy"})
    assert "Whole milk 2L" in dairy.text and "£1.65" in dairy.text and "20 in stock" in dairy.text
    assert "Sourdough loaf" not in dairy.text
    found = browser.get("/shop", params={"store": store_id, "q": "sourdough"})
    assert "Sourdough loaf" in found.text and "Whole milk" not in found.text
    reflected = browser.get("/shop", params={"store": store_id, "q": "<script>alert(1)</script>"})
    assert "<script>alert" not in reflected.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in reflected.text

    for sku, quantity in (("MILK-1", 2), ("APPLE-1", 500)):
        added = browser.post("/shop/cart", {"product_id": shop.ids[sku], "quantity": quantity, "store": store_id})
        assert added.status_code == 303 and "updated=1" in added.headers["location"]
    too_many = browser.post("/shop/cart", {"product_id": shop.ids["BREAD-1"], "quantity": 150, "store": store_id})
    assert too_many.status_code == 422 and "quantity must be 0 to 99" in too_many.text
    cart = browser.get("/shop", params={"store": store_id})
    assert "£4.80" in cart.text  # 2 x 1.65 + 500 g of apples at 3.00/kg

    far = browser.get("/shop/checkout", params={"store": store_id, "lat": "51.75", "lon": "-0.13"})
    assert far.status_code == 200 and 'id="quote-error"' in far.text and "checkout-form" not in far.text

    order_id, _ = _checkout(browser, store_id)
    orders = browser.get("/shop/orders")
    assert orders.text.count('class="card order"') == 1
    assert order_id[-6:].upper() in orders.text and "Placed" in orders.text
    assert "£0.00" not in browser.get("/shop").text and "Your cart is empty" in browser.get("/shop").text

    # The operator sees it on the board.
    other_browser.login(staffed.slug, staffed.admin.email, staffed.password)
    board = other_browser.get("/ops/board").text
    assert _count(board, "placed") == 1 and f'data-order="{order_id}"' in board
    assert "on time" in board
    assert re.search(r'data-fact="pickers">1<', board) and re.search(r'data-fact="couriers">1<', board)

    # The picker walks the batch: a wrong barcode is refused with the picker's message.
    picker = Browser(browser.http.app)  # type: ignore[arg-type]
    picker.login(staffed.slug, staffed.picker.email, staffed.password)
    assert picker.post("/pick/batch").status_code == 409  # not on shift yet
    assert picker.post("/pick/shift/start").status_code == 303
    assert picker.post("/pick/batch").headers["location"].endswith("done=batch")
    walk = picker.get("/pick").text
    lines = re.findall(r'name="line_id" value="([^"]+)"', walk)
    assert len(set(lines)) == 2
    assert "Aisle 2" in walk and walk.index("Aisle 2") < walk.index("Aisle 5")  # apples before milk
    assert _count(other_browser.get("/ops/board").text, "picking") == 1

    wrong = picker.post(
        "/pick/scan",
        {
            "order_id": order_id,
            "line_id": lines[0],
            "barcode": shop.gtins["PEAS-1"],
            "amount": 500,
            "sold_by": "weight",
        },
    )
    assert wrong.status_code == 422 and "wrong item" in wrong.text
    clock.advance(timedelta(minutes=4))
    for sku, amount, sold_by in (("APPLE-1", 510, "weight"), ("MILK-1", 2, "each")):
        line_id = re.search(
            rf'name="line_id" value="([^"]+)">\s*<input type="hidden" name="sold_by" value="{sold_by}"',
            picker.get("/pick").text,
        )
        assert line_id, sku
        scanned = picker.post(
            "/pick/scan",
            {
                "order_id": order_id,
                "line_id": line_id.group(1),
                "barcode": shop.gtins[sku],
                "amount": amount,
                "sold_by": sold_by,
            },
        )
        assert scanned.status_code == 303, scanned.text
    packed = picker.post("/pick/pack", {"order_id": order_id})
    assert packed.status_code == 303 and packed.headers["location"].endswith("done=packed")
    assert "Ready for the next batch" in picker.get("/pick").text

    board = other_browser.get("/ops/board").text
    assert _count(board, "packed") == 1 and _count(board, "placed") == 0
    assert "Packed" in browser.get("/shop/orders/list").text


def test_a_store_bound_picker_cannot_touch_another_stores_orders(
    runtime: Runtime, browser: Browser, staffed, shop
) -> None:  # type: ignore[no-untyped-def]
    from newretail.tenancy import services as tenancy

    elsewhere = tenancy.open_store(
        runtime.uow(),
        tenant_id=staffed.tenant_id,
        name="Acme North",
        address="2 North Rd",
        lat=51.6,
        lon=-0.1,
        delivery_radius_m=3000,
    )
    browser.login(staffed.slug, staffed.picker.email, staffed.password)
    # A store-bound picker always works in their own store, whatever the form says.
    page = browser.get(f"/pick?store={elsewhere.id}")
    assert page.status_code == 200 and staffed.store.name in page.text and "Acme North" not in page.text
    assert browser.get(f"/ops/board?store={elsewhere.id}").text.count('class="card board"') == 1
    assert "Acme North" not in browser.get(f"/ops/board?store={elsewhere.id}").text


def test_a_missing_line_is_substituted_with_the_shoppers_consent(browser: Browser, staffed, shop) -> None:  # type: ignore[no-untyped-def]
    store_id = staffed.store.id
    browser.login(staffed.slug, staffed.customer.email, staffed.password)
    browser.post("/shop/cart", {"product_id": shop.ids["MILK-1"], "quantity": 2, "store": store_id})
    order_id, _ = _checkout(browser, store_id)

    picker = Browser(browser.http.app)  # type: ignore[arg-type]
    picker.login(staffed.slug, staffed.picker.email, staffed.password)
    picker.post("/pick/shift/start")
    picker.post("/pick/batch")
    line_id = re.findall(r'name="line_id" value="([^"]+)"', picker.get("/pick").text)[0]
    offers = picker.get("/pick", params={"order": order_id, "line": line_id}).text
    assert 'id="offer"' in offers and "Semi-skimmed milk 2L" in offers
    offered = picker.post(
        "/pick/substitute", {"order_id": order_id, "line_id": line_id, "product_id": shop.ids["MILK-2"]}
    )
    assert offered.status_code == 303 and offered.headers["location"].endswith("done=offered")
    too_soon = picker.post("/pick/pack", {"order_id": order_id})
    assert too_soon.status_code == 409  # the customer has not answered yet

    mine = browser.get("/shop/orders").text
    assert "Whole milk 2L</strong> is missing" in mine and "Semi-skimmed milk 2L" in mine
    assert (
        browser.post(f"/shop/orders/{order_id}/substitutions", {"line_id": line_id, "approve": "yes"}).status_code
        == 303
    )
    assert "is missing" not in browser.get("/shop/orders").text

    walk = picker.get("/pick").text
    assert "Scan substitute" in walk and "approved" in walk
    scanned = picker.post(
        "/pick/scan",
        {"order_id": order_id, "line_id": line_id, "barcode": shop.gtins["MILK-2"], "amount": 2, "sold_by": "each"},
    )
    assert scanned.status_code == 303, scanned.text
    assert picker.post("/pick/pack", {"order_id": order_id}).status_code == 303
    receipt = browser.get("/shop/orders").text
    assert "Packed" in receipt and "substitute" in receipt and "missing" in receipt
