"""Parse and validate a catalog CSV file. Pure: no I/O; ``services.import_catalog_csv`` writes.

Columns (header row required, any order, names case-insensitive):
``sku,gtin,name,brand,category,sold_by,unit_weight_g,temperature_zone`` and, only when importing
for a store, the optional ``price_minor`` (integer minor units: per unit for ``sold_by=each``, per
kilogram for ``sold_by=weight``) and ``aisle,bay,shelf`` (all three or none). Blank lines are
skipped. Every problem is reported as (line, field, reason) with the file's physical line numbers,
the header being line 1.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from newretail.catalog.model import (
    ShelfLocation,
    SoldBy,
    TemperatureZone,
    canonical_gtin,
    validate_brand,
    validate_category,
    validate_gtin,
    validate_name,
    validate_price_minor,
    validate_sku,
    validate_unit_weight_g,
)
from newretail.core.errors import ValidationFailed

REQUIRED_COLUMNS = ("sku", "gtin", "name", "brand", "category", "sold_by", "unit_weight_g", "temperature_zone")
STORE_COLUMNS = ("price_minor", "aisle", "bay", "shelf")
LOCATION_COLUMNS = ("aisle", "bay", "shelf")
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
_WHOLE_NUMBER = re.compile(r"^[0-9]+$")


class ImportMode(StrEnum):
    CREATE = "create"  # every row is a new product; an SKU or GTIN already in the catalog is an error
    UPSERT = "upsert"  # a row whose SKU exists updates that product (its sold_by may not change)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    field: str
    reason: str

    def sentence(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


class CatalogImportRejected(ValidationFailed):
    """The file has bad rows; nothing was imported. ``details.errors`` lists every one."""

    code = "catalog_import_rejected"

    def __init__(self, errors: list[RowError]) -> None:
        ordered = sorted(errors, key=lambda e: (e.line, e.field))
        super().__init__(
            f"the file has {len(ordered)} problem(s); nothing was imported",
            errors=[{"line": e.line, "field": e.field, "reason": e.reason} for e in ordered],
        )
        self.errors = ordered


@dataclass(frozen=True, slots=True)
class CatalogRow:
    line: int
    sku: str
    gtin: str
    name: str
    brand: str
    category: str
    sold_by: SoldBy
    unit_weight_g: int
    temperature_zone: TemperatureZone
    price_minor: int | None
    location: ShelfLocation | None


def decode_csv(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it")
    try:
        return data.decode("utf-8-sig")  # spreadsheets often prepend a byte-order mark
    except UnicodeDecodeError as exc:
        raise CatalogImportRejected(
            [RowError(data[: exc.start].count(b"\n") + 1, "file", "the file is not UTF-8 text")]
        ) from exc


@dataclass(frozen=True, slots=True)
class RowKeys:
    """The valid SKU and GTIN of a data row, even when other fields are bad, so clashes with the
    catalog can be reported in the same pass as every other problem."""

    line: int
    sku: str | None
    gtin: str | None


@dataclass(frozen=True, slots=True)
class ParsedCatalog:
    rows: list[CatalogRow]  # rows without a problem of their own
    errors: list[RowError]
    keys: list[RowKeys]


def parse_catalog_csv(text: str, *, for_store: bool) -> ParsedCatalog:
    """Every well-formed row and every problem found; duplicates inside the file count as problems."""
    errors: list[RowError] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return ParsedCatalog([], [RowError(1, "file", f"not valid CSV: {exc}")], [])
    if header is None or not any(h.strip() for h in header):
        return ParsedCatalog([], [RowError(1, "header", "the file is empty; the first line must name the columns")], [])
    columns = [h.strip().lower() for h in header]
    errors.extend(_header_errors(columns))
    if errors:
        return ParsedCatalog([], errors, [])

    rows: list[CatalogRow] = []
    keys: list[RowKeys] = []
    first_line_of_sku: dict[str, int] = {}
    first_line_of_gtin: dict[str, int] = {}
    data_rows = 0
    previous_end = reader.line_num
    while True:
        line = previous_end + 1
        try:
            values = next(reader, None)
        except csv.Error as exc:
            errors.append(RowError(line, "file", f"not valid CSV: {exc}"))
            break
        previous_end = reader.line_num
        if values is None:
            break
        if not any(v.strip() for v in values):
            continue
        data_rows += 1
        if data_rows > MAX_IMPORT_ROWS:
            errors.append(RowError(line, "file", f"more than {MAX_IMPORT_ROWS} rows; split the file"))
            break
        if len(values) != len(columns):
            errors.append(RowError(line, "row", f"has {len(values)} fields but the header has {len(columns)}"))
            continue
        record = {column: value.strip() for column, value in zip(columns, values, strict=True)}
        row, row_errors = _parse_row(line, record, for_store=for_store)
        errors.extend(row_errors)
        sku = None if any(e.field == "sku" for e in row_errors) else record["sku"]
        gtin = None if any(e.field == "gtin" for e in row_errors) else record["gtin"]
        if sku is not None:
            if sku in first_line_of_sku:
                errors.append(RowError(line, "sku", f"duplicate of line {first_line_of_sku[sku]}"))
            else:
                first_line_of_sku[sku] = line
        if gtin is not None:
            same_item = canonical_gtin(gtin)
            if same_item in first_line_of_gtin:
                errors.append(RowError(line, "gtin", f"duplicate of line {first_line_of_gtin[same_item]}"))
            else:
                first_line_of_gtin[same_item] = line
        keys.append(RowKeys(line, sku, gtin))
        if row is not None:
            rows.append(row)
    if data_rows == 0 and not errors:
        errors.append(RowError(1, "file", "the file has a header but no rows"))
    return ParsedCatalog(rows, errors, keys)


def _header_errors(columns: list[str]) -> list[RowError]:
    errors: list[RowError] = []
    known = set(REQUIRED_COLUMNS) | set(STORE_COLUMNS)
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            errors.append(RowError(1, column or "header", "column appears twice"))
        seen.add(column)
        if column not in known:
            errors.append(RowError(1, column or "header", f"unknown column; expected {', '.join(sorted(known))}"))
    for column in REQUIRED_COLUMNS:
        if column not in seen:
            errors.append(RowError(1, column, "missing column"))
    present_location = [c for c in LOCATION_COLUMNS if c in seen]
    if present_location and len(present_location) != len(LOCATION_COLUMNS):
        errors.append(RowError(1, "aisle", "aisle, bay and shelf columns come together"))
    return errors


def _parse_row(line: int, record: dict[str, str], *, for_store: bool) -> tuple[CatalogRow | None, list[RowError]]:
    errors: list[RowError] = []

    def check(field: str, parse: Any) -> Any:
        try:
            return parse(record[field])
        except ValidationFailed as exc:
            errors.append(RowError(line, field, _with_value(exc.message, record[field])))
            return None

    sku = check("sku", validate_sku)
    gtin = check("gtin", validate_gtin)
    name = check("name", validate_name)
    brand = check("brand", validate_brand)
    category = check("category", validate_category)
    sold_by = check("sold_by", _sold_by)
    unit_weight_g = check("unit_weight_g", lambda raw: validate_unit_weight_g(_whole_number(raw, "unit_weight_g")))
    zone = check("temperature_zone", _temperature_zone)

    price_minor: int | None = None
    if record.get("price_minor"):
        if for_store:
            price_minor = check("price_minor", lambda raw: validate_price_minor(_whole_number(raw, "price_minor")))
        else:
            errors.append(RowError(line, "price_minor", "a price needs a store: import for a store to set prices"))

    location: ShelfLocation | None = None
    given = [c for c in LOCATION_COLUMNS if record.get(c)]
    if given and not for_store:
        errors.append(RowError(line, given[0], "a shelf location needs a store: import for a store to set it"))
    elif given and len(given) != len(LOCATION_COLUMNS):
        missing = [c for c in LOCATION_COLUMNS if c not in given]
        errors.append(RowError(line, missing[0], "aisle, bay and shelf are given together or not at all"))
    elif given:
        numbers = [check(c, lambda raw, c=c: _whole_number(raw, c)) for c in LOCATION_COLUMNS]
        if all(n is not None for n in numbers):
            try:
                location = ShelfLocation(*numbers)
            except ValidationFailed as exc:
                errors.append(RowError(line, str(exc.details.get("field", "aisle")), exc.message))

    if errors:
        return None, errors
    return (
        CatalogRow(
            line=line,
            sku=sku,
            gtin=gtin,
            name=name,
            brand=brand,
            category=category,
            sold_by=sold_by,
            unit_weight_g=unit_weight_g,
            temperature_zone=zone,
            price_minor=price_minor,
            location=location,
        ),
        [],
    )


def _whole_number(raw: str, field: str) -> int:
    if not _WHOLE_NUMBER.match(raw):
        hint = " of minor units, e.g. 125 for 1.25" if field == "price_minor" else ""
        raise ValidationFailed(f"must be a whole number{hint}", field=field)
    return int(raw)


def _sold_by(raw: str) -> SoldBy:
    try:
        return SoldBy(raw.lower())
    except ValueError as exc:
        raise ValidationFailed("must be 'each' or 'weight'", field="sold_by") from exc


def _temperature_zone(raw: str) -> TemperatureZone:
    try:
        return TemperatureZone(raw.lower())
    except ValueError as exc:
        raise ValidationFailed("must be 'ambient', 'chilled' or 'frozen'", field="temperature_zone") from exc


def _with_value(reason: str, raw: str) -> str:
    if not raw:
        return reason
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    return f"{reason} (got {shown!r})"
