"""What happens to a delivery order once it is packed: the extension point for courier agents.

The engine calls a :class:`CourierAgents` implementation on two events (an order is placed, an
order is packed) and lets it schedule its own work on the simulated clock, e.g. a dispatch tick
every 60 simulated seconds::

    class DispatchingCouriers:
        def attach(self, sim):
            sim.every(60, lambda: self.tick(sim))      # the dispatcher's batch cadence
        def order_packed(self, sim, order_id, store_id):
            self.tick(sim)                             # and re-plan on events
        ...

Courier shifts are already on the roster (the engine puts couriers on and off shift by the
scenario's schedule), so the promise sees them. Until the DB-backed delivery services land, the
twin uses :class:`DeskHandOver`: packed delivery orders are handed over at the dispatch desk
(``ordering.advance(step="dispatch")``) after the store's ``dispatch_seconds``; no ride is
simulated and no delivery KPI is reported. Couriers on the roster therefore look idle to the
promise, so express is offered whenever picking capacity allows — report it as such.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from newretail.ordering import services as ordering
from newretail.sim import events

if TYPE_CHECKING:
    from newretail.sim.engine import Simulation


class CourierAgents(Protocol):
    name: str

    def attach(self, sim: Simulation) -> None:
        """Called once the world is seeded, before the first event: schedule ticks here."""

    def order_placed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        """A delivery order was placed at ``store_id``."""

    def order_packed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        """A delivery order's totes are packed and ready for a courier. Call ``sim.finish_order``
        once it is delivered: periodic ticks run until every order is finished."""


class DeskHandOver:
    """Interim stand-in until courier agents exist: hand packed orders over, ride nothing."""

    name = "desk-handover (couriers not simulated)"

    def __init__(self, dispatch_seconds: float) -> None:
        self.dispatch_seconds = dispatch_seconds

    def attach(self, sim: Simulation) -> None:
        return None

    def order_placed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        return None

    def order_packed(self, sim: Simulation, order_id: str, store_id: str) -> None:
        def hand_over() -> None:
            ordering.advance(sim.runtime.uow(), tenant_id=sim.tenant_id, order_id=order_id, step="dispatch")
            sim.log.record(sim.now_s, events.ORDER_DISPATCHED, store=store_id, order=order_id)
            sim.finish_order(order_id)

        sim.at(sim.now_s + self.dispatch_seconds, hand_over)
