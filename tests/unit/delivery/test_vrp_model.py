"""The PyVRP translation itself: the solver sees the same clock, durations and rules as the plan."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyvrp import solve
from pyvrp._pyvrp import Activity, ActivityType
from pyvrp.search import compute_neighbours
from pyvrp.stop import MaxIterations, NoImprovement

from newretail.delivery import vrp
from newretail.delivery.model import CourierState, VehicleKind
from newretail.delivery.timeline import PlanningSettings, courier_outlook, schedule_trip, seconds_after

from .test_plan_invariants import KM


def _problem(town, settings: PlanningSettings | None = None) -> vrp.ZoneProblem:
    settings = settings or PlanningSettings()
    snapshot = town.snapshot()
    depot = snapshot.depots[0]
    orders = {o.id: o for o in snapshot.orders}
    outlooks = tuple(courier_outlook(c, depot, orders, snapshot.now, settings) for c in snapshot.couriers_of("s1"))
    held = {o for c in snapshot.couriers for o in c.carrying}
    return vrp.ZoneProblem(
        now=snapshot.now,
        depot=depot,
        outlooks=outlooks,
        orders=tuple(o for o in snapshot.orders if o.id not in held),
        settings=settings,
        tiers=vrp.DEFAULT_LATENESS_TIERS,
    )


def test_plan_etas_use_the_solvers_own_arithmetic(town) -> None:
    town.courier("bike")
    town.courier("car", kind=VehicleKind.CAR, state=CourierState.RETURNING, back_in=timedelta(minutes=3))
    for n in range(8):
        town.order(f"o{n}", at_km=((n % 4) - 1.5, (n // 4) * 1.2 - 0.6), ready_in=timedelta(minutes=n % 3))
    problem = _problem(town)
    built = vrp._build(problem)
    result = solve(built.data, stop=NoImprovement(500), seed=1, collect_stats=False)
    assert result.is_feasible()
    checked = 0
    for route in result.best.routes():
        outlook = built.fleets[route.vehicle_type()][0]  # one courier per type here
        first_trip = [a for a in route.schedule() if a.is_client() and a.trip == 0]
        ours = schedule_trip(
            courier=outlook.courier,
            depot=problem.depot,
            orders=[built.orders[built.client_order[a.idx]] for a in first_trip],
            free_at=outlook.free_at,
            settings=problem.settings,
        )
        # The solver may start a trip later than as soon as possible; the ride itself is identical.
        shifts = {a.start_time - seconds_after(town.now, eta) for a, eta in zip(first_trip, ours.arrivals, strict=True)}
        assert len(shifts) <= 1 and all(shift >= 0 for shift in shifts)
        checked += len(first_trip)
    assert checked > 0


def test_windows_nobody_can_meet_are_left_out(town) -> None:
    town.courier("bike")
    town.order("easy", at_km=(0.5, 0.0), due_in=timedelta(minutes=30))
    town.order("hopeless", at_km=(3.0, 0.0), due_in=-timedelta(minutes=8))
    built = vrp._build(_problem(town))
    assert len(built.copies["easy"]) == len(vrp.DEFAULT_LATENESS_TIERS)
    # hopeless: 8 min overdue, then 1 min pickup + 3.9 km at 15 km/h (15.6 min): ~24.6 min late at
    # best, so only the "up to 40 min late" and the unbounded windows are worth modelling
    assert [c.tw_late is None for c in built.copies["hopeless"]] == [False, True]
    assert built.copies["hopeless"][0].tw_late == seconds_after(
        town.now, town.orders[1].promised_by + timedelta(minutes=40)
    )


def test_bags_in_hand_are_unreachable_for_every_other_courier(town) -> None:
    town.order("held", at_km=(1.0, 0.0))
    town.order("free", at_km=(-1.0, 0.0))
    town.courier("holder", state=CourierState.WAITING, carrying=("held",))
    town.courier("other")
    built = vrp._build(_problem(town))
    held, free = built.location["held"], built.location["free"]
    types = {fleet[0].courier.id: index for index, fleet in enumerate(built.fleets)}
    holder, other = types["holder"], types["other"]
    assert built.durations[other][0, held] == vrp.FORBIDDEN
    assert built.durations[holder][0, held] < vrp.FORBIDDEN
    assert built.durations[other][0, free] == built.durations[holder][0, free]  # both bikes
    assert built.data.vehicle_type(holder).reload_depots == []  # leaves on a single trip
    assert built.data.vehicle_type(other).reload_depots == [0]


def test_couriers_nobody_can_tell_apart_share_one_vehicle_type(town) -> None:
    for courier_id in ("a", "b", "c"):
        town.courier(courier_id)
    town.courier("car", kind=VehicleKind.CAR)
    town.courier("back-soon", state=CourierState.RETURNING, back_in=timedelta(minutes=4))
    town.courier("holder", state=CourierState.WAITING, carrying=("held",))
    town.order("held", at_km=(1.0, 0.0))
    town.order("free", at_km=(-1.0, 0.0))
    built = vrp._build(_problem(town))
    fleets = sorted(tuple(ol.courier.id for ol in fleet) for fleet in built.fleets)
    # idle bikes at the store are one type; another vehicle, another return time or bags in hand
    # each make a courier a type of its own
    assert fleets == [("a", "b", "c"), ("back-soon",), ("car",), ("holder",)]
    for index, fleet in enumerate(built.fleets):
        assert built.data.vehicle_type(index).num_available == len(fleet)


def test_a_shared_vehicle_types_routes_go_back_to_the_couriers_that_had_them(town) -> None:
    for courier_id in ("a", "b", "c"):
        town.courier(courier_id)
    town.order("east", at_km=(2.0, 0.0))
    town.order("west", at_km=(-2.0, 0.0))
    built = vrp._build(_problem(town))
    result = solve(built.data, stop=NoImprovement(300), seed=1, collect_stats=False)
    # the last plan gave "west" to c and "east" to b: reading the new solution keeps that
    previous = {"c": [["west"]], "b": [["east"]]}
    routes = vrp._read_routes(built, result.best, previous)
    assert routes == {"b": [["east"]], "c": [["west"]]}
    # with no history the type's routes go to its couriers in id order
    fresh = vrp._read_routes(built, result.best, {})
    assert sorted(fresh) == ["a", "b"] and sorted(o for trips in fresh.values() for t in trips for o in t) == [
        "east",
        "west",
    ]


def _store_with(town, orders: list[tuple[float, float, int, bool]]) -> vrp._Built:
    """Orders (km east, km north, minutes to ready, express) around the store, a bike at it and an
    e-bike coming back: several copies an order, couriers of two kinds."""
    town.courier("bike")
    town.courier("ebike", kind=VehicleKind.E_BIKE, state=CourierState.RETURNING, back_in=timedelta(minutes=4))
    for n, (east_km, north_km, ready_min, prompt) in enumerate(orders):
        town.order(f"o{n:02}", at_km=(east_km, north_km), ready_in=timedelta(minutes=ready_min), prompt=prompt)
    return vrp._build(_problem(town))


# Twenty orders spread over the zone, every other one express.
BUSY = [(((n * 7) % 11) * 0.3 - 1.5, ((n * 5) % 9) * 0.3 - 1.2, n % 5, n % 2 == 0) for n in range(20)]
ORDERS = st.lists(st.tuples(KM, KM, st.integers(0, 20), st.booleans()), min_size=1, max_size=25)


@given(ORDERS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_clients_neighbours_are_every_copy_of_the_orders_nearest_its_own(new_town, orders) -> None:
    built = _store_with(new_town(), orders)
    neighbours = vrp._neighbours(built)
    order_of = built.client_order
    assert len(neighbours) == len(order_of)  # every client has its list
    for order_id, own_copies in built.copies.items():
        lists = {id(neighbours[Activity(ActivityType.CLIENT, c.client)]) for c in own_copies}
        assert len(lists) == 1  # the order's copies share one list
        listed = neighbours[Activity(ActivityType.CLIENT, own_copies[0].client)]
        listed_orders = list(dict.fromkeys(order_of[a.idx] for a in listed))
        assert order_id not in listed_orders
        # whole orders: every copy of each order listed, and nothing else
        assert sorted(a.idx for a in listed) == sorted(c.client for o in listed_orders for c in built.copies[o])
        # the nearest orders, nearest first, until the list is long enough (and no further)
        here = built.location[order_id]
        distance = [built.distance[here, built.location[o]] for o in listed_orders]
        assert distance == sorted(distance)
        others = [o for o in built.copies if o != order_id and o not in listed_orders]
        assert all(built.distance[here, built.location[o]] >= distance[-1] for o in others)
        assert len(listed) >= vrp.NEIGHBOUR_COPIES or not others
        if listed:
            assert len(listed) - len(built.copies[listed_orders[-1]]) < vrp.NEIGHBOUR_COPIES


def test_the_search_is_pyvrps_own_given_its_neighbourhood(town) -> None:
    built = _store_with(town, BUSY)
    theirs = solve(built.data, stop=MaxIterations(150), seed=3, collect_stats=False)
    ours = vrp.search(built.data, compute_neighbours(built.data), MaxIterations(150), seed=3)
    assert str(ours.best) == str(theirs.best) and ours.cost() == theirs.cost()
    assert ours.num_iterations == theirs.num_iterations == 150


def test_the_search_over_the_order_neighbourhood_finds_a_feasible_plan(town) -> None:
    built = _store_with(town, BUSY)
    result = vrp.search(built.data, vrp._neighbours(built), NoImprovement(500), seed=1)
    assert result.is_feasible()
    visited = {built.client_order[a.idx] for route in result.best.routes() for a in route.schedule() if a.is_client()}
    assert visited == set(built.copies)  # every order placed: its group is required


def test_at_a_quiet_store_every_other_order_is_a_neighbour(town) -> None:
    town.courier("bike")
    for n, at_km in enumerate([(0.5, 0.0), (1.0, 0.4), (-0.8, 0.2)]):
        town.order(f"o{n}", at_km=at_km, prompt=True)
    built = vrp._build(_problem(town))
    neighbours = vrp._neighbours(built)
    for order_id, own_copies in built.copies.items():
        listed = neighbours[Activity(ActivityType.CLIENT, own_copies[0].client)]
        others = sorted(c.client for o, copies in built.copies.items() if o != order_id for c in copies)
        assert sorted(a.idx for a in listed) == others
