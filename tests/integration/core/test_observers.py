"""Observers on the message bus: told of committed events once, owing nothing (core/messaging.py)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from newretail.core.messaging import Event, PublishedEvent, outbox
from newretail.core.runtime import Runtime


@dataclasses.dataclass(frozen=True, kw_only=True)
class BinEmptied(Event):
    """A test event."""

    bin_id: str


def _emit(runtime: Runtime, *bins: str, commit: bool = True) -> None:
    with runtime.uow() as uow:
        for bin_id in bins:
            uow.emit(BinEmptied(tenant_id="t1", bin_id=bin_id))
        if commit:
            uow.commit()


def _published(runtime: Runtime) -> list[bool]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.published_at).where(outbox.c.name == "BinEmptied").order_by(outbox.c.id))
        return [published_at is not None for published_at in rows.scalars()]


def _count_transactions(runtime: Runtime) -> list[int]:
    commits = [0]

    def count(conn: object) -> None:
        commits[0] += 1

    sa_event.listen(runtime.engine, "commit", count)
    return commits


def test_an_event_only_observed_is_stored_published_and_told_once_after_its_commit(runtime: Runtime) -> None:
    told: list[tuple[str, bool]] = []

    def observer(event: PublishedEvent) -> None:
        told.append((event.payload["bin_id"], _published(runtime)[-1]))

    runtime.bus.observe("BinEmptied", observer)
    commits = _count_transactions(runtime)
    _emit(runtime, "b1", "b2")

    # Told in order, once the rows are committed and already published: no transaction follows.
    assert told == [("b1", True), ("b2", True)]
    assert commits[0] == 1
    assert _published(runtime) == [True, True]
    # The relay owes nothing and tells nobody again.
    assert runtime.bus.relay_pending(runtime.engine, runtime.clock.now()) == 0
    assert len(told) == 2


def test_an_observer_is_not_told_of_what_was_rolled_back(runtime: Runtime) -> None:
    told: list[PublishedEvent] = []
    runtime.bus.observe("BinEmptied", told.append)
    _emit(runtime, "b1", commit=False)
    assert told == [] and _published(runtime) == []


def test_a_failing_observer_is_logged_and_the_others_are_still_told(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    told: list[str] = []

    def broken(event: PublishedEvent) -> None:
        raise RuntimeError("the dashboard is down")

    runtime.bus.observe("BinEmptied", broken)
    runtime.bus.observe("BinEmptied", lambda event: told.append(event.payload["bin_id"]))
    with caplog.at_level(logging.ERROR, logger="newretail.core.messaging"):
        _emit(runtime, "b1")
    assert told == ["b1"]
    assert "observer failed for event BinEmptied" in caplog.text
    assert _published(runtime) == [True]  # nothing is owed to an observer


def test_a_handler_still_owes_its_work_when_an_observer_listens_too(runtime: Runtime) -> None:
    handled: list[str] = []
    told: list[str] = []
    failing = {"on": True}

    def handler(event: PublishedEvent) -> None:
        if failing["on"]:
            raise RuntimeError("the provider is down")
        handled.append(event.payload["bin_id"])

    runtime.bus.subscribe("BinEmptied", handler)
    runtime.bus.observe("BinEmptied", lambda event: told.append(event.payload["bin_id"]))
    _emit(runtime, "b1")
    assert handled == [] and told == ["b1"]
    assert _published(runtime) == [False]  # the handler failed: the event waits for the relay

    failing["on"] = False
    runtime.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert runtime.bus.relay_pending(runtime.engine, runtime.clock.now()) == 1
    assert handled == ["b1"] and told == ["b1"]  # the relay repeats the handler's work only
    assert _published(runtime) == [True]
