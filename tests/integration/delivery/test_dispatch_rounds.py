"""Dispatch rounds against the database: the planner's rules hold for what is written, an unchanged
store skips the solver, riding couriers are never touched, and a replayed shift keeps every rule."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from newretail.delivery import services as delivery
from newretail.delivery.model import DeliveryProof, FailureReason, StopStatus, TripStatus
from newretail.delivery.planning import OptimisedPolicy
from newretail.delivery.tables import couriers, delivery_jobs
from newretail.ordering.model import OrderStatus
from newretail.ordering.promise import OfferNotAvailable
from newretail.ordering.tables import orders

POLICIES = ["fifo-nearest", "optimised"]


def check_rules(
    depot: Any, summary: delivery.TickSummary | None = None, *, after_round: bool = True
) -> delivery.DispatchBoard:
    """Every rule a round must keep, read back from the database. Between rounds an order may be
    in nobody's plan (a courier left without it): ``after_round=False`` skips that one rule."""
    board = delivery.dispatch_board(depot.runtime.uow(), tenant_id=depot.tenant_id, store_id=depot.store_id)
    with depot.runtime.engine.connect() as conn:
        status = {
            r.id: r.status
            for r in conn.execute(select(orders.c.id, orders.c.status).where(orders.c.store_id == depot.store_id))
        }
        waiting = {order_id for order_id, s in status.items() if s in ("picking", "packed")}
        capacity = {r.id: r.capacity_totes for r in conn.execute(select(couriers.c.id, couriers.c.capacity_totes))}
        totes = {r.order_id: r.totes for r in conn.execute(select(delivery_jobs.c.order_id, delivery_jobs.c.totes))}
    # Never drops an order: each waiting order is on exactly one trip, or postponed.
    placed = [s.order_id for t in board.trips if t.status in (TripStatus.PLANNED, TripStatus.LOADING) for s in t.stops]
    postponed = [p.order_id for p in board.postponed if p.order_id in waiting]
    for order_id in waiting:
        seen = placed.count(order_id) + postponed.count(order_id)
        assert seen == 1 if after_round else seen <= 1, order_id
    assert set(placed) <= waiting
    # Never beyond capacity, and at most one loading or riding trip per courier.
    busy: dict[str, int] = {}
    for trip in board.trips:
        assert sum(totes[s.order_id] for s in trip.stops) <= capacity[trip.courier_id], trip
        if trip.status in (TripStatus.LOADING, TripStatus.RIDING, TripStatus.RETURNING):
            busy[trip.courier_id] = busy.get(trip.courier_id, 0) + 1
    assert all(n == 1 for n in busy.values()), [(t.courier_id, t.status, t.order_ids) for t in board.trips]
    # Loaded bags are packed orders; bags on the road are out for delivery.
    for trip in board.trips:
        for stop in trip.stops:
            if stop.status is StopStatus.LOADED:
                assert status[stop.order_id] == OrderStatus.PACKED.value
            if stop.status is StopStatus.OUT:
                assert status[stop.order_id] == OrderStatus.OUT_FOR_DELIVERY.value
    if summary is not None:
        assert set(summary.assigned) <= {s.order_id for t in summary.loading for s in t.stops}
    return board


def riding_trips(board: delivery.DispatchBoard) -> dict[str, tuple[Any, ...]]:
    return {
        t.id: (t.courier_id, t.planned_start, tuple((s.id, s.order_id, s.status, s.eta) for s in t.stops))
        for t in board.trips
        if t.status in (TripStatus.RIDING, TripStatus.RETURNING)
    }


@pytest.mark.parametrize("policy", POLICIES)
def test_a_round_never_loads_beyond_capacity_nor_drops_an_order(depot, policy: str) -> None:  # type: ignore[no-untyped-def]
    small = depot.courier("Small", capacity_totes=2)
    order_ids = depot.packed_orders(5)
    summary = depot.tick(policy)
    assert summary.solved and summary.policy == policy
    check_rules(depot, summary)
    (trip,) = summary.loading
    assert trip.courier_id == small and 1 <= len(trip.order_ids) <= 2
    assert set(summary.assigned) == set(trip.order_ids)
    accounted = set(summary.assigned) | set(summary.planned) | {p.order_id for p in summary.postponed}
    assert accounted == set(order_ids)


@pytest.mark.parametrize("policy", POLICIES)
def test_riding_couriers_and_handed_over_orders_are_never_replanned(depot, policy: str) -> None:  # type: ignore[no-untyped-def]
    first = depot.courier("First")
    (early,) = depot.packed_orders(1)
    (trip,) = depot.tick(policy).loading
    delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    before = riding_trips(check_rules(depot))
    depot.courier("Second")
    more = depot.packed_orders(3)
    for _ in range(3):
        summary = depot.tick(policy, force=True)
        board = check_rules(depot, summary)
        assert riding_trips(board) == before
        assert early not in summary.planned and early not in summary.assigned
        assert all(t.courier_id != first for t in summary.loading)
        depot.advance(timedelta(seconds=30))
    assert set(more) <= set(summary.planned) | {s for t in summary.loading for s in t.order_ids} | {
        p.order_id for p in summary.postponed
    }


def test_an_unchanged_store_skips_the_solver(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier("Only")
    first = depot.tick()
    assert first.solved  # the first round always plans
    assert not depot.tick().solved
    depot.advance(timedelta(minutes=1))
    assert not depot.tick().solved  # time passing alone changes nothing here
    (order_id,) = depot.packed_orders(1)
    changed = depot.tick()
    assert changed.solved and changed.assigned == (order_id,)
    # Handing over is this round's own doing, not a change to react to.
    after = depot.tick()
    assert not after.solved and after.loading == changed.loading
    assert depot.tick("fifo-nearest").solved  # another policy plans afresh


def test_a_loading_trip_waits_for_an_order_still_being_picked_and_takes_it_once_packed(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier("Pat", capacity_totes=4)
    (packed,) = depot.packed_orders(1)  # drops 1.0 km south, 0.7 km west
    picking = depot.place((-1.0, -0.68))  # next door, due off the line in about a minute
    batch = depot.start_picking([picking])
    summary = depot.tick("optimised", horizon=timedelta(minutes=3))
    check_rules(depot, summary)
    (trip,) = summary.loading
    assert {s.order_id: s.status for s in trip.stops} == {packed: StopStatus.LOADED, picking: StopStatus.PLANNED}
    assert summary.assigned == (packed,) and summary.planned == (picking,)
    assert trip.planned_start >= depot.runtime.clock.now()
    depot.advance(timedelta(minutes=1))
    depot.pack([picking], batch)
    again = depot.tick("optimised", horizon=timedelta(minutes=3))
    check_rules(depot, again)
    assert again.assigned == (picking,)
    (same,) = again.loading
    assert same.id == trip.id and {s.status for s in same.stops} == {StopStatus.LOADED}


def test_departing_without_an_unpacked_order_puts_it_back_in_the_pool(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier("Quin", capacity_totes=4)
    (packed,) = depot.packed_orders(1)
    picking = depot.place((-1.0, -0.68))
    depot.start_picking([picking])
    (trip,) = depot.tick("optimised", horizon=timedelta(minutes=3)).loading
    assert set(trip.order_ids) == {packed, picking}
    riding = delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    assert riding.order_ids == (packed,)
    assert depot.status(picking) is OrderStatus.PICKING
    after = depot.tick("optimised")
    check_rules(depot, after)
    assert picking in {p.order_id for p in after.postponed} | set(after.planned)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_replayed_rush_keeps_every_rule(depot, policy: str) -> None:  # type: ignore[no-untyped-def]
    """Orders arrive for 20 minutes, get picked and packed; couriers leave, deliver (some fail) and
    come back; a round runs every minute and every rule is checked after each one."""
    rng = random.Random(11)
    uow = depot.runtime.uow
    for name, totes in (("Ana", 3), ("Ben", 2)):
        depot.courier(name, capacity_totes=totes)
    riding_before: dict[str, tuple[Any, ...]] = {}
    placed: list[str] = []
    picking: tuple[list[str], Any] | None = None  # one picker, one batch at a time
    delivered = failed = 0
    for minute in range(36):
        if minute < 20 and rng.random() < 0.7:
            try:
                placed.append(depot.place((rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5))))
            except OfferNotAvailable:  # the store is too busy to promise the hour: the shopper leaves
                depot.clear_cart()
        if picking is not None and rng.random() < 0.6:
            depot.pack(*picking)
            picking = None
        if picking is None and placed:
            picking = (placed, depot.start_picking(placed))
            placed = []
        summary = depot.tick(policy, budget=timedelta(milliseconds=30))
        board = check_rules(depot, summary)
        now_riding = riding_trips(board)
        for trip_id, shape in riding_before.items():
            if trip_id in now_riding:
                assert now_riding[trip_id] == shape, "a round changed a riding trip"
        now = depot.runtime.clock.now()
        for trip in board.trips:
            if trip.status is TripStatus.LOADING and trip.planned_start <= now:
                delivery.depart(uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
            elif trip.status is TripStatus.RIDING:
                for stop in trip.stops:
                    if stop.status is not StopStatus.OUT or stop.eta is None or stop.eta > now:
                        continue
                    if rng.random() < 0.15:
                        delivery.fail_delivery(
                            uow(), tenant_id=depot.tenant_id, stop_id=stop.id, reason=FailureReason.CUSTOMER_ABSENT
                        )
                        failed += 1
                    else:
                        code = delivery.delivery_code(uow(), tenant_id=depot.tenant_id, order_id=stop.order_id)
                        delivery.deliver(
                            uow(),
                            tenant_id=depot.tenant_id,
                            stop_id=stop.id,
                            proof=DeliveryProof(position=stop.drop_off, code=code),
                        )
                        delivered += 1
            elif trip.status is TripStatus.RETURNING and trip.planned_back <= now:
                delivery.arrive_back(uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
        riding_before = riding_trips(check_rules(depot, after_round=False))
        depot.advance(timedelta(minutes=1))
    assert delivered >= 3 and delivered + failed >= 4  # the replay did exercise the road
    with depot.runtime.engine.connect() as conn:
        statuses = list(conn.execute(select(orders.c.status).where(orders.c.store_id == depot.store_id)).scalars())
    assert statuses.count("delivered") == delivered
    assert statuses.count("returned") + statuses.count("delivery_failed") == failed


def test_concurrent_rounds_and_departures_keep_every_rule(depot) -> None:  # type: ignore[no-untyped-def]
    """Two dispatchers ticking the same store while couriers leave: rounds of one store queue on
    its lock, courier actions on the courier's; nothing deadlocks, nothing is handed out twice."""
    import threading

    for name in ("A", "B", "C"):
        depot.courier(name, capacity_totes=2)
    order_ids = depot.packed_orders(6)
    errors: list[BaseException] = []
    departed: list[str] = []

    def ticker(policy: str) -> None:
        try:
            for _ in range(4):
                depot.tick(policy, force=True, budget=timedelta(milliseconds=30))
        except BaseException as exc:
            errors.append(exc)

    def leaver() -> None:
        try:
            for _ in range(12):
                for trip in check_rules(depot, after_round=False).trips:
                    if trip.status is TripStatus.LOADING:
                        try:
                            delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
                            departed.append(trip.id)
                        except (delivery.TripStateConflict, delivery.TripNotFound):
                            pass  # a round or another departure got there first
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ticker, args=(p,)) for p in POLICIES] + [threading.Thread(target=leaver)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    summary = depot.tick(force=True)
    board = check_rules(depot, summary)
    out = [s.order_id for t in board.trips if t.status is TripStatus.RIDING for s in t.stops]
    assert len(out) == len(set(out)) and set(out) <= set(order_ids)
    assert departed


class _Recording:
    """The optimiser, noting what effort each round asked of it."""

    name = "optimised"

    def __init__(self) -> None:
        self.inner = OptimisedPolicy(seed=1)
        self.asked: list[dict[str, object]] = []

    def plan(self, snapshot, budget, **effort):  # type: ignore[no-untyped-def]
        self.asked.append(effort)
        return self.inner.plan(snapshot, budget, **effort)


class _OldStyle(_Recording):
    """A policy of the caller's own, written before rounds could ask for an iteration cap."""

    def plan(self, snapshot, budget):  # type: ignore[no-untyped-def,override]
        return self.inner.plan(snapshot, budget)


def test_a_repeatable_round_counts_its_effort_in_iterations(depot) -> None:  # type: ignore[no-untyped-def]
    depot.courier("Only")
    policy = _Recording()
    assert depot.tick(policy, repeatable=True).solved
    assert policy.asked[-1] == {"max_iterations": delivery.FRESH_ITERATIONS}
    depot.packed_orders(1)
    assert depot.tick(policy, repeatable=True).solved
    assert policy.asked[-1] == {"max_iterations": delivery.MIN_ITERATIONS}  # one change: the floor
    depot.clear_cart()
    depot.packed_orders(3)
    assert depot.tick(policy, force=True).solved  # not repeatable: a wall budget, no cap asked
    assert policy.asked[-1] == {}
    depot.clear_cart()
    depot.packed_orders(1)
    assert depot.tick(_OldStyle()).solved  # a policy without the cap still plans


def _ride_out_and_back(depot: Any, trip_id: str) -> None:  # type: ignore[misc]
    """Deliver every bag of a riding trip and bring the courier back to the store."""
    uow = depot.runtime.uow
    trip = delivery.get_trip(uow(), tenant_id=depot.tenant_id, trip_id=trip_id)
    for stop in trip.stops:
        code = delivery.delivery_code(uow(), tenant_id=depot.tenant_id, order_id=stop.order_id)
        delivery.deliver(
            uow(), tenant_id=depot.tenant_id, stop_id=stop.id, proof=DeliveryProof(position=stop.drop_off, code=code)
        )
    delivery.arrive_back(uow(), tenant_id=depot.tenant_id, trip_id=trip_id)


def test_what_the_plan_expected_carries_it_over_and_news_searches_again(depot) -> None:  # type: ignore[no-untyped-def]
    """Leaving with the whole loaded trip is no change; coming back is carried over without a
    search (the courier takes the trip planned for her return); an order packed is news."""
    depot.courier("Ann")
    (first,) = depot.packed_orders(1)
    loaded = depot.tick(repeatable=True)
    (trip,) = loaded.loading
    assert loaded.solved and not loaded.rebased and trip.order_ids == (first,)
    delivery.depart(depot.runtime.uow(), tenant_id=depot.tenant_id, trip_id=trip.id)
    assert not depot.tick(repeatable=True).solved  # she left as planned: nothing to re-plan
    (second,) = depot.packed_orders(1)
    waiting = depot.tick(repeatable=True)  # news: planned for when she is back
    assert waiting.solved and not waiting.rebased and waiting.planned == (second,)
    depot.advance(timedelta(minutes=10))
    _ride_out_and_back(depot, trip.id)
    back = depot.tick(repeatable=True)
    board = check_rules(depot, back)
    assert back.solved and back.rebased
    (next_trip,) = back.loading
    assert next_trip.order_ids == (second,) and back.assigned == (second,)
    assert riding_trips(board) == {}
    third = depot.place((0.5, 0.5))
    batch = depot.start_picking([third])
    assert depot.tick(repeatable=True).solved  # a new order: searched
    depot.advance(timedelta(minutes=1))
    depot.pack([third], batch)
    packed = depot.tick(repeatable=True)
    check_rules(depot, packed)
    assert packed.solved and not packed.rebased


def test_the_board_never_shows_half_of_a_round_written_while_it_reads(depot) -> None:  # type: ignore[no-untyped-def]
    """The board reads the round's plan (the postponed orders) and then its trips. A round that
    commits in between must not show the old plan with the new trips: an order both postponed and
    on a trip. (PostgreSQL reads each statement at its own snapshot; SQLite serialises anyway.)"""
    import threading

    from sqlalchemy import event as sa_event

    depot.courier("A", capacity_totes=4)
    first, second = depot.packed_orders(2)
    summary = depot.tick("fifo-nearest")  # one courier: one order a trip, the other waits
    assert {p.order_id for p in summary.postponed} == {second}
    depot.courier("B", capacity_totes=4)  # the next round gives the waiting order to B

    errors: list[BaseException] = []

    def next_round() -> None:
        try:
            depot.tick("fifo-nearest")
        except BaseException as exc:
            errors.append(exc)

    rounder = threading.Thread(target=next_round)
    board_reader = threading.current_thread()

    def round_during_the_board(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if threading.current_thread() is board_reader and "FROM dispatch_rounds" in statement and not rounder.ident:
            rounder.start()
            rounder.join(timeout=2)  # finishes here unless the board holds the round back

    sa_event.listen(depot.runtime.engine, "after_cursor_execute", round_during_the_board)
    try:
        board = delivery.dispatch_board(depot.runtime.uow(), tenant_id=depot.tenant_id, store_id=depot.store_id)
    finally:
        sa_event.remove(depot.runtime.engine, "after_cursor_execute", round_during_the_board)
    rounder.join()
    assert errors == []
    assert rounder.ident is not None
    on_trips = [s.order_id for t in board.trips for s in t.stops]
    shown = on_trips + [p.order_id for p in board.postponed]
    assert sorted(shown) == sorted([first, second]), (on_trips, board.postponed)
    check_rules(depot)  # and the round that waited wrote a whole plan
