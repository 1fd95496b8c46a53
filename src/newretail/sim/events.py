"""The twin's event log: what happened, when (simulated seconds since the scenario start), where.

Every KPI is computed from this log alone (see :mod:`newretail.sim.kpis`), so a run can be saved
as JSON lines and re-scored later, and a test can recompute a KPI independently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

# Kinds of entries. Times in ``data`` are simulated seconds since the start, like ``at``.
QUOTED: Final = "quoted"  # a delivery or collection quote was shown: express_offered, slots_offered, delivery_eta
ORDER_PLACED: Final = "order_placed"  # method, option, items, promised_by, pick_complete_estimate
ORDER_LOST: Final = "order_lost"  # a customer left without ordering: reason
BATCH_STARTED: Final = "batch_started"  # picker, batch, orders
LINE_SHORT: Final = "line_short"  # shelf empty: line, substitute (product id or None)
SUBSTITUTION_ANSWERED: Final = "substitution_answered"  # line, approved
ORDER_PACKED: Final = "order_packed"  # picker, outcome
ORDER_CANCELLED: Final = "order_cancelled"  # reason
ORDER_DISPATCHED: Final = "order_dispatched"  # courier: the order left the store on a trip
TRIP_DEPARTED: Final = "trip_departed"  # courier, trip, orders
ORDER_DELIVERED: Final = "order_delivered"  # at the door: courier, direct_ride_s (store to door, alone)
DELIVERY_FAILED: Final = "delivery_failed"  # reason; the bag rides back
ORDER_RETURNED: Final = "order_returned"  # a failed bag is back in the store
COURIER_BACK: Final = "courier_back"  # courier, trip
ORDER_COLLECTED: Final = "order_collected"
SHIFT_STARTED: Final = "shift_started"  # role, person
SHIFT_ENDED: Final = "shift_ended"  # role, person
# Money (from the payments context's own events; amounts in minor units of ``currency``).
PAYMENT_CAPTURED: Final = "payment_captured"  # captured, released (the unused part of the hold)
PAYMENT_VOIDED: Final = "payment_voided"  # released
PAYMENT_REFUNDED: Final = "payment_refunded"  # amount
ORDER_HELD: Final = "order_held"  # reason: packed but the capture failed, so it stays at the store
WALLET_RELOADED: Final = "wallet_reloaded"  # amount: a customer topped a low wallet up before paying


@dataclass(frozen=True, slots=True)
class LogEntry:
    at: float  # simulated seconds since the scenario start
    kind: str
    store: str | None = None  # store id
    order: str | None = None  # order id
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at, "kind": self.kind, "store": self.store, "order": self.order, **self.data}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LogEntry:
        data = {k: v for k, v in raw.items() if k not in ("at", "kind", "store", "order")}
        return cls(float(raw["at"]), str(raw["kind"]), raw.get("store"), raw.get("order"), data)


@dataclass
class EventLog:
    start: datetime
    entries: list[LogEntry] = field(default_factory=list)

    def record(self, at: float, kind: str, *, store: str | None = None, order: str | None = None, **data: Any) -> None:
        self.entries.append(LogEntry(at, kind, store, order, data))

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def of_kind(self, kind: str) -> list[LogEntry]:
        return [e for e in self.entries if e.kind == kind]

    def write_jsonl(self, path: str | Path) -> None:
        with Path(path).open("w", encoding="utf-8") as out:
            out.write(json.dumps({"start": self.start.isoformat()}) + "\n")
            for entry in self.entries:
                out.write(json.dumps(entry.to_json()) + "\n")

    @classmethod
    def read_jsonl(cls, path: str | Path) -> EventLog:
        with Path(path).open(encoding="utf-8") as source:
            header = json.loads(source.readline())
            log = cls(datetime.fromisoformat(header["start"]))
            log.entries = [LogEntry.from_json(json.loads(line)) for line in source if line.strip()]
        return log
