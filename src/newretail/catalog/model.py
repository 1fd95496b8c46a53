"""Catalog model: plain Python, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from newretail.core.errors import NotFound, ValidationFailed


class SoldBy(StrEnum):
    EACH = "each"
    WEIGHT = "weight"  # priced per kilogram, stocked and sold in grams


class TemperatureZone(StrEnum):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


class UnknownProduct(NotFound):
    code = "unknown_product"


def gtin_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(gtin: str) -> str:
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        raise ValidationFailed("GTIN must be 8, 12, 13 or 14 digits", field="gtin", value=gtin)
    if gtin_check_digit(gtin[:-1]) != int(gtin[-1]):
        raise ValidationFailed("GTIN check digit is wrong", field="gtin", value=gtin)
    return gtin


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    tenant_id: str
    sku: str
    gtin: str
    name: str
    brand: str
    category: str
    sold_by: SoldBy
    unit_weight_g: int
    temperature_zone: TemperatureZone

    def __post_init__(self) -> None:
        if not self.sku.strip():
            raise ValidationFailed("SKU is required", field="sku")
        validate_gtin(self.gtin)
        if not self.name.strip():
            raise ValidationFailed("name is required", field="name")
        if not self.category.strip():
            raise ValidationFailed("category is required", field="category")
        if self.unit_weight_g <= 0:
            raise ValidationFailed("unit weight must be a positive number of grams", field="unit_weight_g")


@dataclass(frozen=True, slots=True, order=True)
class ShelfLocation:
    """Where a product sits; ordering by (aisle, bay, shelf) is the store's walk order."""

    aisle: int
    bay: int
    shelf: int

    def __post_init__(self) -> None:
        if min(self.aisle, self.bay, self.shelf) < 0:
            raise ValidationFailed("aisle, bay and shelf must be non-negative", field="location")
