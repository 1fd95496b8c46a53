"""Travel estimates for couriers: great-circle distance times a detour factor, over speed. Pure, no I/O.

Everything is rounded to integer metres and integer seconds, because that is what the solver
works in (PyVRP matrices are integers), and the plan's ETAs must agree with what was optimised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point, haversine_km

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
