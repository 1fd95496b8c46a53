"""Builders for dispatch snapshots: a store in Shanghai, couriers and orders placed by km offsets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from newretail.core.geo import Point, offset_km
from newretail.delivery.model import (
    STANDARD_VEHICLES,
    Courier,
    CourierState,
    Depot,
    DispatchOrder,
    DispatchPlan,
    DispatchSnapshot,
    VehicleKind,
    VehicleType,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
STORE = Point(31.2304, 121.4737)
OTHER_STORE = offset_km(STORE, 0.0, 12.0)


@dataclass
class Town:
    """A mutable builder; ``snapshot()`` freezes it."""

    now: datetime = NOW
    depots: list[Depot] = field(default_factory=lambda: [Depot("s1", STORE)])
    couriers: list[Courier] = field(default_factory=list)
    orders: list[DispatchOrder] = field(default_factory=list)

    def store_point(self, store_id: str) -> Point:
        return next(d.location for d in self.depots if d.store_id == store_id)

    def courier(
        self,
        courier_id: str,
        *,
        store_id: str = "s1",
        kind: VehicleKind = VehicleKind.BIKE,
        vehicle: VehicleType | None = None,
        state: CourierState = CourierState.IDLE,
        at_km: tuple[float, float] = (0.0, 0.0),
        back_in: timedelta | None = None,
        carrying: tuple[str, ...] = (),
    ) -> Courier:
        courier = Courier(
            id=courier_id,
            store_id=store_id,
            vehicle=vehicle or STANDARD_VEHICLES[kind],
            state=state,
            position=offset_km(self.store_point(store_id), *at_km),
            back_at=None if back_in is None else self.now + back_in,
            carrying=carrying,
        )
        self.couriers.append(courier)
        return courier

    def order(
        self,
        order_id: str,
        *,
        store_id: str = "s1",
        at_km: tuple[float, float] = (1.0, 0.0),
        ready_in: timedelta = timedelta(0),
        due_in: timedelta = timedelta(minutes=30),
        totes: int = 1,
        weight_g: int = 3_000,
        prompt: bool = False,
    ) -> DispatchOrder:
        order = DispatchOrder(
            id=order_id,
            store_id=store_id,
            drop_off=offset_km(self.store_point(store_id), *at_km),
            ready_at=self.now + ready_in,
            promised_by=self.now + due_in,
            totes=totes,
            weight_g=weight_g,
            prompt=prompt,
        )
        self.orders.append(order)
        return order

    def snapshot(self, previous: DispatchPlan | None = None) -> DispatchSnapshot:
        return DispatchSnapshot(self.now, tuple(self.depots), tuple(self.couriers), tuple(self.orders), previous)


@pytest.fixture
def town() -> Town:
    return Town()


@pytest.fixture
def new_town() -> type[Town]:
    """For property tests: each example builds its own town (``town`` would be shared by them)."""
    return Town
