"""Everything a service needs from the outside world, built once per process (or per test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine

from newretail.core.clock import Clock, SystemClock
from newretail.core.db import make_engine
from newretail.core.messaging import MessageBus
from newretail.core.settings import Settings, get_settings
from newretail.core.uow import UnitOfWork


@dataclass
class Runtime:
    engine: Engine
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    bus: MessageBus = field(default_factory=MessageBus)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
        settings = settings or get_settings()
        return cls(engine=make_engine(settings.database_url), settings=settings, clock=clock or SystemClock())

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.clock, self.bus)

    @property
    def reservation_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.reservation_ttl_minutes)

    @property
    def outbox_retention(self) -> timedelta:
        return timedelta(days=self.settings.outbox_retention_days)
