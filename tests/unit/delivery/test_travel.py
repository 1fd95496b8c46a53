"""The vectorised matrices the solver reads agree with the pair-by-pair travel estimates the trip
timelines use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point, offset_km
from newretail.delivery.travel import TravelModel

LONDON = Point(51.5136, -0.1318)

# Drop-offs of a city: anywhere within 40 km of the centre.
city_points = st.lists(
    st.tuples(st.floats(-40, 40), st.floats(-40, 40)).map(lambda ne: offset_km(LONDON, *ne)), min_size=1, max_size=25
)


@given(points=city_points, detour=st.floats(1.0, 3.0), speed=st.floats(5.0, 60.0))
def test_matrices_equal_the_pairwise_estimates(points: list[Point], detour: float, speed: float) -> None:
    travel = TravelModel(detour)
    distance = travel.distance_matrix(points)
    seconds = travel.seconds_matrix(distance, speed)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            assert distance[i, j] == travel.distance_m(a, b)
            assert seconds[i, j] == travel.duration_s(a, b, speed)


def test_seconds_matrix_refuses_a_speed_that_is_not_positive() -> None:
    travel = TravelModel()
    with pytest.raises(ValidationFailed):
        travel.seconds_matrix(travel.distance_matrix([LONDON, LONDON]), 0.0)
