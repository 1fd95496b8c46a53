"""Tenancy model: plain Python, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newretail.core.errors import ValidationFailed
from newretail.core.geo import Point


class Role(StrEnum):
    CUSTOMER = "customer"
    PICKER = "picker"
    COURIER = "courier"
    STORE_MANAGER = "store_manager"
    TENANT_ADMIN = "tenant_admin"
    PARTNER = "partner"


STAFF_ROLES = frozenset({Role.PICKER, Role.COURIER, Role.STORE_MANAGER, Role.TENANT_ADMIN})
MANAGER_ROLES = frozenset({Role.STORE_MANAGER, Role.TENANT_ADMIN})

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise ValidationFailed("slug must be 2-63 lowercase letters, digits or dashes", field="slug", value=slug)
    return slug


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Per weekday an (open, close) pair of local times; a day missing means closed.

    ``close`` earlier than ``open`` means the store closes after midnight.
    """

    days: dict[str, tuple[time, time]] = field(default_factory=dict)

    @classmethod
    def every_day(cls, opens: str, closes: str) -> OpeningHours:
        return cls.parse({day: [opens, closes] for day in WEEKDAYS})

    @classmethod
    def parse(cls, raw: dict[str, list[str]]) -> OpeningHours:
        days: dict[str, tuple[time, time]] = {}
        for day, span in raw.items():
            if day not in WEEKDAYS:
                raise ValidationFailed(f"unknown weekday {day!r}", field="opening_hours")
            if len(span) != 2 or not all(isinstance(t, str) and _HHMM.match(t) for t in span):
                raise ValidationFailed(f'{day}: expected ["HH:MM", "HH:MM"]', field="opening_hours")
            days[day] = (time.fromisoformat(span[0]), time.fromisoformat(span[1]))
        return cls(days)

    def to_raw(self) -> dict[str, list[str]]:
        return {day: [o.strftime("%H:%M"), c.strftime("%H:%M")] for day, (o, c) in self.days.items()}

    def is_open(self, local: datetime) -> bool:
        today = WEEKDAYS[local.weekday()]
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        now = local.time()
        if today in self.days:
            opens, closes = self.days[today]
            if opens == closes:  # open around the clock
                return True
            if opens < closes and opens <= now < closes:
                return True
            if closes < opens and now >= opens:
                return True
        if yesterday in self.days:
            opens, closes = self.days[yesterday]
            if closes < opens and now < closes:
                return True
        return False


@dataclass(frozen=True, slots=True)
class Store:
    id: str
    tenant_id: str
    name: str
    address: str
    location: Point
    delivery_radius_m: int
    timezone: str
    opening_hours: OpeningHours

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValidationFailed("store name is required", field="name")
        if not 100 <= self.delivery_radius_m <= 50_000:
            raise ValidationFailed("delivery radius must be 100 m to 50 km", field="delivery_radius_m")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationFailed(f"unknown timezone {self.timezone!r}", field="timezone") from exc

    def is_open(self, instant: datetime) -> bool:
        return self.opening_hours.is_open(instant.astimezone(ZoneInfo(self.timezone)))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (by login) or a machine (by API key)."""

    tenant_id: str
    subject_id: str
    role: Role
    store_id: str | None = None  # staff bound to one store

    def has_any(self, roles: frozenset[Role]) -> bool:
        return self.role in roles
