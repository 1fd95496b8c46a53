"""Batch picking policy and picker assignment. Pure Python.

Batching groups orders waiting to be picked so one picker walks the store once for several orders
(each order in its own tote; see :func:`newretail.fulfilment.model.build_pick_list`).

Policy: strictly oldest first. Orders are taken in ``ready_since`` order (then id) and added to the
current batch while it stays within ``max_orders`` and ``max_items``; the first order that does not
fit closes the batch and opens the next. Nobody overtakes an older order, so no order starves. An
order larger than ``max_items`` on its own still gets a batch of its own (orders are never split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newretail.core.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class BatchingPolicy:
    max_orders: int = 4
    max_items: int = 40

    def __post_init__(self) -> None:
        if self.max_orders < 1 or self.max_items < 1:
            raise ValidationFailed("a batch must allow at least one order and one item", field="batching_policy")


@dataclass(frozen=True, slots=True)
class ReadyOrder:
    order_id: str
    item_count: int
    ready_since: datetime  # when it became pickable (placed)

    def __post_init__(self) -> None:
        if self.item_count < 0:
            raise ValidationFailed("item count cannot be negative", field="item_count")


@dataclass(frozen=True, slots=True)
class Batch:
    order_ids: tuple[str, ...]
    item_count: int
    oldest_since: datetime


def plan_batches(ready: Sequence[ReadyOrder], policy: BatchingPolicy = BatchingPolicy()) -> list[Batch]:
    """Group ready orders into batches, oldest first (see the module docstring)."""
    seen: set[str] = set()
    for order in ready:
        if order.order_id in seen:
            raise ValidationFailed("an order can be batched only once", field="orders", order_id=order.order_id)
        seen.add(order.order_id)

    batches: list[Batch] = []
    current: list[ReadyOrder] = []

    def close() -> None:
        if current:
            items = sum(o.item_count for o in current)
            batches.append(Batch(tuple(o.order_id for o in current), items, current[0].ready_since))
            current.clear()

    for order in sorted(ready, key=lambda o: (o.ready_since, o.order_id)):
        items = sum(o.item_count for o in current)
        if current and (len(current) >= policy.max_orders or items + order.item_count > policy.max_items):
            close()
        current.append(order)
    close()
    return batches


@dataclass(frozen=True, slots=True)
class IdlePicker:
    picker_id: str
    idle_since: datetime


@dataclass(frozen=True, slots=True)
class Assignment:
    picker_id: str
    batch: Batch


def assign_batches(batches: Sequence[Batch], pickers: Sequence[IdlePicker]) -> list[Assignment]:
    """Oldest batch to the picker idle longest; batches beyond the idle pickers wait."""
    by_age = sorted(batches, key=lambda b: (b.oldest_since, b.order_ids))
    by_idle = sorted(pickers, key=lambda p: (p.idle_since, p.picker_id))
    return [Assignment(p.picker_id, b) for p, b in zip(by_idle, by_age, strict=False)]
