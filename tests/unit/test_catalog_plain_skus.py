"""Plain SKUs (a code, every other field at its default) are made without `Sku.__init__` when a
catalog file is parsed (`connectors.catalog_file`): they must be the SKUs `__init__` makes."""

from __future__ import annotations

import json
import pickle
from dataclasses import fields

from connectors.catalog_file import PLAIN_UNITS, CatalogFile, _plain_sku, parse_catalog
from state.catalog import Sku


def test_a_plain_sku_is_the_sku_its_constructor_makes() -> None:
    made = _plain_sku("RETRO-CLOCK")
    constructed = Sku("RETRO-CLOCK", units=PLAIN_UNITS)

    assert made == constructed
    assert repr(made) == repr(constructed)
    assert {f.name: getattr(made, f.name) for f in fields(Sku)} == {
        f.name: getattr(constructed, f.name) for f in fields(Sku)
    }
    assert pickle.loads(pickle.dumps(made)) == constructed


def test_a_catalog_of_codes_alone_is_the_catalog_the_models_build() -> None:
    raw = json.dumps(
        {
            "skus": [{"code": "RETRO-CLOCK"}, {"code": "TEAL-KETTLE"}, {"code": "PAPER-BIRDIE"}],
            "locations": ["LON/A/01/01/1/PICK"],
            "channels": [{"code": "web"}],
        }
    ).encode()

    catalog = parse_catalog(raw)

    assert catalog == CatalogFile.model_validate_json(raw).to_catalog()
    assert [sku.code for sku in catalog.skus.values()] == [
        "RETRO-CLOCK",
        "TEAL-KETTLE",
        "PAPER-BIRDIE",
    ]
