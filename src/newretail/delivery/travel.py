"""Travel estimates for couriers: great-circle distance times a detour factor, over speed. Pure, no I/O.

Everything is rounded to integer metres and integer seconds, because that is what the solver
works in (PyVRP matrices are integers), and the plan's ETAs must agree with what was optimised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from newretail.core.errors import ValidationFailed
from newretail.core.geo import EARTH_RADIUS_KM, Point, haversine_km

# Streets are not straight lines: typical urban circuity (road distance / crow-flies distance)
# measured in European and Chinese cities sits between 1.2 and 1.4.
DEFAULT_DETOUR_FACTOR = 1.3


@dataclass(frozen=True, slots=True)
class TravelModel:
    detour_factor: float = DEFAULT_DETOUR_FACTOR

    def __post_init__(self) -> None:
        if not 1.0 <= self.detour_factor <= 3.0:
            raise ValidationFailed("detour factor must be between 1.0 and 3.0", field="detour_factor")

    def distance_m(self, a: Point, b: Point) -> int:
        """Road distance estimate in whole metres."""
        return round(haversine_km(a, b) * 1000.0 * self.detour_factor)

    @staticmethod
    def seconds_for(distance_m: int, speed_kmh: float) -> int:
        """Riding time in whole seconds (rounded up: an ETA should not be optimistic)."""
        if speed_kmh <= 0:
            raise ValidationFailed("speed must be positive", field="speed_kmh")
        return math.ceil(distance_m * 3.6 / speed_kmh)

    def duration_s(self, a: Point, b: Point, speed_kmh: float) -> int:
        return self.seconds_for(self.distance_m(a, b), speed_kmh)

    def distance_matrix(self, points: Sequence[Point]) -> np.ndarray:
        """:meth:`distance_m` between every pair of ``points`` (int64, row = from), vectorised: a
        zone's matrix is rebuilt every dispatch round, and pair by pair in Python it cost more
        than the solve. Same formula and rounding; the float functions may differ from ``math``'s
        in the last bit, i.e. a metre in a vanishingly rare tie, which the trip's own timeline
        (recomputed pair by pair) absorbs."""
        lat = np.radians(np.array([p.lat for p in points], dtype=np.float64))
        lon = np.radians(np.array([p.lon for p in points], dtype=np.float64))
        half_dlat = np.sin((lat[None, :] - lat[:, None]) / 2)
        half_dlon = np.sin((lon[None, :] - lon[:, None]) / 2)
        cos_lat = np.cos(lat)
        h = half_dlat**2 + (cos_lat[:, None] * cos_lat[None, :]) * half_dlon**2
        km: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        return np.rint(km * 1000.0 * self.detour_factor).astype(np.int64)

    @staticmethod
    def seconds_matrix(distance_m: np.ndarray, speed_kmh: float) -> np.ndarray:
        """:meth:`seconds_for` of every entry (the same float arithmetic, so the same integers)."""
        if speed_kmh <= 0:
            raise ValidationFailed("speed must be positive", field="speed_kmh")
        return np.ceil(distance_m.astype(np.float64) * 3.6 / speed_kmh).astype(np.int64)
