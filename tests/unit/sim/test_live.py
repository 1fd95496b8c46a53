"""The live driver's pure parts: pacing to the wall clock, its settings, where live shoppers live."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from newretail.cli import DEFAULT_LIVE_ORDERS_PER_HOUR
from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point, haversine_km
from newretail.sim import events
from newretail.sim.live import DEFAULT_ORDERS_PER_HOUR, LiveLog, LiveSettings, NoLiveCity, WallPace, home_address
from newretail.tenancy.model import OpeningHours, Store

START = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def store(name: str, lat: float, lon: float, radius_m: int = 3219) -> Store:
    return Store(
        id=name,
        tenant_id="t",
        name=name,
        address=name,
        location=Point(lat, lon),
        delivery_radius_m=radius_m,
        timezone="Europe/London",
        opening_hours=OpeningHours.every_day("00:00", "00:00"),
    )


def test_the_pace_waits_for_an_action_and_sets_the_clock_to_the_paced_now() -> None:
    pace = WallPace(START, 600.0, threading.Event())  # a simulated minute takes 0.1 s
    began = time.monotonic()
    instant = pace(60.0)
    waited = time.monotonic() - began
    assert instant is not None
    assert waited >= 0.1 - 0.005  # it slept until the action was due
    assert instant >= START + timedelta(seconds=60)  # never before the action's own instant
    # The paced now is the elapsed wall time times the factor (the thread may wake a little late).
    assert instant - START <= timedelta(seconds=(time.monotonic() - began + 0.01) * 600)


def test_an_action_already_due_runs_at_once_at_the_later_paced_now() -> None:
    pace = WallPace(START, 1.0, threading.Event())
    time.sleep(0.05)
    began = time.monotonic()
    instant = pace(0.0)
    assert time.monotonic() - began < 0.05
    assert instant is not None and instant >= START + timedelta(seconds=0.04)  # the real now, not the due instant


def test_stopping_wakes_a_waiting_pace_and_every_later_call_returns_none() -> None:
    stop = threading.Event()
    pace = WallPace(START, 1.0, stop)
    threading.Timer(0.05, stop.set).start()
    began = time.monotonic()
    assert pace(3600.0) is None  # an hour away, yet it returns as soon as it is told to stop
    assert time.monotonic() - began < 5
    assert pace(0.0) is None


def test_a_pace_needs_a_positive_factor() -> None:
    with pytest.raises(ValueError):
        WallPace(START, 0.0, threading.Event())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("orders_per_hour", 0.0),
        ("orders_per_hour", -5.0),
        ("orders_per_hour", 1e6),
        ("customers_per_store", 0),
        ("pace", 0.0),
        ("policy", "fastest"),
        ("budget_ms", 1),
        ("housekeeping_minutes", 0.0),
    ],
)
def test_bad_settings_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as refused:
        LiveSettings(**{field: value})  # type: ignore[arg-type]
    assert refused.value.details["field"] == field


def test_the_cli_default_rate_is_the_drivers() -> None:
    assert DEFAULT_LIVE_ORDERS_PER_HOUR == DEFAULT_ORDERS_PER_HOUR == LiveSettings().orders_per_hour


def test_live_shoppers_live_in_their_stores_zone_and_in_no_other() -> None:
    islington = store("Islington", 51.5417, -0.1030)
    soho = store("Soho", 51.5136, -0.1318)  # 3.7 km away: the zones overlap a lot
    brixton = store("Brixton", 51.4622, -0.1141)
    rng = random.Random(5)
    homes = [home_address(islington, [soho, brixton], rng) for _ in range(300)]
    for home in homes:
        assert haversine_km(home, islington.location) * 1000 <= islington.delivery_radius_m
        assert haversine_km(home, soho.location) * 1000 > soho.delivery_radius_m
        assert haversine_km(home, brixton.location) * 1000 > brixton.delivery_radius_m
    assert len({(h.lat, h.lon) for h in homes}) == len(homes)  # spread, not one point


def test_a_zone_inside_another_has_no_home_of_its_own() -> None:
    small = store("Small", 51.5, -0.12, radius_m=500)
    big = store("Big", 51.5, -0.12, radius_m=5000)
    with pytest.raises(NoLiveCity):
        home_address(small, [big], random.Random(1))


def test_the_live_log_keeps_counts_of_everything_and_only_the_newest_entries() -> None:
    log = LiveLog(START, keep=10)
    for i in range(100):
        log.record(float(i), events.ORDER_PLACED, order=f"o{i}")
    log.record(100.0, events.ORDER_LOST, reason="no_delivery_offer")
    assert log.counts[events.ORDER_PLACED] == 100 and log.counts[events.ORDER_LOST] == 1
    assert len(log) <= 20
    assert log.entries[-1].kind == events.ORDER_LOST and log.entries[-2].order == "o99"
