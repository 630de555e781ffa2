"""`parse_catalog`: a catalog file read fast builds the catalog the models build, and a bad file
is still refused with the field that is wrong."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from connectors.catalog_file import CatalogFile, parse_catalog
from state.catalog import Catalog, Channel, KitComponent, Sku
from state.units import UnitsOfMeasure

LOCATIONS = ["LON/A/01/01/1/PICK", "MAN/A/01/01/1/PICK"]


def document(*skus: object) -> bytes:
    return json.dumps(
        {"skus": list(skus), "locations": LOCATIONS, "channels": [{"code": "web"}]}
    ).encode()


def by_the_models(raw: bytes) -> Catalog:
    return CatalogFile.model_validate_json(raw).to_catalog()


def test_plain_and_detailed_skus_build_the_catalog_the_models_build() -> None:
    detailed = Sku(
        "TEAL-KETTLE",
        units=UnitsOfMeasure("each", {"case": 12}),
        gtins={"05012345678900": "case"},
        tracks_lot=True,
        safety_stock={"LON": 4},
        channel_buffers={"web": 1},
    )
    kit = Sku("GIFT-SET", components=(KitComponent("RETRO-CLOCK", 2),))
    catalog = Catalog.build(
        skus=[Sku("RETRO-CLOCK"), detailed, kit, Sku("PAPER-BIRDIE")],
        locations=LOCATIONS,
        channels=[Channel("web", priority=1)],
    )
    written = CatalogFile.from_catalog(catalog).model_dump_json().encode()  # defaults spelt out
    raw = document({"code": "RETRO-CLOCK"}, *json.loads(written)["skus"][1:])

    assert parse_catalog(written) == by_the_models(written) == catalog
    assert parse_catalog(raw) == catalog


@pytest.mark.parametrize(
    "bad_sku",
    [
        {"code": ""},
        {"code": "X" * 129},
        {"code": 42},
        {"code": "RETRO-CLOCK", "tracks_expiry": True},
        {"code": "RETRO-CLOCK", "colour": "teal"},
        {"code": "RETRO-CLOCK", "min_shelf_life_days": -1},
    ],
    ids=["empty", "too_long", "not_text", "expiry_without_lots", "unknown_field", "negative"],
)
def test_a_bad_sku_is_refused_as_the_models_refuse_it(bad_sku: dict[str, object]) -> None:
    raw = document({"code": "RETRO-CLOCK"}, bad_sku)

    with pytest.raises(ValueError, match=r"RETRO-CLOCK|skus") as refused:
        parse_catalog(raw)
    with pytest.raises(ValueError, match=r"RETRO-CLOCK|skus") as by_models:
        by_the_models(raw)
    assert str(refused.value) == str(by_models.value)


def test_zero_for_false_is_read_as_the_models_read_it() -> None:
    raw = document({"code": "RETRO-CLOCK", "tracks_lot": 0})

    assert parse_catalog(raw) == by_the_models(raw)


def test_a_document_without_a_list_of_skus_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="skus"):
        parse_catalog(json.dumps({"skus": {}, "locations": [], "channels": []}).encode())
