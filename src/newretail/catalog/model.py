"""Catalog model: plain Python, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from newretail.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from newretail.core.money import Money

MAX_SKU_LENGTH = 64
MAX_NAME_LENGTH = 300
MAX_BRAND_LENGTH = 120
MAX_CATEGORY_LENGTH = 120
MAX_UNIT_WEIGHT_G = 100_000  # 100 kg: nothing a shopper carries home weighs more per unit
MAX_PRICE_MINOR = 100_000_000  # one million major units: catches a misplaced decimal point
MAX_LOCATION_NUMBER = 9_999

_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})  # control, format and line/paragraph separators
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class SoldBy(StrEnum):
    EACH = "each"
    WEIGHT = "weight"  # priced per kilogram, stocked and sold in grams

    @property
    def price_unit(self) -> str:
        """What one ``price_minor`` buys: one unit, or one kilogram."""
        return "kg" if self is SoldBy.WEIGHT else "each"


class TemperatureZone(StrEnum):
    AMBIENT = "ambient"
    CHILLED = "chilled"
    FROZEN = "frozen"


class UnknownProduct(NotFound):
    code = "unknown_product"


class DuplicateProduct(Conflict):
    code = "duplicate_product"


class NotSoldInStore(DomainError):
    """The product exists but the store has no price for it, so it cannot be sold or compared there."""

    code = "not_sold_in_store"
    http_status = 409


def gtin_check_digit(body: str) -> int:
    """GS1 check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def validate_gtin(gtin: str) -> str:
    if not gtin.isascii() or not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        raise ValidationFailed("GTIN must be 8, 12, 13 or 14 digits", field="gtin", value=gtin)
    if gtin_check_digit(gtin[:-1]) != int(gtin[-1]):
        raise ValidationFailed("GTIN check digit is wrong", field="gtin", value=gtin)
    return gtin


def canonical_gtin(gtin: str) -> str:
    """The GTIN-14 form: GS1 right-justifies every GTIN in 14 digits, so a UPC-A ``012345678905``
    and the EAN-13 ``0012345678905`` are the same trade item."""
    return validate_gtin(gtin).zfill(14)


def gtin_equivalents(gtin: str) -> tuple[str, ...]:
    """Every spelling (8, 12, 13 or 14 digits) of the same trade item, for lookups and duplicates."""
    full = canonical_gtin(gtin)
    return tuple(full[14 - n :] for n in (8, 12, 13, 14) if full[: 14 - n].strip("0") == "")


def validate_sku(sku: str) -> str:
    if not sku:
        raise ValidationFailed("SKU is required", field="sku")
    if len(sku) > MAX_SKU_LENGTH or not _SKU.match(sku):
        raise ValidationFailed(
            f"SKU must be 1-{MAX_SKU_LENGTH} letters, digits or . _ / - (starting with a letter or digit)",
            field="sku",
            value=sku,
        )
    return sku


def _validate_text(value: str, field: str, max_length: int, *, required: bool) -> str:
    if required and not value.strip():
        raise ValidationFailed(f"{field} is required", field=field)
    if value != value.strip():
        raise ValidationFailed(f"{field} must not start or end with spaces", field=field)
    if any(unicodedata.category(ch) in _INVISIBLE for ch in value):
        raise ValidationFailed(f"{field} must not contain line breaks or control characters", field=field)
    if len(value) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters", field=field)
    return value


def validate_name(name: str) -> str:
    return _validate_text(name, "name", MAX_NAME_LENGTH, required=True)


def validate_brand(brand: str) -> str:
    """Brand may be empty: loose fruit and veg have none."""
    return _validate_text(brand, "brand", MAX_BRAND_LENGTH, required=False)


def validate_category(category: str) -> str:
    return _validate_text(category, "category", MAX_CATEGORY_LENGTH, required=True)


def validate_unit_weight_g(grams: int) -> int:
    if isinstance(grams, bool) or not isinstance(grams, int) or not 0 < grams <= MAX_UNIT_WEIGHT_G:
        raise ValidationFailed(
            f"unit weight must be a whole number of grams from 1 to {MAX_UNIT_WEIGHT_G}", field="unit_weight_g"
        )
    return grams


def validate_price_minor(price_minor: int) -> int:
    if isinstance(price_minor, bool) or not isinstance(price_minor, int) or not 0 < price_minor <= MAX_PRICE_MINOR:
        raise ValidationFailed(
            f"price must be a whole number of minor units from 1 to {MAX_PRICE_MINOR} (e.g. 125 for 1.25)",
            field="price_minor",
        )
    return price_minor


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
        validate_sku(self.sku)
        validate_gtin(self.gtin)
        validate_name(self.name)
        validate_brand(self.brand)
        validate_category(self.category)
        validate_unit_weight_g(self.unit_weight_g)
        # Enums arrive as strings from storage and APIs; a bad value must be a 422, not a 500.
        try:
            SoldBy(self.sold_by)
        except ValueError as exc:
            raise ValidationFailed("sold_by must be 'each' or 'weight'", field="sold_by") from exc
        try:
            TemperatureZone(self.temperature_zone)
        except ValueError as exc:
            raise ValidationFailed(
                "temperature_zone must be 'ambient', 'chilled' or 'frozen'", field="temperature_zone"
            ) from exc

    @classmethod
    def loaded(
        cls,
        *,
        id: str,
        tenant_id: str,
        sku: str,
        gtin: str,
        name: str,
        brand: str,
        category: str,
        sold_by: str,
        unit_weight_g: int,
        temperature_zone: str,
    ) -> Product:
        """A product read back from storage. Every stored product was validated when it was
        written, so the checks above (GTIN check digit, text scans) are not run again: a hot read
        (carts, checkout, picking) loads many of them per call."""
        product = object.__new__(cls)
        for field, value in (
            ("id", id),
            ("tenant_id", tenant_id),
            ("sku", sku),
            ("gtin", gtin),
            ("name", name),
            ("brand", brand),
            ("category", category),
            ("sold_by", SoldBy(sold_by)),
            ("unit_weight_g", unit_weight_g),
            ("temperature_zone", TemperatureZone(temperature_zone)),
        ):
            object.__setattr__(product, field, value)
        return product


@dataclass(frozen=True, slots=True, order=True)
class ShelfLocation:
    """Where a product sits; ordering by (aisle, bay, shelf) is the store's walk order."""

    aisle: int
    bay: int
    shelf: int

    def __post_init__(self) -> None:
        for field in ("aisle", "bay", "shelf"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LOCATION_NUMBER:
                raise ValidationFailed(f"{field} must be a whole number from 0 to {MAX_LOCATION_NUMBER}", field=field)


@dataclass(frozen=True, slots=True)
class PricedProduct:
    product: Product
    price: Money  # per unit for SoldBy.EACH, per kilogram for SoldBy.WEIGHT


_STOP_WORDS = frozenset({"the", "and", "with", "of", "in", "a", "finest", "value", "organic"})


def _name_words(name: str) -> frozenset[str]:
    """Words that say what a product is (not its size or its brand's adjectives)."""
    words = (w.strip(".,()&-").lower() for w in name.split())
    return frozenset(w for w in words if len(w) > 2 and not any(ch.isdigit() for ch in w) and w not in _STOP_WORDS)


def rank_substitutes(
    original: Product,
    original_price: Money,
    candidates: Iterable[PricedProduct],
    limit: int,
    price_band_percent: int = 100,
) -> list[PricedProduct]:
    """Products a picker may offer instead of ``original``, best first.

    Eligible: same category and same ``sold_by`` (a per-kg price only compares with a per-kg price),
    priced in the same currency within ``price_band_percent`` of the original, not the original
    itself. Ranked by how much of the original's name they share (crème fraîche for crème fraîche
    before rice pudding), then by how close the price is; at equal distance the cheaper one first
    (the shopper is never charged more by a tie), then by name and id so the order is stable.
    """
    if limit < 1:
        raise ValidationFailed("limit must be at least 1", field="limit")
    band = original_price.amount * price_band_percent
    wanted = _name_words(original.name) - _name_words(original.brand)
    eligible = [
        c
        for c in candidates
        if c.product.id != original.id
        and c.product.category == original.category
        and c.product.sold_by == original.sold_by
        and c.price.currency == original_price.currency
        and abs(c.price.amount - original_price.amount) * 100 <= band
    ]
    eligible.sort(
        key=lambda c: (
            -len(wanted & (_name_words(c.product.name) - _name_words(c.product.brand))),
            abs(c.price.amount - original_price.amount),
            c.price.amount,
            c.product.name,
            c.product.id,
        )
    )
    return eligible[:limit]
