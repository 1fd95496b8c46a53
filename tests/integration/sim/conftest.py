from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from newretail.core.db import make_engine

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "start": "2026-03-03T17:00:00+00:00",
    "duration_hours": 0.1,  # six minutes of orders, then the stores work off their queues
    "stores": [
        {"name": "North", "lat": 51.52, "lon": -0.12, "radius_m": 3219},
        {"name": "South", "lat": 51.50, "lon": -0.12, "radius_m": 3219},
    ],
    "demand": {
        "orders_per_hour": {17: 120},
        "basket": {"mean_lines": 5, "max_lines": 12},
        "collection_share": 0.3,
        "express_share": 0.6,
        "customers_per_store": 8,
    },
    "staff": {
        "pickers": [{"start": "16:00", "end": "22:00", "count": 2}],
        "couriers": [{"start": "16:00", "end": "22:00", "count": 3, "vehicle": "bike"}],
    },
    # A shop floor where shelves are often empty and customers answer quickly, so substitutions
    # (approved, rejected and unanswered) all happen in a short run.
    "substitution": {
        "out_of_shelf_probability": 0.15,
        "approve_rate": 0.5,
        "mean_response_seconds": 50,
        "respond_within_minutes": 2,
    },
    "delivery": {"customer_absent_rate": 0.2},  # failed deliveries and returns happen too
    "catalog": {"products": 30, "stock_units": 500},
}


@pytest.fixture
def twin_engine(engine: Engine) -> Iterator[Engine]:
    """The test database as the twin uses it: on SQLite, through a small connection pool."""
    if engine.dialect.name != "sqlite":
        yield engine
        return
    pooled = make_engine(str(engine.url), poolclass=QueuePool, pool_size=2, max_overflow=2)
    yield pooled
    pooled.dispose()


@pytest.fixture
def tiny() -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY.items()}
