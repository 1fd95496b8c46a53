"""When a store's dispatch round is worth running: the events that change what a planner sees.

Dispatch does not run itself on events: the caller (a scheduler, the digital twin) decides when
to tick. These helpers tell it *which* stores changed, so it can tick those now and leave the rest
to the regular round (which is cheap anyway when nothing changed)::

    triggers = DispatchTriggers()
    triggers.register(runtime.bus)
    ...
    for tenant_id, store_id in triggers.drain():
        delivery.dispatch_tick(runtime.uow(), tenant_id, store_id, "optimised")
"""

from __future__ import annotations

import threading
from datetime import timedelta

from newretail.core.messaging import MessageBus, PublishedEvent
from newretail.core.uow import UnitOfWork
from newretail.delivery import services
from newretail.delivery.planning import DispatchPolicy

# Order status changes dispatch cares about: an order joins the pool (picking), is ready (packed),
# or leaves it (cancelled).
_ORDER_STATUSES = frozenset({"picking", "packed", "cancelled"})

DISPATCH_EVENTS = frozenset(
    {
        "OrderPacked",
        "OrderStatusChanged",
        "OrderCancelled",
        "CourierShiftStarted",
        "CourierShiftEnded",
        "TripDeparted",
        "CourierBack",
    }
)


def store_of(event: PublishedEvent) -> tuple[str, str] | None:
    """(tenant id, store id) whose dispatch round ``event`` concerns, or None."""
    if event.name not in DISPATCH_EVENTS or event.tenant_id is None:
        return None
    if event.name == "OrderStatusChanged" and event.payload.get("status") not in _ORDER_STATUSES:
        return None
    store_id = event.payload.get("store_id")
    return (event.tenant_id, str(store_id)) if store_id else None


class DispatchTriggers:
    """Collects the stores whose state changed since the last :meth:`drain`. Thread-safe."""

    def __init__(self) -> None:
        self._dirty: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def register(self, bus: MessageBus) -> None:
        for name in sorted(DISPATCH_EVENTS):
            bus.observe(name, self.handle)

    def handle(self, event: PublishedEvent) -> None:
        key = store_of(event)
        if key is not None:
            with self._lock:
                self._dirty.add(key)

    def drain(self) -> set[tuple[str, str]]:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        return dirty


def dispatch_on_event(
    uow: UnitOfWork,
    event: PublishedEvent,
    policy: DispatchPolicy | str = "optimised",
    budget: timedelta | None = None,
) -> services.TickSummary | None:
    """Run the round of the store ``event`` concerns, if it concerns one (for callers that do want
    to re-plan on every event)."""
    key = store_of(event)
    if key is None:
        return None
    tenant_id, store_id = key
    return services.dispatch_tick(uow, tenant_id, store_id, policy, budget)
