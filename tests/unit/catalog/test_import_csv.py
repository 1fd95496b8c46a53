"""Parsing a catalog CSV: every problem is found and reported with its physical line number."""

from __future__ import annotations

import pytest

from newretail.catalog.import_csv import (
    CatalogImportRejected,
    RowError,
    decode_csv,
    parse_catalog_csv,
)
from newretail.catalog.model import ShelfLocation, SoldBy, TemperatureZone

HEADER = "sku,gtin,name,brand,category,sold_by,unit_weight_g,temperature_zone,price_minor,aisle,bay,shelf\n"
GOOD = "FRU-1,2100001000004,Loose Bananas,,Fruit,weight,120,ambient,99,1,1,1\n"


def _problems(text: str, *, for_store: bool = True) -> set[tuple[int, str]]:
    return {(e.line, e.field) for e in parse_catalog_csv(text, for_store=for_store).errors}


def test_a_good_file_parses_into_typed_rows() -> None:
    text = HEADER + GOOD + "DAI-1,4006381333931,Whole Milk 1 pint,Meadow Vale,Dairy & Eggs,EACH,590,Chilled,,,,\n"
    parsed = parse_catalog_csv(text, for_store=True)
    assert parsed.errors == []
    banana, milk = parsed.rows
    assert (banana.line, banana.sold_by, banana.price_minor, banana.location) == (
        2,
        SoldBy.WEIGHT,
        99,
        ShelfLocation(1, 1, 1),
    )
    assert (milk.line, milk.sold_by, milk.temperature_zone, milk.price_minor, milk.location) == (
        3,
        SoldBy.EACH,
        TemperatureZone.CHILLED,
        None,
        None,
    )


def test_every_bad_field_of_every_row_is_reported_with_its_line() -> None:
    text = (
        HEADER
        + GOOD
        + "FRU-2,2100001000005,Bad Check,,Fruit,weight,120,ambient,99,1,1,1\n"  # line 3: check digit
        + "FRU-3,2100003000002,,,Fruit,litre,1.5,warm,1.99,1,1,\n"  # line 4: five problems
        + "\n"  # line 5: blank, skipped
        + "FRU-1,2100004000001,Dup SKU,,Fruit,weight,170,ambient,250,1,1,2\n"  # line 6
        + "FRU-5,0002100001000004,Same item as line 2,,Fruit,weight,120,ambient,99,1,1,1\n"  # line 7
    )
    assert _problems(text) == {
        (3, "gtin"),
        (4, "name"),
        (4, "sold_by"),
        (4, "unit_weight_g"),
        (4, "temperature_zone"),
        (4, "price_minor"),
        (4, "shelf"),
        (6, "sku"),
        (7, "gtin"),
    }


def test_duplicates_name_the_first_line_and_gtin_spellings_of_one_item_collide() -> None:
    text = (
        HEADER
        + "A-1,036000291452,UPC item,,Tins & Jars,each,400,ambient,,,,\n"
        + "A-2,0036000291452,Same item as EAN-13,,Tins & Jars,each,400,ambient,,,,\n"
        + "A-1,4006381333931,Other,,Tins & Jars,each,400,ambient,,,,\n"
    )
    errors = parse_catalog_csv(text, for_store=False).errors
    assert RowError(3, "gtin", "duplicate of line 2") in errors
    assert RowError(4, "sku", "duplicate of line 2") in errors


def test_line_numbers_count_physical_lines_through_quoted_newlines() -> None:
    text = (
        HEADER
        + 'BAK-1,5000159484695,"Victoria Sponge\nwith jam",Millbrook,Bakery,each,360,ambient,250,3,1,1\n'
        + "BAK-2,5000159484696,Bad,Millbrook,Bakery,each,360,ambient,250,3,1,1\n"
    )
    assert _problems(text) == {(2, "name"), (4, "gtin")}  # the newline in a name is refused too


def test_header_problems_are_reported_on_line_one() -> None:
    text = "sku,gtin,name,name,category,sold_by,temperature_zone,aisel,aisle\n" + GOOD
    assert _problems(text) == {(1, "name"), (1, "aisel"), (1, "brand"), (1, "unit_weight_g"), (1, "aisle")}
    assert _problems("") == {(1, "header")}
    assert _problems(HEADER) == {(1, "file")}


def test_a_row_with_the_wrong_number_of_fields_is_one_clear_problem() -> None:
    parsed = parse_catalog_csv(HEADER + "FRU-1,2100001000004,Loose Bananas\n", for_store=True)
    assert parsed.errors == [RowError(2, "row", "has 3 fields but the header has 12")]


def test_prices_and_places_need_a_store() -> None:
    assert _problems(HEADER + GOOD, for_store=False) == {(2, "price_minor"), (2, "aisle")}
    only_products = HEADER + "FRU-1,2100001000004,Loose Bananas,,Fruit,weight,120,ambient,,,,\n"
    assert parse_catalog_csv(only_products, for_store=False).errors == []


def test_the_byte_order_mark_is_ignored_and_non_utf8_is_refused_with_its_line() -> None:
    assert decode_csv(b"\xef\xbb\xbf" + HEADER.encode()) == HEADER
    with pytest.raises(CatalogImportRejected) as caught:
        decode_csv((HEADER + GOOD).encode() + "DAI-1,Cr\u00e8me".encode("latin-1"))
    assert caught.value.errors == [RowError(3, "file", "the file is not UTF-8 text")]
    assert caught.value.details["errors"] == [{"line": 3, "field": "file", "reason": "the file is not UTF-8 text"}]
