"""Great-circle distances. Plain math, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
MILE_KM = 1.609344


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.lat <= 90.0:
            raise ValueError(f"latitude {self.lat} is outside -90..90")
        if not -180.0 <= self.lon <= 180.0:
            raise ValueError(f"longitude {self.lon} is outside -180..180")


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def offset_km(origin: Point, north_km: float, east_km: float) -> Point:
    """A point displaced from ``origin``; accurate enough over a city."""
    lat = origin.lat + math.degrees(north_km / EARTH_RADIUS_KM)
    lon = origin.lon + math.degrees(east_km / (EARTH_RADIUS_KM * math.cos(math.radians(origin.lat))))
    return Point(lat, lon)
