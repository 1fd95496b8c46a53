from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.clock import SimulatedClock
from newretail.core.geo import Point, haversine_km, offset_km
from newretail.core.money import CurrencyMismatch, Money


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(CurrencyMismatch):
        Money(100, "GBP") + Money(100, "CNY")
    assert str(Money(-1234, "GBP")) == "-12.34 GBP"


@given(st.integers(min_value=0, max_value=10_000_000), st.integers(min_value=0, max_value=100_000))
def test_price_per_kilogram_rounds_half_up(price_per_kg: int, grams: int) -> None:
    exact = price_per_kg * grams / 1000
    assert abs(Money(price_per_kg).per_kilogram(grams).amount - exact) <= 0.5


def test_simulated_clock_only_moves_forward() -> None:
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 1, 1, tzinfo=UTC))


def test_offset_and_haversine_agree_over_a_city() -> None:
    origin = Point(51.5074, -0.1278)
    there = offset_km(origin, north_km=3.0, east_km=4.0)
    assert haversine_km(origin, there) == pytest.approx(5.0, rel=0.01)
    with pytest.raises(ValueError):
        Point(91, 0)
