"""The live view's and the stock-changes topic's JSON text does not depend on the encoder."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime

import pytest

from connectors.compact_json import compact_json, compact_json_bytes
from connectors.kafka.changes import view_json
from state.atp import AtpReport
from state.buckets import Quantities
from state.views import PositionView, SkuView


def standard(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize(
    "value",
    [
        ["RETRO-CLOCK", {"LON": 12, "MAN": -3}, [["LON/A/01/01/1/PICK", "", 5, 0, 0, 0, 0]]],
        {"sku": "CAFÉ-MUG", "note": "naïve €5 😀"},  # non-ASCII: escaped, as json.dumps does
        ["DEL\x7f", "tab\t", "nul\x00", 'quote"', "back\\slash", "slash/", "\u2028"],
        ["lone \ud800 surrogate"],  # orjson refuses it: the standard encoder writes it
        [10**12, -(10**12), 2**70, True, None],  # past 64 bits: orjson refuses, json writes
        {1: "an int key"},  # orjson refuses non-string keys; json writes "1"
    ],
)
def test_the_text_is_json_dumps_compact_text(value: object) -> None:
    assert compact_json(value) == standard(value)
    assert compact_json_bytes(value) == standard(value).encode()


def test_random_strings_encode_as_the_standard_encoder_does() -> None:
    rnd = random.Random(9)
    alphabet = [chr(code) for code in range(0x250)] + ["€", "😀", "\u2028", "\ud7ff"]
    for _ in range(5_000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
        value = [text, {text: rnd.randint(-(10**12), 10**12)}]
        assert compact_json(value) == standard(value)


def as_it_was(view: SkuView) -> bytes:
    """The stock-changes message as session 9 wrote it (the standard encoder, `as_dict`), with
    the view's version since session 12."""
    document = {
        "sku": view.sku,
        "as_of": view.as_of.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        "last_event_id": view.last_event_id,
        "version": view.version,
        "positions": [
            {"location": p.location, "lot": p.lot, **p.quantities.as_dict()} for p in view.positions
        ],
        "in_transit": view.in_transit,
        "on_order": view.on_order,
        "atp": {
            "network": view.atp.network,
            "sites": dict(view.atp.sites),
            "channels": dict(view.atp.channels),
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


@pytest.mark.parametrize("sku", ["RETRO-CLOCK", "CAFÉ-MUG"])
def test_a_stock_change_message_is_the_text_it_always_was(sku: str) -> None:
    as_of = date(2011, 1, 4)
    view = SkuView(
        sku=sku,
        as_of=as_of,
        updated_at=datetime(2011, 1, 4, 9, 30, tzinfo=UTC),
        last_event_id="rcpt-7",
        positions=(
            PositionView("LON/A/01/01/1/PICK", "", Quantities(12, 3, 1, 0, 2, 0, 0)),
            PositionView("MAN/B/02/01/1/BULK", "LOT-9", Quantities(5, 0, 0, 1, 0, 4, 6)),
        ),
        in_transit=4,
        on_order=6,
        atp=AtpReport(sku, as_of, {"LON": 9, "MAN": 5}, 14, {"web": 14}),
    )
    assert view_json(view) == as_it_was(view)
