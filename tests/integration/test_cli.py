"""``newretail serve --live-orders``: a real server process with the live driver; orders arrive while
it serves, and an interrupt stops both cleanly. Without a demo city, or with a bad rate, it refuses
to start and says why."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from newretail.cli import app
from newretail.core.db import make_engine
from newretail.ordering.tables import orders

pytestmark = pytest.mark.slow
runner = CliRunner()
CHEAP_HASHING = {"NEWRETAIL_ARGON2_TIME_COST": "1", "NEWRETAIL_ARGON2_MEMORY_KIB": "1024"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Callable[[], bool], what: str, server: subprocess.Popen[str], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if server.poll() is not None:
            pytest.fail(f"the server exited ({server.returncode}) before {what}: {server.communicate()[0]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_with_live_orders_takes_orders_while_serving_and_stops_cleanly_on_an_interrupt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    env = {**os.environ, **CHEAP_HASHING}
    newretail = [sys.executable, "-m", "newretail.cli"]
    seeded = subprocess.run([*newretail, "seed", "--database", url], capture_output=True, text=True, env=env)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    port = _free_port()
    server = subprocess.Popen(
        [*newretail, "serve", "--database", url, "--port", str(port), "--live-orders", "--orders-per-hour", "3600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    engine = make_engine(url)
    try:
        _wait(lambda: _healthy(f"http://127.0.0.1:{port}"), "the server to answer", server)

        def ordered() -> bool:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(orders)).scalar_one()) > 0

        _wait(ordered, "a live order", server)
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
        engine.dispose()
    assert server.returncode == 0, output
    assert "live orders: about 3600 an hour at FreshMart Brixton, FreshMart Islington" in " ".join(output.split())
    assert "live orders stopped" in output
    assert "Traceback" not in output


def test_serve_with_live_orders_needs_a_demo_city(tmp_path: Path) -> None:
    result = runner.invoke(app, ["serve", "--database", f"sqlite:///{tmp_path / 'empty.db'}", "--live-orders"])
    assert result.exit_code == 1
    assert "newretail seed" in result.output


def test_serve_refuses_a_rate_of_no_orders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = runner.invoke(app, ["serve", "--database", url, "--live-orders", "--orders-per-hour", "0"])
    assert result.exit_code == 2
    assert "orders per hour" in result.output
