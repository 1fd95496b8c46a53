"""Helpers for catalog integration tests: products made through the real services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from newretail.catalog import services
from newretail.catalog.model import Product, gtin_check_digit
from newretail.core.runtime import Runtime

MakeProduct = Callable[..., Product]


@pytest.fixture
def make_product(runtime: Runtime) -> MakeProduct:
    """``make_product(tenant_id, name, **fields)``: a valid product with a fresh SKU and GTIN."""
    counter = itertools.count(1)

    def make(tenant_id: str, name: str = "Whole Milk 1 pint", **fields: Any) -> Product:
        n = next(counter)
        body = f"50{n:010d}"
        values: dict[str, Any] = {
            "sku": f"T-{n:04d}",
            "gtin": body + str(gtin_check_digit(body)),
            "name": name,
            "brand": "Meadow Vale",
            "category": "Dairy & Eggs",
            "sold_by": "each",
            "unit_weight_g": 590,
            "temperature_zone": "chilled",
        }
        values.update(fields)
        return services.create_product(runtime.uow(), tenant_id=tenant_id, **values)

    return make
