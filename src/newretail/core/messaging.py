"""Domain events, the transactional outbox and the in-process message bus.

A service appends events to its unit of work; the unit of work writes them to the ``outbox`` table
in the same transaction as the state change, so an event exists if and only if the change does.
After commit the bus hands them to in-process handlers and marks them published; anything left
unpublished (a handler crashed, the process died) is picked up by :meth:`MessageBus.relay_pending`.
*Observers* are told of committed events too, but owe nothing: an event that only observers hear is
stored as published, so it costs no transaction of its own after the commit (see
:meth:`MessageBus.observe`).
Published events are kept for a retention period (to trace what happened), then pruned by
:func:`prune_published`, so the table does not grow with every order the platform ever took.
A broker adapter (NATS, Redis, RabbitMQ) plugs in as another handler for multi-process deployments.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    bindparam,
    delete,
    select,
    update,
)

from newretail.core.db import UTCDateTime, metadata

log = logging.getLogger(__name__)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=True),
    Column("name", String(100), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
)
Index("ix_outbox_unpublished", outbox.c.published_at, outbox.c.id)

_MARK_PUBLISHED = (
    update(outbox).where(outbox.c.id.in_(bindparam("event_ids", expanding=True))).values(published_at=bindparam("now"))
)
_COUNT_ATTEMPT = update(outbox).where(outbox.c.id == bindparam("event_id")).values(attempts=outbox.c.attempts + 1)
# Oldest first and bounded, served by ix_outbox_unpublished (published_at leads it): each batch is
# one short statement, so pruning a long backlog never holds the writers' lock for long.
_PRUNE_BATCH = delete(outbox).where(
    outbox.c.id.in_(
        select(outbox.c.id)
        .where(outbox.c.published_at < bindparam("cutoff"))
        .order_by(outbox.c.published_at, outbox.c.id)
        .limit(bindparam("batch_size", type_=Integer))
    )
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Event:
    """Base for domain events. Subclasses are frozen dataclasses; ``name`` defaults to the class name."""

    tenant_id: str
    event_name: ClassVar[str] = ""

    @classmethod
    def event_type(cls) -> str:
        return cls.event_name or cls.__name__

    def payload(self) -> dict[str, Any]:
        encoded: dict[str, Any] = json.loads(self.payload_json())
        return encoded

    def payload_json(self) -> str:
        """The payload as the JSON text the outbox stores. The fields are taken as they are (no deep
        copy as ``dataclasses.asdict`` makes): nested values are rendered by ``_json_default``."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return json.dumps(fields, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot serialise {type(value).__name__} in an event")


@dataclasses.dataclass(frozen=True)
class PublishedEvent:
    """What handlers receive: the event as stored, so in-process and relayed delivery look the same."""

    outbox_id: int
    name: str
    tenant_id: str | None
    payload: dict[str, Any]
    occurred_at: datetime


Handler = Callable[[PublishedEvent], None]


class MessageBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._catch_all: list[Handler] = []
        self._observers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, event_name: str, handler: Handler) -> None:
        self._handlers[event_name].append(handler)

    def subscribe_all(self, handler: Handler) -> None:
        self._catch_all.append(handler)

    def observe(self, event_name: str, observer: Handler) -> None:
        """Tell ``observer`` of every ``event_name`` this process commits, once, after the commit.

        Unlike a handler's, an observer's work is not owed: it keeps no event in the outbox, the
        relay never repeats it, and an observer that raises is logged and forgotten. It is for
        bookkeeping in memory that the next read can redo (which stores to re-plan, a simulation's
        log), never for work that must happen (a capture, a refund): subscribe those."""
        self._observers[event_name].append(observer)

    def has_handlers(self, event_name: str) -> bool:
        return bool(self._catch_all) or bool(self._handlers.get(event_name))

    def has_observers(self, event_name: str) -> bool:
        return bool(self._observers.get(event_name))

    def notify(self, events: Iterable[PublishedEvent]) -> None:
        """Tell the observers of ``events`` (committed already); a failing observer is only logged."""
        for event in events:
            for observer in self._observers.get(event.name, ()):
                try:
                    observer(event)
                except Exception:
                    log.exception("observer failed for event %s #%s; it is not told again", event.name, event.outbox_id)

    def deliver(self, engine: Engine, events: Iterable[PublishedEvent], now: datetime) -> int:
        """Run handlers for ``events``; mark each published once every handler succeeded."""
        delivered: list[int] = []
        for event in events:
            try:
                for handler in [*self._handlers.get(event.name, ()), *self._catch_all]:
                    handler(event)
            except Exception:
                log.exception("handler failed for event %s #%s; it stays in the outbox", event.name, event.outbox_id)
                with engine.begin() as conn:
                    conn.execute(_COUNT_ATTEMPT, {"event_id": event.outbox_id})
                continue
            delivered.append(event.outbox_id)
        if delivered:
            # One transaction marks them all; an event whose mark is lost (a crash before it) is
            # delivered again by the relay, which handlers tolerate (they are idempotent).
            with engine.begin() as conn:
                conn.execute(_MARK_PUBLISHED, {"event_ids": delivered, "now": now})
        return len(delivered)

    def relay_pending(self, engine: Engine, now: datetime, limit: int = 500) -> int:
        with engine.connect() as conn:
            rows = conn.execute(
                select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.id).limit(limit)
            ).all()
        return self.deliver(engine, [_row_to_event(row) for row in rows], now)


def prune_published(
    engine: Engine, published_before: datetime, *, batch_size: int = 1000, max_batches: int = 50
) -> int:
    """Delete events published before ``published_before``, oldest first, at most ``max_batches``
    batches of ``batch_size`` (a large backlog is worked off over several maintenance runs, which
    keep expiring holds meanwhile). Returns how many were deleted. Unpublished events are never
    touched, however old: they still owe a delivery."""
    if batch_size < 1 or max_batches < 1:
        raise ValueError(f"batch_size and max_batches must be at least 1, got {batch_size} and {max_batches}")
    pruned = 0
    for _ in range(max_batches):
        with engine.begin() as conn:
            deleted = conn.execute(_PRUNE_BATCH, {"cutoff": published_before, "batch_size": batch_size}).rowcount
        pruned += deleted
        if deleted < batch_size:
            break
    return pruned


def _row_to_event(row: Any) -> PublishedEvent:
    return PublishedEvent(
        outbox_id=row.id, name=row.name, tenant_id=row.tenant_id, payload=row.payload, occurred_at=row.occurred_at
    )
