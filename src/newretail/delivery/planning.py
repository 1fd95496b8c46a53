"""Dispatch planning: which courier takes which orders, in which sequence. Pure, no I/O.

A :class:`DispatchPolicy` turns a :class:`~newretail.delivery.model.DispatchSnapshot` into a
:class:`~newretail.delivery.model.DispatchPlan`. Dispatch is re-planned every tick (60 s by
default) and on events (order packed, courier free), so the decisions that matter are the trips
that start before the next re-plan; everything else is a forecast, recomputed next round.

Rules every policy keeps (and the tests prove):
- a riding courier's current trip is pinned: reported as is, never changed;
- an order already handed to a courier stays with that courier;
- no trip carries more totes or grams than its courier's vehicle holds;
- every order of the snapshot appears exactly once: in one trip, or postponed.

Two policies: :class:`FifoNearestPolicy` (the naive baseline) and :class:`OptimisedPolicy`
(PyVRP; see :mod:`newretail.delivery.vrp` for how the problem is modelled).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from newretail.core.errors import ValidationFailed
from newretail.delivery.model import (
    DispatchOrder,
    DispatchPlan,
    DispatchSnapshot,
    PlannedTrip,
    PlanStats,
    Postponed,
    PostponeReason,
)
from newretail.delivery.timeline import (
    CourierOutlook,
    PlanningSettings,
    ZoneView,
    schedule_trip,
    trip_load,
    zone_views,
)
from newretail.delivery.vrp import (
    DEFAULT_LATENESS_TIERS,
    LatenessTier,
    ZoneProblem,
    ZoneSolution,
    rebase_zone,
    solve_zone,
    validate_tiers,
)

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_TICK",
    "DispatchPolicy",
    "FifoNearestPolicy",
    "OptimisedPolicy",
    "PlanningSettings",
    "plan_violations",
    "policy_by_name",
    "schedule_trip",
]

DEFAULT_TICK = timedelta(seconds=60)
DEFAULT_BUDGET = timedelta(seconds=1)
# With an iteration cap, a zone's search stops on its count; the clock only guards a runaway.
REPEATABLE_ZONE_CEILING_S = 30.0


class DispatchPolicy(Protocol):
    name: str

    def plan(
        self, snapshot: DispatchSnapshot, budget: timedelta = DEFAULT_BUDGET, *, max_iterations: int | None = None
    ) -> DispatchPlan:
        """Decide the next trip of every courier; ``budget`` bounds the wall time spent deciding.
        ``max_iterations`` (a searching policy) bounds each zone's search by its own count instead
        of the budget (a generous wall-clock guard stays, counted in ``clock_stopped_zones``): the
        same inputs then give the same plan on this machine, however busy it is."""
        ...


def _check_budget(budget: timedelta) -> None:
    if budget <= timedelta(0):
        raise ValidationFailed("the planning budget must be positive", field="budget")


# --- baseline ---------------------------------------------------------------------------------


class FifoNearestPolicy:
    """The naive baseline: the oldest packed order goes to the nearest idle courier of its store,
    one order per trip. Orders not packed yet wait; nothing is batched or anticipated."""

    name = "fifo-nearest"

    def __init__(self, settings: PlanningSettings | None = None) -> None:
        self.settings = settings or PlanningSettings()

    def plan(
        self, snapshot: DispatchSnapshot, budget: timedelta = DEFAULT_BUDGET, *, max_iterations: int | None = None
    ) -> DispatchPlan:
        _check_budget(budget)
        started = time.perf_counter()
        settings, now = self.settings, snapshot.now
        trips: list[PlannedTrip] = []
        postponed: list[Postponed] = []
        for zone in zone_views(snapshot, settings):
            trips.extend(zone.pinned_trips)
            free: list[CourierOutlook] = []
            for outlook in zone.outlooks:
                if outlook.carried:  # bags in hand: leave with them, as handed over
                    trips.append(self._trip(outlook, zone, outlook.carried))
                elif outlook.at_store:
                    free.append(outlook)
            travel = settings.travel
            free.sort(
                key=lambda o: (
                    travel.duration_s(o.courier.position, zone.depot.location, o.courier.vehicle.speed_kmh),
                    o.courier.id,
                )
            )
            for order in sorted(zone.open_orders, key=lambda o: (o.ready_at, o.promised_by, o.id)):
                reason = zone.unplannable(order)
                if reason is None and order.ready_at > now:
                    reason = PostponeReason.NOT_READY
                if reason is None:
                    taker = next((o for o in free if order.load.fits(o.courier.vehicle.capacity)), None)
                    if taker is None:
                        reason = PostponeReason.NO_FREE_COURIER
                    else:
                        free.remove(taker)
                        trips.append(self._trip(taker, zone, (order,)))
                        continue
                postponed.append(Postponed(order.id, reason))
        return DispatchPlan(
            policy=self.name,
            planned_at=now,
            trips=tuple(trips),
            postponed=tuple(postponed),
            stats=PlanStats(solve_seconds=time.perf_counter() - started, zones_solved=0),
        )

    def _trip(self, outlook: CourierOutlook, zone: ZoneView, orders: Sequence[DispatchOrder]) -> PlannedTrip:
        return schedule_trip(
            courier=outlook.courier, depot=zone.depot, orders=orders, free_at=outlook.free_at, settings=self.settings
        )


# --- optimised --------------------------------------------------------------------------------


class OptimisedPolicy:
    """Rolling-horizon dispatch with PyVRP, one solve per store zone.

    Each round it plans every plannable order onto the couriers' next trips *and* the trips after
    them (multi-trip routes, couriers out on a trip join when they are back), minimising distance
    plus a lateness penalty, then commits only each courier's next trip. Orders expected on a later
    trip are postponed: next round re-plans them with fresher information.
    """

    name = "optimised"

    def __init__(
        self,
        settings: PlanningSettings | None = None,
        *,
        seed: int = 0,
        max_seconds_per_zone: float = 1.0,
        seconds_per_order: float = 0.02,
        lateness_tiers: Sequence[LatenessTier] | None = None,
        multi_trip: bool = True,
    ) -> None:
        if max_seconds_per_zone <= 0 or seconds_per_order <= 0:
            raise ValidationFailed("solver time limits must be positive", field="max_seconds_per_zone")
        self.settings = settings or PlanningSettings()
        self.seed = seed
        self.max_seconds_per_zone = max_seconds_per_zone
        self.seconds_per_order = seconds_per_order
        self.lateness_tiers = tuple(lateness_tiers or DEFAULT_LATENESS_TIERS)
        validate_tiers(self.lateness_tiers)
        self.multi_trip = multi_trip

    def zone_time_limit(self, order_count: int, remaining: float, zones_left: int) -> float:
        """Seconds the solver may spend on one zone: small problems converge in a few hundredths of
        a second, so the limit grows with the number of orders, up to the per-zone ceiling and the
        zone's fair share of what is left of the budget."""
        by_size = 0.05 + self.seconds_per_order * order_count
        return max(0.01, min(by_size, self.max_seconds_per_zone, remaining / max(1, zones_left)))

    def plan(
        self, snapshot: DispatchSnapshot, budget: timedelta = DEFAULT_BUDGET, *, max_iterations: int | None = None
    ) -> DispatchPlan:
        _check_budget(budget)
        if max_iterations is not None and max_iterations < 1:
            raise ValidationFailed("the search needs at least one iteration", field="max_iterations")
        started = time.perf_counter()
        zones_left = len(snapshot.store_ids)

        def search(problem: ZoneProblem) -> ZoneSolution:
            nonlocal zones_left
            remaining = budget.total_seconds() - (time.perf_counter() - started)
            if max_iterations is None:
                limit = self.zone_time_limit(len(problem.orders), remaining, zones_left)
            else:  # the count decides; the wall clock is only a guard against a runaway search
                limit = REPEATABLE_ZONE_CEILING_S
            zones_left -= 1
            return solve_zone(
                problem, time_limit=limit, seed=self.seed, previous=snapshot.previous, max_iterations=max_iterations
            )

        plan = self._plan_zones(snapshot, search)
        assert plan is not None  # a search always answers
        return plan

    def rebase(self, snapshot: DispatchSnapshot) -> DispatchPlan | None:
        """The standing plan (``snapshot.previous``) carried over to now without a search, or None
        when some zone needs one (see :func:`~newretail.delivery.vrp.rebase_zone`). For rounds
        whose only news is what the plan expected: a courier back, a trip due."""
        previous = snapshot.previous
        if previous is None or previous.policy != self.name:
            return None
        return self._plan_zones(snapshot, lambda problem: rebase_zone(problem, previous), rebased=True)

    def _plan_zones(
        self,
        snapshot: DispatchSnapshot,
        plan_zone: Callable[[ZoneProblem], ZoneSolution | None],
        *,
        rebased: bool = False,
    ) -> DispatchPlan | None:
        """Every zone of ``snapshot`` planned by ``plan_zone``; None as soon as one zone gets None."""
        started = time.perf_counter()
        settings, now = self.settings, snapshot.now
        trips: list[PlannedTrip] = []
        postponed: list[Postponed] = []
        outlook_out: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
        iterations, zones_solved, infeasible, clock_stopped, warm = 0, 0, 0, 0, False
        for zone in zone_views(snapshot, settings):
            trips.extend(zone.pinned_trips)
            candidates: list[DispatchOrder] = []
            for order in zone.open_orders:
                reason = zone.unplannable(order)
                if reason is None and order.ready_at > now + settings.lookahead:
                    reason = PostponeReason.NOT_READY_SOON
                if reason is None:
                    candidates.append(order)
                else:
                    postponed.append(Postponed(order.id, reason))
            carriers = [o for o in zone.outlooks if o.carried]
            if not candidates and not carriers:
                continue
            if not candidates:  # only handed-over bags: nothing to optimise
                for outlook in carriers:
                    trips.append(
                        schedule_trip(
                            courier=outlook.courier,
                            depot=zone.depot,
                            orders=outlook.carried,
                            free_at=outlook.free_at,
                            settings=settings,
                        )
                    )
                continue
            problem = ZoneProblem(
                now=now,
                depot=zone.depot,
                outlooks=tuple(zone.outlooks),
                orders=tuple(candidates),
                settings=settings,
                tiers=self.lateness_tiers,
                multi_trip=self.multi_trip,
            )
            solved = plan_zone(problem)
            if solved is None:
                return None
            zones_solved += 1
            iterations += solved.iterations
            warm = warm or solved.warm_started
            infeasible += 0 if solved.solver_feasible else 1
            clock_stopped += 1 if solved.clock_stopped else 0
            trips.extend(solved.trips)
            postponed.extend(solved.postponed)
            outlook_out.extend(solved.later_trips)
        return DispatchPlan(
            policy=self.name,
            planned_at=now,
            trips=tuple(trips),
            postponed=tuple(postponed),
            outlook=tuple(outlook_out),
            stats=PlanStats(
                solve_seconds=time.perf_counter() - started,
                zones_solved=zones_solved,
                solver_iterations=iterations,
                warm_started=warm,
                infeasible_zones=infeasible,
                clock_stopped_zones=clock_stopped,
                rebased=rebased,
            ),
        )


def policy_by_name(name: str, settings: PlanningSettings | None = None, *, seed: int = 0) -> DispatchPolicy:
    if name == FifoNearestPolicy.name:
        return FifoNearestPolicy(settings)
    if name == OptimisedPolicy.name:
        return OptimisedPolicy(settings, seed=seed)
    raise ValidationFailed("unknown dispatch policy", field="policy", value=name)


def plan_violations(snapshot: DispatchSnapshot, plan: DispatchPlan) -> list[str]:
    """Every way ``plan`` breaks the dispatch rules for ``snapshot`` (empty when it keeps them).

    Cheap enough to run before acting on any plan; the tests run it on every plan they make.
    """
    problems: list[str] = []
    orders = {o.id: o for o in snapshot.orders}
    couriers = {c.id: c for c in snapshot.couriers}
    seen: dict[str, int] = {}
    for order_id in (*plan.assigned_order_ids(), *plan.postponed_order_ids()):
        seen[order_id] = seen.get(order_id, 0) + 1
    for order_id in orders:
        if seen.get(order_id, 0) != 1:
            problems.append(f"order {order_id} appears {seen.get(order_id, 0)} times")
    problems.extend(f"unknown order {order_id}" for order_id in seen if order_id not in orders)

    for trip in plan.trips:
        courier = couriers.get(trip.courier_id)
        if courier is None:
            problems.append(f"trip for unknown courier {trip.courier_id}")
            continue
        if any(order_id not in orders for order_id in trip.order_ids):
            continue  # already reported
        if trip.store_id != courier.store_id or any(orders[o].store_id != courier.store_id for o in trip.order_ids):
            problems.append(f"courier {courier.id} has a trip outside its store")
        if not trip_load(trip, orders).fits(courier.vehicle.capacity):
            problems.append(f"courier {courier.id} is over capacity")
        if trip.pinned:
            if not courier.pinned or trip.order_ids != courier.carrying:
                problems.append(f"courier {courier.id}: pinned trip differs from what it carries")
            continue
        if not trip.order_ids:
            problems.append(f"courier {courier.id} has an empty trip")
            continue
        if trip.starts_at is None or trip.starts_at < snapshot.now:
            problems.append(f"courier {courier.id}: next trip starts in the past")
        elif any(trip.starts_at < orders[o].ready_at for o in trip.order_ids):
            problems.append(f"courier {courier.id}: trip leaves before its bags are packed")
        elif courier.back_at is not None and not courier.state.at_store and trip.starts_at < courier.back_at:
            problems.append(f"courier {courier.id}: trip starts before the courier is back")
        if not set(courier.carrying) <= set(trip.order_ids) and courier.state.at_store:
            problems.append(f"courier {courier.id} lost a bag it was handed")

    for courier in snapshot.couriers:
        mine = [t for t in plan.trips if t.courier_id == courier.id]
        if sum(1 for t in mine if t.pinned) > 1 or sum(1 for t in mine if not t.pinned) > 1:
            problems.append(f"courier {courier.id} has more than one current or next trip")
        if courier.pinned and courier.carrying and not any(t.pinned for t in mine):
            problems.append(f"riding courier {courier.id} lost its pinned trip")
    return problems
