"""A real server and a real browser: uvicorn on a free localhost port serving a freshly seeded demo
city in a SQLite file, driven by Debian's Chromium through Playwright. Every test runs twice: on a
quiet demo, and with live traffic (``serve --live-orders``) moving the city on the real clock.

Playwright's own browser download is never used (there is no internet for it): the tests launch
``/usr/bin/chromium``. In CI (CI=true) a missing Chromium fails the run; elsewhere the tests skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from newretail.api.app import create_app
from newretail.core.runtime import Runtime
from newretail.core.settings import Settings
from newretail.migrate import upgrade
from newretail.seed import DEMO_PASSWORD, DemoCity, seed_demo
from newretail.sim.live import LiveSettings, LiveTraffic

CHROMIUM = os.environ.get("NEWRETAIL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LIVE_ORDERS_PER_HOUR = 1200.0  # busy: a live order every few seconds somewhere in the city


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class DemoServer:
    base_url: str
    runtime: Runtime
    city: DemoCity
    live: LiveTraffic | None = None
    password: str = DEMO_PASSWORD


@pytest.fixture(scope="session", params=["quiet", "live"])
def demo_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    database = tmp_path_factory.mktemp("e2e") / "demo.db"
    settings = Settings(database_url=f"sqlite:///{database}", argon2_time_cost=1, argon2_memory_kib=1024)
    runtime = Runtime.from_settings(settings)
    upgrade(runtime.engine)
    city = seed_demo(runtime)
    live = None
    if request.param == "live":
        live = LiveTraffic(runtime, LiveSettings(orders_per_hour=LIVE_ORDERS_PER_HOUR))
        live.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port; uvicorn serves on this very socket
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    try:
        yield DemoServer(f"http://127.0.0.1:{port}", runtime, city, live)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if live is not None:
            assert live.stop(), "live traffic did not stop"
            assert live.sim.problems["unexpected"] == 0, live.sim.problems
        sock.close()
        runtime.engine.dispose()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where pages are photographed: NEWRETAIL_E2E_SCREENSHOTS to keep them, else a temp folder."""
    kept = os.environ.get("NEWRETAIL_E2E_SCREENSHOTS")
    folder = Path(kept) if kept else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder
