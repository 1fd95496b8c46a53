"""The background jobs a running store needs, on the injected clock.

- expire cart holds past their expiry (reads ignore them already; this gives the stock back),
- apply customers' standing preference to substitutions they did not answer in time,
- redeliver outbox events whose handlers failed earlier,
- prune outbox events published longer ago than the retention period (``outbox_retention_days``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from newretail.core.messaging import prune_published
from newretail.core.runtime import Runtime
from newretail.fulfilment import services as fulfilment
from newretail.inventory import services as inventory

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaintenanceReport:
    reservations_expired: int
    substitutions_resolved: int
    events_redelivered: int
    events_pruned: int


def run_once(runtime: Runtime) -> MaintenanceReport:
    return MaintenanceReport(
        reservations_expired=inventory.expire_stale(runtime.uow()),
        substitutions_resolved=fulfilment.resolve_overdue_substitutions(runtime.uow()),
        events_redelivered=runtime.bus.relay_pending(runtime.engine, runtime.clock.now()),
        events_pruned=prune_published(runtime.engine, runtime.clock.now() - runtime.outbox_retention),
    )


class MaintenanceLoop:
    """Runs :func:`run_once` every ``interval_s`` seconds in a daemon thread until stopped."""

    def __init__(self, runtime: Runtime, interval_s: float = 15.0) -> None:
        self._runtime = runtime
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="newretail-maintenance", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval_s + 5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                report = run_once(self._runtime)
            except Exception:  # a bad run must not kill the loop; the next one tries again
                log.exception("maintenance run failed")
                continue
            if any(vars(report).values()):
                log.info("maintenance: %s", report)
