from __future__ import annotations

import pytest

from newretail.core.geo import Point, offset_km
from newretail.ordering.promise import (
    NoStoreOpen,
    OutsideDeliveryZone,
    StoreCandidate,
    choose_store,
    distance_m,
)

HOME = Point(31.2304, 121.4737)


def store(
    store_id: str, north_km: float, *, radius_m: int = 3000, is_open: bool = True, in_stock: bool = True
) -> StoreCandidate:
    return StoreCandidate(store_id, offset_km(HOME, north_km, 0.0), radius_m, is_open, in_stock)


def test_nearest_open_store_with_everything_wins() -> None:
    choice = choose_store(HOME, [store("far", 2.5), store("near", 1.0), store("closed", 0.2, is_open=False)])
    assert choice.store_id == "near"
    assert choice.distance_m == pytest.approx(1000, abs=5)
    assert choice.has_every_line_in_stock


def test_nearest_store_lacking_stock_loses_to_a_farther_one_with_everything() -> None:
    choice = choose_store(HOME, [store("near-short", 0.5, in_stock=False), store("far-full", 2.0)])
    assert choice.store_id == "far-full"


def test_when_no_store_has_everything_the_nearest_serves() -> None:
    choice = choose_store(HOME, [store("a", 2.0, in_stock=False), store("b", 0.7, in_stock=False)])
    assert choice.store_id == "b"
    assert not choice.has_every_line_in_stock


def test_store_whose_radius_does_not_reach_is_skipped_even_if_nearer() -> None:
    choice = choose_store(HOME, [store("small", 1.0, radius_m=500), store("big", 4.0, radius_m=5000)])
    assert choice.store_id == "big"


def test_outside_every_zone_names_the_nearest_store_and_its_distance() -> None:
    with pytest.raises(OutsideDeliveryZone) as caught:
        choose_store(HOME, [store("a", 8.0), store("b", 5.0), store("c", 12.0)])
    error = caught.value
    assert error.code == "outside_delivery_zone"
    assert error.http_status == 422
    assert error.details["nearest_store_id"] == "b"
    assert error.details["nearest_distance_m"] == pytest.approx(5000, abs=10)


def test_no_stores_at_all_is_outside_every_zone() -> None:
    with pytest.raises(OutsideDeliveryZone) as caught:
        choose_store(HOME, [])
    assert caught.value.details["nearest_store_id"] is None


def test_inside_a_zone_but_every_covering_store_closed() -> None:
    with pytest.raises(NoStoreOpen) as caught:
        choose_store(HOME, [store("night", 1.0, is_open=False), store("far-open", 9.0)])
    assert caught.value.code == "no_store_open"
    assert caught.value.details["nearest_store_id"] == "night"


def test_radius_boundary_is_inclusive() -> None:
    there = store("edge", 2.0)
    exact = distance_m(HOME, there.location)
    at_edge = StoreCandidate("edge", there.location, exact, True, True)
    assert choose_store(HOME, [at_edge]).store_id == "edge"
    with pytest.raises(OutsideDeliveryZone):
        choose_store(HOME, [StoreCandidate("edge", there.location, exact - 1, True, True)])


def test_ties_break_by_store_id_so_the_answer_is_deterministic() -> None:
    twins = [store("b", 1.0), store("a", 1.0)]
    assert choose_store(HOME, twins).store_id == "a"
    assert choose_store(HOME, list(reversed(twins))).store_id == "a"
