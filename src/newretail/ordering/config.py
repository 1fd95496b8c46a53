"""Per-store operating settings: pick and ride time models, slots, batching. Plain Python."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from newretail.core.errors import ValidationFailed
from newretail.fulfilment.batching import BatchingPolicy
from newretail.ordering.promise import PickTimeModel, PromiseConfig, RideTimeModel


@dataclass(frozen=True, slots=True)
class StoreOperations:
    seconds_per_order: int = 120
    seconds_per_item: int = 15
    detour_factor: float = 1.3
    courier_speed_kmh: float = 15.0
    dispatch_seconds: int = 60
    collection_buffer_seconds: int = 300
    express_limit_minutes: int = 30
    slot_capacity: int = 20
    slots_ahead: int = 8
    slot_minutes: int = 60
    max_slots_offered: int = 4
    batch_max_orders: int = 4
    batch_max_items: int = 40
    substitution_response_minutes: int = 5

    def __post_init__(self) -> None:
        for name in ("slot_capacity", "slots_ahead", "slot_minutes", "express_limit_minutes"):
            if getattr(self, name) <= 0:
                raise ValidationFailed(f"{name} must be positive", field=name)
        if self.substitution_response_minutes <= 0:
            raise ValidationFailed(
                "substitution_response_minutes must be positive", field="substitution_response_minutes"
            )

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StoreOperations:
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValidationFailed(f"unknown store settings: {', '.join(sorted(unknown))}", field="settings")
        return cls(**raw)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def promise(self) -> PromiseConfig:
        return PromiseConfig(
            pick=PickTimeModel(self.seconds_per_order, self.seconds_per_item),
            ride=RideTimeModel(self.detour_factor, self.courier_speed_kmh),
            express_limit=timedelta(minutes=self.express_limit_minutes),
            dispatch_seconds=self.dispatch_seconds,
            collection_buffer_seconds=self.collection_buffer_seconds,
            max_slots_offered=self.max_slots_offered,
            batching=self.batching,
        )

    @property
    def batching(self) -> BatchingPolicy:
        return BatchingPolicy(self.batch_max_orders, self.batch_max_items)

    @property
    def slot_length(self) -> timedelta:
        return timedelta(minutes=self.slot_minutes)
