from __future__ import annotations

from dataclasses import dataclass

from newretail.core.messaging import Event


@dataclass(frozen=True, kw_only=True)
class StoreOpened(Event):
    store_id: str
    name: str
