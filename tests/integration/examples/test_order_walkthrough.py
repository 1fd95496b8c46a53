"""The README's walkthrough script, run against the seeded demo through the real HTTP app."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from fastapi.testclient import TestClient

from newretail.core.runtime import Runtime
from newretail.seed import seed_demo

SCRIPT = Path(__file__).parents[3] / "examples" / "order_walkthrough.py"


def test_walkthrough_packs_an_order_with_an_approved_substitute(runtime: Runtime, client: TestClient) -> None:
    seed_demo(runtime)
    spec = importlib.util.spec_from_file_location("order_walkthrough", SCRIPT)
    assert spec and spec.loader
    walkthrough = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(walkthrough)
    out = io.StringIO()
    packed = walkthrough.run(client, out)
    assert packed["status"] == "packed"
    outcomes = sorted(line["outcome"] for line in packed["final_lines"])
    assert outcomes == ["full", "full", "missing", "substitute"]
    assert packed["final_total_minor"] == sum(line["line_total_minor"] for line in packed["final_lines"])
    printed = out.getvalue()
    assert "promise:" in printed and "receipt:" in printed and "approved by the shopper" in printed
