"""A store zone as a PyVRP 0.14 problem, solved and read back. Pure computation, no I/O.

How dispatch maps onto PyVRP (the choices, and why):

- **Units.** The solver's clock is whole seconds after the snapshot's ``now``; distances are
  whole metres (great-circle distance times the detour factor). One routing profile per vehicle speed, so a car
  and a bike see different durations over the same distances.
- **Store = depot**, with ``service_duration`` = the time to collect the bags.
- **Order = client** at its drop-off, ``delivery=[totes, grams]`` against vehicle
  ``capacity=[totes, grams]``, ``service_duration`` = the handover, and ``release_time`` = when
  the order will be packed (PyVRP: no trip carrying it may leave the depot earlier).
- **Courier = vehicle** of a vehicle type with ``tw_early`` = when it is (back) at the store: a
  courier out on a trip is a vehicle that becomes available on its return. Couriers the model
  cannot tell apart (no bags in hand, the same vehicle, free at the same second: typically the
  idle couriers waiting at the store) share one vehicle type with ``num_available`` = their count.
  The problem is the same, but PyVRP's search tries one empty route per vehicle type rather than
  one per courier, which was most of a busy store's search time; reading the plan back, each of
  the type's routes goes to the courier that had its orders in the last plan, else the next free.
  ``reload_depots=[store]`` makes routes multi-trip, so the plan anticipates each courier's
  trips after the next one; only the next one is accounted.
- **Lateness.** PyVRP time windows are hard (a late arrival is infeasible), but promises must be
  soft: when not every order can be on time, the least lateness wins. So each order becomes a
  *required mutually exclusive group* of copies with growing windows — on time, up to 5 min
  late, 10, 20, 40, unbounded — whose prizes fall as the window grows. The group forces exactly
  one copy to be visited; the prize difference is the lateness penalty (in metre-equivalents, so
  it trades off against riding distance). The unbounded copy keeps every instance feasible.
  Copies that no courier could possibly meet are left out.
- **Postponement** is a later trip: every plannable order is placed on some courier's route (the
  groups are required), and orders not on a next trip are postponed. Optional clients with a
  prize were tried first; PyVRP's search then left orders out that needed a new trip opened.
  Groups are optional (with a prize worth more than any detour) only where a place is not
  guaranteed: single-trip mode, or an order that only a courier already holding bags can carry.
- **Orders handed to an at-store courier** must stay with it: the courier gets its own routing
  profile, every other profile sees those drop-offs as unreachable (``FORBIDDEN`` distance and
  duration), and its route is a single trip. The result is re-checked anyway.
- **Warm start** from the previous plan's trips (and its outlook) via ``initial_solution``.
- **Neighbourhood.** PyVRP's iterated local search runs as ``pyvrp.solve`` would run it, but over
  a granular neighbourhood ranked by order, not by solver client (:func:`_neighbours`): every
  copy of the nearest orders. ``solve`` offers no way to pass one in.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from pyvrp import (
    Client,
    ClientGroup,
    IteratedLocalSearch,
    IteratedLocalSearchParams,
    Location,
    PenaltyManager,
    PenaltyParams,
    ProblemData,
    RandomNumberGenerator,
    Result,
    Route,
    Solution,
    VehicleType,
)
from pyvrp import Depot as SolverDepot
from pyvrp._pyvrp import Activity, ActivityType
from pyvrp.search import OPERATORS, LocalSearch, PerturbationManager, PerturbationParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, NoImprovement, StoppingCriterion

from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point
from newretail.delivery.model import (
    Depot,
    DispatchOrder,
    DispatchPlan,
    Load,
    PlannedTrip,
    Postponed,
    PostponeReason,
)
from newretail.delivery.timeline import CourierOutlook, PlanningSettings, schedule_trip, seconds_after

# The solver's unit of cost: distance and lateness penalties are counted in decametres. PyVRP's
# penalty manager starts at ~50 000 per unit of excess load or time warp; in metres a lateness
# prize outweighs that and the search drifts into overloaded routes. In decametres the heaviest
# lateness penalty is no larger than one tote too many.
COST_UNIT_M = 10

# Distance and duration of an edge no vehicle of a profile may use. Far below PyVRP's MAX_VALUE
# (2**44) so sums cannot overflow, far above any prize so the solver never pays it.
FORBIDDEN = 10**9

# An unbounded time window, as PyVRP's own default says it.
UNBOUNDED = int(np.iinfo(np.int64).max)


@dataclass(frozen=True, slots=True)
class LatenessTier:
    """Deliveries up to ``max_late`` after the promise cost ``penalty`` (metre-equivalents)."""

    max_late: timedelta | None  # None: unbounded
    penalty: int


DEFAULT_LATENESS_TIERS: tuple[LatenessTier, ...] = (
    LatenessTier(timedelta(0), 0),
    LatenessTier(timedelta(minutes=5), 20_000),
    LatenessTier(timedelta(minutes=10), 50_000),
    LatenessTier(timedelta(minutes=20), 120_000),
    LatenessTier(timedelta(minutes=40), 250_000),
    LatenessTier(None, 500_000),
)


def validate_tiers(tiers: Sequence[LatenessTier]) -> None:
    if not tiers or tiers[-1].max_late is not None:
        raise ValidationFailed("lateness tiers must end with an unbounded tier", field="lateness_tiers")
    bounds = [t.max_late for t in tiers[:-1]]
    if any(b is None or b < timedelta(0) for b in bounds):
        raise ValidationFailed("only the last lateness tier may be unbounded", field="lateness_tiers")
    if any(a >= b for a, b in itertools.pairwise(bounds) if a is not None and b is not None):
        raise ValidationFailed("lateness tier bounds must increase", field="lateness_tiers")
    penalties = [t.penalty for t in tiers]
    if penalties[0] < 0 or any(a > b for a, b in itertools.pairwise(penalties)):
        raise ValidationFailed("lateness penalties must be non-negative and non-decreasing", field="lateness_tiers")


# Promptness (express orders): arriving more than PROMPT_SLACK after the earliest possible arrival
# costs CUSTOMER_MINUTE_M metre-equivalents a minute, in PROMPT_STEP steps up to the promise. A bike
# rides ~250 m a minute: an express customer's minute weighs more than a courier's, so an order
# waits for a shared trip only when that saves a lot more riding than it costs waiting.
PROMPT_SLACK = 60
PROMPT_STEP = 180
CUSTOMER_MINUTE_M = 1000
PROMPT_CAP_SHARE = 25  # percent of the first lateness tier's penalty


def _windows(
    order: DispatchOrder, earliest: int, now: datetime, tiers: Sequence[LatenessTier]
) -> list[tuple[int | None, int]]:
    """(latest arrival in solver seconds or None, penalty) per copy of the order, tightest first."""
    promise = int((order.promised_by - now).total_seconds())
    windows: list[tuple[int | None, int]] = []
    offset = 0
    if order.prompt:
        bound = earliest + PROMPT_SLACK
        while bound < promise:
            windows.append((bound, offset))
            # capped below the first lateness tier: no express minute outweighs a broken promise
            offset = min(
                (bound - earliest) * CUSTOMER_MINUTE_M // 60,
                PROMPT_CAP_SHARE * tiers[min(1, len(tiers) - 1)].penalty // 100,
            )
            bound += PROMPT_STEP
    for tier in tiers:
        if tier.max_late is None:
            windows.append((None, tier.penalty + offset))
            continue
        late = int((order.promised_by + tier.max_late - now).total_seconds())
        if late >= earliest:  # a window nobody can meet only slows the search down
            windows.append((late, tier.penalty + offset))
    return windows


@dataclass(frozen=True, slots=True)
class ZoneProblem:
    now: datetime
    depot: Depot
    outlooks: tuple[CourierOutlook, ...]  # every courier of the zone, sorted by id
    orders: tuple[DispatchOrder, ...]  # plannable orders nobody holds yet
    settings: PlanningSettings
    tiers: tuple[LatenessTier, ...]
    multi_trip: bool = True


@dataclass(frozen=True, slots=True)
class ZoneSolution:
    trips: tuple[PlannedTrip, ...]
    postponed: tuple[Postponed, ...]
    later_trips: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]
    iterations: int
    warm_started: bool
    solver_feasible: bool
    clock_stopped: bool = False  # the wall-time limit, not the search's own criteria, ended it


@dataclass(frozen=True, slots=True)
class _Copy:
    client: int
    tw_late: int | None  # solver seconds; None = unbounded


@dataclass(slots=True)
class _Built:
    data: ProblemData
    client_order: list[str]  # client index → order id
    copies: dict[str, list[_Copy]]  # order id → its copies, tightest window first
    location: dict[str, int]  # order id → location index
    durations: list[np.ndarray]  # per vehicle type: its profile's duration matrix
    release: dict[str, int]
    fleets: list[tuple[CourierOutlook, ...]]  # vehicle type index → its couriers, sorted by id
    outlooks: tuple[CourierOutlook, ...]  # every courier, sorted by id
    orders: dict[str, DispatchOrder]  # every order in the model, including handed-over bags
    carrier: dict[str, str]  # handed-over order id → courier id
    distance: np.ndarray  # metres between locations (0 = the store), every profile's base


def _build(problem: ZoneProblem) -> _Built:
    settings, travel, now = problem.settings, problem.settings.travel, problem.now
    pickup_s = int(settings.pickup.total_seconds())
    handover_s = int(settings.handover.total_seconds())
    carrier = _carriers(problem)
    orders = sorted(_all_orders(problem).values(), key=lambda o: o.id)
    points: list[Point] = [problem.depot.location, *(o.drop_off for o in orders)]
    location = {o.id: i + 1 for i, o in enumerate(orders)}

    # The data is built directly rather than through pyvrp.Model: the Model finds every location
    # and group it is handed by a linear scan and builds matrices this module replaces (about 5%
    # of a busy day's dispatch). Location 0 is the store; a client's index is its place in
    # ``clients`` (what groups and activities refer to).
    # PyVRP only uses coordinates for its neighbourhood heuristics; the matrices below are the truth.
    locations = [Location(x=p.lon, y=p.lat) for p in points]
    depots = [SolverDepot(location=0, service_duration=pickup_s, name=problem.depot.store_id)]

    distance = travel.distance_matrix(points)

    def durations_at(speed_kmh: float) -> np.ndarray:
        return travel.seconds_matrix(distance, speed_kmh)

    # Profiles: one per speed for free couriers, one per courier holding bags.
    def profile_key(ol: CourierOutlook) -> str:
        return f"courier:{ol.courier.id}" if ol.carried else f"speed:{ol.courier.vehicle.speed_kmh}"

    keys = list(dict.fromkeys(profile_key(ol) for ol in problem.outlooks))
    speed_of = {profile_key(ol): ol.courier.vehicle.speed_kmh for ol in problem.outlooks}
    cost_distance = (distance + COST_UNIT_M // 2) // COST_UNIT_M
    distance_matrices: list[np.ndarray] = []
    duration_matrices: list[np.ndarray] = []
    for key in keys:
        dist, dur = cost_distance.copy(), durations_at(speed_of[key])
        for order_id, courier_id in carrier.items():
            if key != f"courier:{courier_id}":
                loc = location[order_id]
                for matrix in (dist, dur):
                    matrix[loc, :] = FORBIDDEN
                    matrix[:, loc] = FORBIDDEN
                    matrix[loc, loc] = 0
        distance_matrices.append(dist)
        duration_matrices.append(dur)

    vehicle_types: list[VehicleType] = []
    vehicle_durations: list[np.ndarray] = []
    fleets = _fleets(problem, profile_key)
    for fleet in fleets:
        ol = fleet[0]
        index = keys.index(profile_key(ol))
        vehicle_durations.append(duration_matrices[index])
        multi = problem.multi_trip and not ol.carried
        capacity = ol.courier.vehicle.capacity
        vehicle_types.append(
            VehicleType(
                num_available=len(fleet),
                capacity=[capacity.totes, capacity.weight_g],
                tw_early=seconds_after(now, ol.free_at),
                profile=index,
                reload_depots=[0] if multi else [],  # starts and ends at depot 0, the store
                name=ol.courier.id,
            )
        )

    tiers = problem.tiers
    max_penalty = tiers[-1].penalty
    clients: list[Client] = []
    groups: list[ClientGroup] = []
    client_order: list[str] = []
    copies: dict[str, list[_Copy]] = {}
    release: dict[str, int] = {}
    # An order's earliest arrival depends on a courier only through its capacity, free time,
    # speed and whether it holds bags: a busy zone's dozens of couriers are a handful of kinds.
    kinds = dict.fromkeys(
        (ol.courier.vehicle.capacity, seconds_after(now, ol.free_at), ol.courier.vehicle.speed_kmh, bool(ol.carried))
        for ol in problem.outlooks
    )
    outlook_of = {ol.courier.id: ol for ol in problem.outlooks}
    for order in orders:
        loc = location[order.id]
        release[order.id] = seconds_after(now, order.ready_at)
        if order.id in carrier:
            held_by = outlook_of[carrier[order.id]]
            takers = [(seconds_after(now, held_by.free_at), held_by.courier.vehicle.speed_kmh, True)]
        else:
            takers = [(free_s, speed, held) for capacity, free_s, speed, held in kinds if order.load.fits(capacity)]
        metres = int(distance[0, loc])
        ride = {speed: travel.seconds_for(metres, speed) for _, speed, _ in takers}
        earliest = min(max(free_s, release[order.id]) + pickup_s + ride[speed] for free_s, speed, _ in takers)
        windows = _windows(order, earliest, now, tiers)
        # Required only where a place is guaranteed: with its carrier, or on a multi-trip route
        # (unlimited reloads, unbounded last window). An order only a bag-holding, single-trip
        # courier could carry may not fit beside those bags: it is optional, with a prize worth
        # more than any detour, and postponed if left out.
        required = order.id in carrier or (problem.multi_trip and any(not held for *_, held in takers))
        base_prize = 0 if required else max_penalty // COST_UNIT_M
        group: int | None = None
        if len(windows) > 1 or not required:
            group = len(groups)
            groups.append(ClientGroup(required=required, name=order.id))
        copies[order.id] = []
        for tw_late, penalty in windows:
            client = len(client_order)
            copies[order.id].append(_Copy(client, tw_late))
            if group is not None:
                groups[group].add_client(client)
            clients.append(
                Client(
                    location=loc,
                    delivery=[order.totes, order.weight_g],
                    service_duration=handover_s,
                    tw_late=tw_late if tw_late is not None else UNBOUNDED,
                    release_time=release[order.id],
                    prize=base_prize + (windows[-1][1] - penalty) // COST_UNIT_M if group is not None else 0,
                    required=group is None,
                    group=group,
                    name=order.id,
                )
            )
            client_order.append(order.id)

    # PyVRP's stub types matrices as ``ndarray[int]``, which no real array satisfies.
    data = ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        cast(Any, distance_matrices),
        cast(Any, duration_matrices),
        groups,
    )
    return _Built(
        data=data,
        client_order=client_order,
        copies=copies,
        location=location,
        durations=vehicle_durations,
        release=release,
        fleets=fleets,
        outlooks=problem.outlooks,
        orders={o.id: o for o in orders},
        carrier=carrier,
        distance=distance,
    )


def _fleets(problem: ZoneProblem, profile_key: Callable[[CourierOutlook], str]) -> list[tuple[CourierOutlook, ...]]:
    """The zone's couriers grouped into vehicle types: one per courier holding bags, one per set of
    interchangeable couriers (same profile, capacity and free second), in courier id order."""
    groups: dict[Any, list[CourierOutlook]] = {}
    for ol in problem.outlooks:
        vehicle = ol.courier.vehicle
        key = (
            ("courier", ol.courier.id)
            if ol.carried
            else (profile_key(ol), vehicle.capacity, seconds_after(problem.now, ol.free_at))
        )
        groups.setdefault(key, []).append(ol)
    return [tuple(fleet) for fleet in groups.values()]


def _previous_routes(
    outlooks: Sequence[CourierOutlook],
    orders: Mapping[str, DispatchOrder],
    carrier: Mapping[str, str],
    previous: DispatchPlan | None,
) -> dict[str, list[list[str]]]:
    """The previous plan's trips for this zone's couriers, cleaned up to fit this problem: only
    ``orders`` still to plan, handed-over bags first on their courier's next trip."""
    routes: dict[str, list[list[str]]] = {}
    taken: set[str] = set(carrier)
    for ol in outlooks:
        courier_id = ol.courier.id
        planned: list[tuple[str, ...]] = []
        if previous is not None:
            next_trip = previous.next_trip(courier_id)
            if next_trip is not None:
                planned.append(next_trip.order_ids)
            planned.extend(previous.later_trips(courier_id))
        trips: list[list[str]] = []
        for trip in planned:
            kept = [oid for oid in trip if oid in orders and oid not in taken]
            taken.update(kept)
            if kept:
                trips.append(kept)
        if ol.carried:
            held = [o.id for o in ol.carried]
            first = trips[0] if trips else []
            trips = [held + [oid for oid in first if oid not in held]]
        if trips:
            routes[courier_id] = trips
    return routes


def _initial_solution(built: _Built, routes: dict[str, list[list[str]]], settings: PlanningSettings) -> Solution | None:
    if not routes:
        return None
    pickup_s = int(settings.pickup.total_seconds())
    handover_s = int(settings.handover.total_seconds())
    solver_routes: list[Route] = []
    for vehicle, ol in ((v, ol) for v, fleet in enumerate(built.fleets) for ol in fleet):
        trips = routes.get(ol.courier.id)
        if not trips:
            continue
        if len(trips) > 1 and not built.data.vehicle_type(vehicle).reload_depots:  # single-trip courier
            trips = trips[:1]
        duration = built.durations[vehicle]
        clock = int(built.data.vehicle_type(vehicle).tw_early)
        activities: list[Activity] = []
        for number, trip in enumerate(trips):
            if number:
                activities.append(Activity(ActivityType.DEPOT, 0))
            clock = max(clock, *(built.release[oid] for oid in trip)) + pickup_s
            here = 0
            for order_id in trip:
                loc = built.location[order_id]
                clock += int(duration[here, loc])
                # the tightest copy whose window this arrival still meets
                copy = next(
                    (c for c in built.copies[order_id] if c.tw_late is None or c.tw_late >= clock),
                    built.copies[order_id][-1],
                )
                activities.append(Activity(ActivityType.CLIENT, copy.client))
                clock += handover_s
                here = loc
            clock += int(duration[here, 0])
        solver_routes.append(Route(built.data, activities, vehicle))
    return Solution(built.data, solver_routes)


def no_improvement_iterations(order_count: int) -> int:
    """Stop once this many iterations in a row found nothing better: small zones converge fast."""
    return 300 + 30 * order_count


# Activities in each client's granular neighbourhood: PyVRP's default list length.
NEIGHBOUR_COPIES = 50


def _neighbours(built: _Built) -> dict[Activity, list[Activity]]:
    """Each client's granular neighbourhood: every copy of the orders nearest its own, nearest
    first, until the list holds ``NEIGHBOUR_COPIES`` clients; never a copy of its own order.

    Why not PyVRP's ``compute_neighbours``: it ranks every pair of clients over every vehicle
    type, and a busy store has ~8 copies an order and ~30 vehicle types (couriers back at
    different seconds): 40 ms for 600 clients, longer than the search it serves. Its lists were
    every copy of the ~6 nearest orders anyway (only one copy of a group is ever visited, so a
    copy is no use as its sibling's neighbour). Ranking the orders by distance and listing their
    copies takes about a millisecond, and the plans measured as good (docs/digital-twin.md)."""
    order_ids = list(built.copies)
    copies = [[Activity(ActivityType.CLIENT, c.client) for c in built.copies[order_id]] for order_id in order_ids]
    locations = np.array([built.location[order_id] for order_id in order_ids], dtype=np.intp)
    proximity = built.distance[np.ix_(locations, locations)].astype(float)
    np.fill_diagonal(proximity, np.inf)
    nearest_first = np.argsort(proximity, axis=1, kind="stable")
    neighbours: dict[Activity, list[Activity]] = {}
    for own, ranking in enumerate(nearest_first.tolist()):
        listed: list[Activity] = []
        for other in ranking:
            if len(listed) >= NEIGHBOUR_COPIES or other == own:
                break
            listed.extend(copies[other])
        for activity in copies[own]:
            neighbours[activity] = listed  # one list shared by the order's copies
    return neighbours


def search(
    data: ProblemData,
    neighbours: dict[Activity, list[Activity]],
    stop: StoppingCriterion,
    seed: int,
    initial: Solution | None = None,
) -> Result:
    """PyVRP's iterated local search as ``pyvrp.solve`` runs it (default parameters and
    operators), but over the neighbourhood given: ``solve`` always computes its own. A test
    checks that, given PyVRP's own neighbourhood, this finds exactly what ``solve`` finds."""
    rng = RandomNumberGenerator(seed=seed)
    local_search = LocalSearch(data, rng, neighbours, PerturbationManager(PerturbationParams()))
    for operator in OPERATORS:
        if operator.supports(data):
            local_search.add_operator(operator(data))
    penalty_params = PenaltyParams()
    penalties = PenaltyManager(penalty_params.midpoint_penalties(data), penalty_params)
    if initial is None:
        # as solve does: an empty start is hard to improve, so a random one, searched through
        initial = local_search(Solution.make_random(data, rng), penalties.max_cost_evaluator(), exhaustive=True)
    algorithm = IteratedLocalSearch(data, penalties, local_search, initial, IteratedLocalSearchParams())
    return algorithm.run(stop, collect_stats=False, display=False)


def solve_zone(
    problem: ZoneProblem,
    *,
    time_limit: float,
    seed: int,
    previous: DispatchPlan | None = None,
    max_iterations: int | None = None,
) -> ZoneSolution:
    """Plan one zone within about ``time_limit`` seconds of wall time (building the model counts).
    ``max_iterations`` also caps the search by its own count: with the wall limit out of reach,
    the same problem then gets the same plan however busy the machine is (``clock_stopped`` says
    when the wall limit ended it after all)."""
    started = time.perf_counter()
    built = _build(problem)
    previous_routes = (
        _previous_routes(built.outlooks, built.orders, built.carrier, previous) if previous is not None else {}
    )
    initial = _initial_solution(built, previous_routes, problem.settings)
    search_limit = max(0.005, time_limit - (time.perf_counter() - started))
    criteria: list[StoppingCriterion] = [
        NoImprovement(no_improvement_iterations(len(problem.orders))),
        MaxRuntime(search_limit),
    ]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    result = search(built.data, _neighbours(built), MultipleCriteria(criteria), seed, initial)
    capped = max_iterations is not None and result.num_iterations >= max_iterations
    clock_stopped = not capped and result.runtime >= search_limit
    routes = _read_routes(built, result.best, previous_routes)
    trips, postponed, later = _commit(problem, built.orders, built.carrier, routes)
    return ZoneSolution(
        trips=trips,
        postponed=postponed,
        later_trips=later,
        iterations=result.num_iterations,
        warm_started=initial is not None,
        solver_feasible=result.best.is_feasible(),
        clock_stopped=clock_stopped,
    )


def _read_routes(built: _Built, solution: Solution, previous: dict[str, list[list[str]]]) -> dict[str, list[list[str]]]:
    """Each courier's trips in ``solution``. A vehicle type's routes go first to the couriers whose
    previous trips they share an order with (so a re-plan moves nobody without cause), the rest
    to the type's other couriers in id order."""
    routes: dict[str, list[list[str]]] = {}
    seen: set[str] = set()
    free = [list(fleet) for fleet in built.fleets]
    assignments: list[tuple[CourierOutlook, list[list[str]]]] = []
    unmatched: list[tuple[int, list[list[str]]]] = []
    for route in solution.routes():
        by_trip: dict[int, list[str]] = {}
        for activity in route.schedule():
            if not activity.is_client():
                continue
            order_id = built.client_order[activity.idx]
            if order_id in seen:  # a group visited twice is infeasible; keep the first visit
                continue
            seen.add(order_id)
            by_trip.setdefault(activity.trip, []).append(order_id)
        trips = [by_trip[k] for k in sorted(by_trip)]
        if not trips:
            continue
        fleet, orders = free[route.vehicle_type()], {oid for trip in trips for oid in trip}
        before = next((ol for ol in fleet if orders & {o for t in previous.get(ol.courier.id, ()) for o in t}), None)
        if before is None:
            unmatched.append((route.vehicle_type(), trips))
        else:
            fleet.remove(before)
            assignments.append((before, trips))
    for vehicle, trips in unmatched:
        assignments.append((free[vehicle].pop(0), trips))
    for ol, trips in assignments:
        routes[ol.courier.id] = trips
    return routes


def rebase_zone(problem: ZoneProblem, previous: DispatchPlan) -> ZoneSolution | None:
    """The standing plan carried over to this round without a search, or None when a search is
    needed: some order to plan is on none of its trips (new, or left unplaced), or one of the
    carried-over trips now reaches a door later than promised and later than the plan said.

    What it is for: a courier came back as the plan expected, or a planned trip fell due. The
    trips keep their sequence and are timed again from what is known now (the same timing a solved
    plan gets), so a courier back early leaves early."""
    carrier = _carriers(problem)
    orders = _all_orders(problem)
    routes = _previous_routes(problem.outlooks, orders, carrier, previous)
    on_routes = {oid for trips in routes.values() for trip in trips for oid in trip}
    if any(order.id not in on_routes for order in problem.orders):
        return None
    trips, postponed, later = _commit(problem, orders, carrier, routes)
    if any(p.reason is not PostponeReason.LATER_TRIP for p in postponed):
        return None  # the capacity check moved an order: let the search place it
    planned_at = {oid: at for t in previous.trips for oid, at in zip(t.order_ids, t.arrivals, strict=True)}
    for trip in trips:
        for order_id, arrival in zip(trip.order_ids, trip.arrivals, strict=True):
            was = planned_at.get(order_id)
            if arrival > orders[order_id].promised_by and (was is None or arrival > was):
                return None
    return ZoneSolution(
        trips=trips, postponed=postponed, later_trips=later, iterations=0, warm_started=True, solver_feasible=True
    )


def _carriers(problem: ZoneProblem) -> dict[str, str]:
    """Handed-over order id → the courier holding it."""
    return {o.id: ol.courier.id for ol in problem.outlooks for o in ol.carried}


def _all_orders(problem: ZoneProblem) -> dict[str, DispatchOrder]:
    """Every order of the problem by id, handed-over bags included."""
    return {o.id: o for o in (*problem.orders, *(o for ol in problem.outlooks for o in ol.carried))}


def _commit(
    problem: ZoneProblem,
    orders: Mapping[str, DispatchOrder],
    carrier: Mapping[str, str],
    routes: dict[str, list[list[str]]],
) -> tuple[tuple[PlannedTrip, ...], tuple[Postponed, ...], tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]]:
    """Turn routes into next trips, re-checking the rules rather than trusting the solver:
    handed-over bags stay with their courier, and no next trip exceeds its vehicle's capacity."""
    # Handed-over bags: off every other route, onto their courier's next trip.
    for courier_id, trips in routes.items():
        routes[courier_id] = [[oid for oid in trip if carrier.get(oid, courier_id) == courier_id] for trip in trips]
    for ol in problem.outlooks:
        if not ol.carried:
            continue
        held = [o.id for o in ol.carried]
        trips = routes.get(ol.courier.id, [])
        first = trips[0] if trips else []
        rest = [[oid for oid in trip if oid not in held] for trip in trips[1:]]
        missing = [oid for oid in held if oid not in first]
        routes[ol.courier.id] = [first + missing, *rest]

    trips_out: list[PlannedTrip] = []
    postponed: list[Postponed] = []
    later_out: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    accounted: set[str] = set()
    for ol in problem.outlooks:
        courier_trips = [t for t in routes.get(ol.courier.id, []) if t]
        if not courier_trips:
            continue
        first, later = courier_trips[0], courier_trips[1:]
        capacity = ol.courier.vehicle.capacity
        while not _load(first, orders).fits(capacity):
            # The solver may return an overloaded route when it found nothing feasible in time.
            drop = next(oid for oid in reversed(first) if oid not in carrier)
            first.remove(drop)
            postponed.append(Postponed(drop, PostponeReason.OVER_CAPACITY))
            accounted.add(drop)
        if first:
            trips_out.append(
                schedule_trip(
                    courier=ol.courier,
                    depot=problem.depot,
                    orders=[orders[oid] for oid in first],
                    free_at=ol.free_at,
                    settings=problem.settings,
                )
            )
            accounted.update(first)
        later = [[oid for oid in trip if oid not in accounted] for trip in later]
        later = [trip for trip in later if trip]
        if later:
            later_out.append((ol.courier.id, tuple(tuple(trip) for trip in later)))
    in_later = {oid for _, trips in later_out for trip in trips for oid in trip}
    for order in problem.orders:
        if order.id not in accounted:
            reason = PostponeReason.LATER_TRIP if order.id in in_later else PostponeReason.UNPLACED
            postponed.append(Postponed(order.id, reason))
    return tuple(trips_out), tuple(postponed), tuple(later_out)


def _load(order_ids: Sequence[str], orders: Mapping[str, DispatchOrder]) -> Load:
    total = Load()
    for order_id in order_ids:
        total += orders[order_id].load
    return total
