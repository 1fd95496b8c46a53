"""Random sequences of receive / reserve / release / commit / sell / shrink / expire keep the ledger whole.

After every step: on-hand >= 0, available >= 0, the cached reserved total equals the sum of the
active reservation lines, every on-hand unit is explained by a movement, and on-hand matches a
plain reference model.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from newretail.core.errors import DomainError
from newretail.core.runtime import Runtime
from newretail.inventory import services
from newretail.inventory.model import MovementReason, OutOfStock, ReservationClosed, StockCountMismatch
from newretail.inventory.repository import InventoryRepository
from newretail.tenancy import services as tenancy

N_PRODUCTS = 3


def test_inventory_ledger_stays_whole(runtime: Runtime, world, make_product_ids) -> None:  # type: ignore[no-untyped-def]
    product_ids = make_product_ids(N_PRODUCTS)

    class InventoryMachine(RuleBasedStateMachine):
        reservations = Bundle("reservations")

        def __init__(self) -> None:
            super().__init__()
            self.store_id = tenancy.open_store(
                runtime.uow(),
                tenant_id=world.tenant_id,
                name="Machine",
                address="x",
                lat=51.5,
                lon=-0.1,
                delivery_radius_m=3000,
            ).id
            self.on_hand = dict.fromkeys(product_ids, 0)

        def _args(self) -> dict[str, Any]:
            return {"tenant_id": world.tenant_id, "store_id": self.store_id}

        @rule(product=st.sampled_from(product_ids), quantity=st.integers(1, 8))
        def receive(self, product: str, quantity: int) -> None:
            services.receive(runtime.uow(), product_id=product, quantity=quantity, **self._args())
            self.on_hand[product] += quantity

        @rule(
            target=reservations,
            basket=st.dictionaries(st.sampled_from(product_ids), st.integers(1, 3), min_size=1, max_size=2),
            ttl_minutes=st.one_of(st.none(), st.integers(1, 30)),
        )
        def reserve(self, basket: dict[str, int], ttl_minutes: int | None) -> str:
            before = self._available()
            try:
                reservation = services.reserve(
                    runtime.uow(),
                    lines=list(basket.items()),
                    owner_type="order",
                    owner_id="m",
                    ttl=timedelta(minutes=ttl_minutes) if ttl_minutes else None,
                    **self._args(),
                )
            except OutOfStock as err:
                short = {line["product_id"] for line in err.details["lines"]}
                assert short == {p for p, q in basket.items() if q > before[p]}
                return "none"
            assert all(q <= before[p] for p, q in basket.items())
            return str(reservation["id"])

        @rule(reservation_id=consumes(reservations))
        def release(self, reservation_id: str) -> None:
            if reservation_id != "none":
                with contextlib.suppress(ReservationClosed):
                    services.release(runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation_id)

        @rule(reservation_id=consumes(reservations), fraction=st.sampled_from([0.0, 0.5, 1.0]))
        def commit(self, reservation_id: str, fraction: float) -> None:
            if reservation_id == "none":
                return
            reservation = services.get_reservation(runtime.uow(), world.tenant_id, reservation_id)
            picked = {line.product_id: int(line.quantity * fraction) for line in reservation.lines}
            try:
                services.commit(runtime.uow(), tenant_id=world.tenant_id, reservation_id=reservation_id, picked=picked)
            except ReservationClosed:
                return
            for product, quantity in picked.items():
                self.on_hand[product] -= quantity

        @rule(product=st.sampled_from(product_ids), quantity=st.integers(1, 4))
        def sell(self, product: str, quantity: int) -> None:
            try:
                services.sell(runtime.uow(), lines=[(product, quantity)], **self._args())
            except StockCountMismatch:
                assert quantity > self.on_hand[product]
                return
            self.on_hand[product] -= quantity

        @rule(product=st.sampled_from(product_ids), quantity=st.integers(1, 3))
        def shrink(self, product: str, quantity: int) -> None:
            try:
                services.adjust(
                    runtime.uow(), product_id=product, reason=MovementReason.SHRINK, delta=-quantity, **self._args()
                )
            except DomainError:
                assert quantity > self.on_hand[product]
                return
            self.on_hand[product] -= quantity

        @rule(minutes=st.integers(1, 20), sweep=st.booleans())
        def time_passes(self, minutes: int, sweep: bool) -> None:
            runtime.clock.advance(timedelta(minutes=minutes))  # type: ignore[attr-defined]
            if sweep:
                services.expire_stale(runtime.uow(), tenant_id=world.tenant_id)

        def _available(self) -> dict[str, int]:
            levels = services.availability(runtime.uow(), world.tenant_id, self.store_id, product_ids)
            return {p: levels[p].available for p in product_ids}

        @invariant()
        def ledger_is_whole(self) -> None:
            levels = services.availability(runtime.uow(), world.tenant_id, self.store_id, product_ids)
            with runtime.uow() as uow:
                repo = InventoryRepository(uow.conn)
                cached = repo.read_levels(world.tenant_id, self.store_id, product_ids)
                active = repo.active_reserved_totals(world.tenant_id, self.store_id)
                moved = repo.movement_totals(world.tenant_id, self.store_id)
            for product in product_ids:
                level = levels[product]
                assert level.on_hand == self.on_hand[product] >= 0
                assert level.available >= 0
                assert moved.get(product, 0) == level.on_hand
                if product in cached:
                    assert cached[product].reserved == active.get(product, 0)
                    assert 0 <= cached[product].reserved <= cached[product].on_hand

    run_state_machine_as_test(
        InventoryMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
