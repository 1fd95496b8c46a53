"""One order from cart to packed over HTTP, with one substitution approved.

Run against the demo (``newretail seed && newretail serve``, without live orders so no simulated
picker takes the order first):

    python examples/order_walkthrough.py --base-url http://127.0.0.1:8000

It logs in as the demo shopper and the demo picker, fills a cart at FreshMart Soho, asks for the
promise, checks out, picks the order (one line "missing" on the shelf, so the picker proposes a
substitute and the shopper approves it), packs it, and prints the promise and the receipt.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any

import httpx

PASSWORD = "demo-password"
SHOPPER = "shopper@freshmart.test"
PICKER = "picker@freshmart.test"
HOME = {"lat": 51.5180, "lon": -0.1350}  # Fitzrovia, about 600 m from FreshMart Soho


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise SystemExit(
            f"{response.request.method} {response.request.url.path} -> {response.status_code}: {response.text}"
        )
    return response.json()


def _login(client: httpx.Client, email: str) -> dict[str, str]:
    token = _ok(client.post("/auth/login", json={"tenant": "freshmart", "email": email, "password": PASSWORD}))
    return {"Authorization": f"Bearer {token['access_token']}"}


def _stocked(
    client: httpx.Client, auth: dict[str, str], store_id: str, category: str, need: int
) -> list[dict[str, Any]]:
    products = _ok(client.get(f"/catalog/stores/{store_id}/prices", params={"category": category}, headers=auth))
    stock = {
        s["product_id"]: s["available"]
        for s in _ok(
            client.get(f"/stores/{store_id}/stock", params={"product_id": [p["id"] for p in products]}, headers=auth)
        )
    }
    return [p for p in products if stock.get(p["id"], 0) >= need]


def run(client: httpx.Client, out: Any = sys.stdout) -> dict[str, Any]:
    shopper, picker = _login(client, SHOPPER), _login(client, PICKER)
    store_id = _ok(client.get("/me", headers=picker))["store_id"]

    each = [p for p in _stocked(client, shopper, store_id, "Dairy & Eggs", 3) if p["sold_by"] == "each"]
    loose = [p for p in _stocked(client, shopper, store_id, "Fruit", 1000) if p["sold_by"] == "weight"]
    if len(each) < 2 or not loose:
        raise SystemExit("the demo store lacks stock for the walkthrough; re-seed a fresh database")
    basket = [(each[0], 2), (loose[0], 600), (each[1], 1)]  # each[1] will be "missing" on the shelf
    for product, quantity in basket:
        _ok(client.put("/me/cart/lines", json={"product_id": product["id"], "quantity": quantity}, headers=shopper))

    offer = _ok(client.post("/me/quote", json={"method": "delivery", **HOME}, headers=shopper))
    option = {"option": "express"} if offer["express"] else {"option": "slot", "slot_start": offer["slots"][0]["start"]}
    order = _ok(
        client.post(
            "/me/checkout",
            json={"method": "delivery", **HOME, **option},
            headers={**shopper, "Idempotency-Key": str(uuid.uuid4())},
        )
    )
    print(f"order {order['id']} placed at {offer['store_name']} ({offer['distance_m']} m away)", file=out)
    print(
        f"promise: {order['promise']['kind']} by {order['promise']['window_end']} "
        f"(estimate {order['promise']['estimate']}, pick complete ~{offer['pick_complete_at']})",
        file=out,
    )

    _ok(client.post(f"/stores/{store_id}/shifts/start", headers=picker))
    batch = _ok(client.post(f"/stores/{store_id}/batches", json={"order_ids": [order["id"]]}, headers=picker))
    print("pick walk: " + " -> ".join(f"{t['name']} (aisle {t['aisle']})" for t in batch["tasks"]), file=out)
    order_id = order["id"]
    for task in batch["tasks"]:
        if task["product_id"] == each[1]["id"]:
            options = _ok(
                client.get(
                    f"/orders/{order_id}/picking/substitutes", params={"line_id": task["order_line_id"]}, headers=picker
                )
            )
            if not options:
                raise SystemExit("no substitute in stock for the missing line")
            chosen = options[0]
            _ok(
                client.post(
                    f"/orders/{order_id}/picking/substitute",
                    json={"line_id": task["order_line_id"], "product_id": chosen["product_id"]},
                    headers=picker,
                )
            )
            _ok(
                client.post(
                    f"/orders/{order_id}/substitutions/answer",
                    json={"line_id": task["order_line_id"], "approve": True},
                    headers=shopper,
                )
            )
            print(f"substituted {task['name']} -> {chosen['name']} (approved by the shopper)", file=out)
            _ok(
                client.post(
                    f"/orders/{order_id}/picking/scan",
                    headers=picker,
                    json={"line_id": task["order_line_id"], "barcode": chosen["gtin"], "units": task["quantity"]},
                )
            )
            continue
        amount = {"grams": task["quantity"] + 15} if task["sold_by"] == "weight" else {"units": task["quantity"]}
        _ok(
            client.post(
                f"/orders/{order_id}/picking/scan",
                headers=picker,
                json={"line_id": task["order_line_id"], "barcode": task["barcode"], **amount},
            )
        )
    packed = _ok(client.post(f"/orders/{order_id}/pack", headers=picker))
    print(f"status: {packed['status']}", file=out)
    print("receipt:", file=out)
    for line in packed["final_lines"]:
        print(
            f"  {line['name'][:40]:40} {line['quantity']:>6} {line['outcome']:10} {line['line_total_minor'] / 100:>8.2f}",
            file=out,
        )
    print(f"  {'total':40} {'':>6} {'':10} {packed['final_total_minor'] / 100:>8.2f} {packed['currency']}", file=out)
    return packed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--json", action="store_true", help="also print the packed order as JSON")
    args = parser.parse_args()
    with httpx.Client(base_url=args.base_url, timeout=30) as client:
        packed = run(client)
    if args.json:
        print(json.dumps(packed, indent=2))


if __name__ == "__main__":
    main()
