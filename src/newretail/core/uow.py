"""The unit of work: one database transaction plus the events it raises.

Services take a unit of work, load, call the model, save, ``emit`` events and ``commit``. Leaving
the ``with`` block without committing rolls everything back, events included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, bindparam, insert

from newretail.core.clock import Clock, SystemClock
from newretail.core.db import JSON_TEXT
from newretail.core.messaging import Event, MessageBus, PublishedEvent, outbox

# One round trip for all of a transaction's events, ids returned in the order they were emitted
# (needed only when some are delivered in-process); payloads go in as the JSON text they are.
_ADD_EVENTS = insert(outbox).values(payload=bindparam("b_payload", type_=JSON_TEXT))
_ADD_EVENTS_RETURNING_IDS = _ADD_EVENTS.returning(outbox.c.id, sort_by_parameter_order=True)


class UnitOfWork:
    def __init__(self, engine: Engine, clock: Clock | None = None, bus: MessageBus | None = None) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.bus = bus
        self._conn: Connection | None = None
        self._pending: list[Event] = []
        self._committed = False

    @property
    def is_open(self) -> bool:
        """Inside the ``with`` block: a service called now joins the caller's transaction."""
        return self._conn is not None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._conn

    def __enter__(self) -> Self:
        self._conn = self.engine.connect()
        self._conn.begin()
        self._pending = []
        self._committed = False
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn = self.conn
        try:
            if not self._committed:
                conn.rollback()
        finally:
            conn.close()
            self._conn = None

    def emit(self, event: Event) -> None:
        self._pending.append(event)

    def commit(self) -> None:
        conn = self.conn
        now = self.clock.now()
        heard: list[PublishedEvent] = []
        observed: list[PublishedEvent] = []
        if self._pending:
            bus = self.bus
            rows: list[dict[str, Any]] = []
            for event in self._pending:
                name = event.event_type()
                # Without a bus nothing delivers here, so the relay finds the event unpublished. With
                # one, an event no handler here owes work on is published by being stored: marking it
                # in a transaction of its own afterwards (as delivery does) would change nothing else.
                owed = bus is None or bus.has_handlers(name)
                rows.append(
                    {
                        "tenant_id": event.tenant_id,
                        "name": name,
                        "b_payload": event.payload_json(),
                        "occurred_at": now,
                        "published_at": None if owed else now,
                    }
                )
            if bus is None:
                conn.execute(_ADD_EVENTS, rows)
            else:
                heard, observed = _store(conn, bus, rows, now)
        conn.commit()
        self._committed = True
        self._pending = []
        if self.bus is not None:
            if heard:
                self.bus.deliver(self.engine, heard, now)
            if observed:
                self.bus.notify(observed)


def _store(
    conn: Connection, bus: MessageBus, rows: list[dict[str, Any]], now: datetime
) -> tuple[list[PublishedEvent], list[PublishedEvent]]:
    """Write a transaction's events; return those its handlers owe work on (stored unpublished)
    and those its observers are to be told of."""
    if not any(row["published_at"] is None or bus.has_observers(row["name"]) for row in rows):
        conn.execute(_ADD_EVENTS, rows)
        return [], []
    heard: list[PublishedEvent] = []
    observed: list[PublishedEvent] = []
    ids = conn.execute(_ADD_EVENTS_RETURNING_IDS, rows).scalars().all()
    for outbox_id, row in zip(ids, rows, strict=True):
        owed, watched = row["published_at"] is None, bus.has_observers(row["name"])
        if owed or watched:
            event = PublishedEvent(outbox_id, row["name"], row["tenant_id"], json.loads(row["b_payload"]), now)
            if owed:
                heard.append(event)
            if watched:
                observed.append(event)
    return heard, observed


UnitOfWorkFactory = Callable[[], UnitOfWork]


@contextmanager
def joined(uow: UnitOfWork) -> Iterator[UnitOfWork]:
    """For reads: join the caller's open transaction, or open (and close) one of our own."""
    if uow.is_open:
        yield uow
        return
    with uow:
        yield uow
