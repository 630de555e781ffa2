"""The edges of the core: bytes in (intake), ledger entries and live views out."""

from __future__ import annotations

import json
import re

from stock_factories import LON_A, MAN_A, T0, ordered, received, run

from state.apply import apply
from state.buckets import Quantities
from state.catalog import Catalog
from state.intake import (
    KEPT_PAYLOAD_BYTES,
    MAX_EVENT_BYTES,
    DeadLetter,
    DeadLetterReason,
    RawEvent,
    decode,
)
from state.ledger import entries_of
from state.views import PositionView, view_of

CLOCK = "RETRO-CLOCK"


def raw(payload: bytes) -> RawEvent:
    return RawEvent(payload=payload, origin="floor-events/0@42", received_at=T0)


def test_valid_bytes_become_an_event() -> None:
    event = received(CLOCK, 3)

    assert decode(raw(event.model_dump_json().encode())) == event


def test_bytes_that_are_not_json_become_a_dead_letter() -> None:
    letter = decode(raw(b"{not json"))

    assert isinstance(letter, DeadLetter)
    assert letter.code == DeadLetterReason.NOT_JSON
    assert (letter.payload, letter.origin) == (b"{not json", "floor-events/0@42")


def test_an_invalid_event_becomes_a_dead_letter_that_says_why() -> None:
    data = json.loads(received(CLOCK, 3).model_dump_json())
    data["lines"][0]["quantity"] = -3

    letter = decode(raw(json.dumps(data).encode()))

    assert isinstance(letter, DeadLetter)
    assert letter.code == DeadLetterReason.INVALID_EVENT
    assert "lines.0.quantity" in letter.reason


def test_a_long_list_of_errors_is_summarised() -> None:
    data = json.loads(received(CLOCK, 3).model_dump_json())
    data["lines"] = [{"sku": CLOCK, "quantity": -1}] * 8

    letter = decode(raw(json.dumps(data).encode()))

    assert isinstance(letter, DeadLetter)
    assert letter.reason.count("should be greater than 0") == 5
    assert re.search(r"; and \d+ more$", letter.reason)


def test_an_oversized_payload_is_refused_unread_and_kept_in_part() -> None:
    letter = decode(raw(b" " * (MAX_EVENT_BYTES + 1)))

    assert isinstance(letter, DeadLetter)
    assert letter.code == DeadLetterReason.OVERSIZED
    assert len(letter.payload) == KEPT_PAYLOAD_BYTES
    assert letter.payload_size == MAX_EVENT_BYTES + 1


def test_ledger_entries_number_the_outputs_of_one_event(catalog: Catalog) -> None:
    event = received(CLOCK, 3)
    _, outputs = apply(None, event, catalog)

    entries = entries_of(event, CLOCK, outputs)

    assert [e.seq for e in entries] == list(range(len(outputs)))
    assert [e.kind for e in entries] == ["Movement", "StockChanged"]
    assert {(e.event_id, e.sku, e.event_type) for e in entries} == {
        (event.event_id, CLOCK, "ReceiptPosted")
    }


def test_a_view_is_an_absolute_snapshot_with_every_atp_figure(catalog: Catalog) -> None:
    events = [received(CLOCK, 10), received(CLOCK, 4, at=MAN_A), ordered("ORD-1", (CLOCK, 10))]
    stock, _ = run(catalog, events)

    view = view_of(stock, catalog, T0, "ev-last")

    assert view.positions == (
        PositionView(LON_A, "", Quantities(allocated=10)),
        PositionView(MAN_A, "", Quantities(available=4)),
    )
    assert (view.atp.network, view.last_event_id, view.as_of) == (4, "ev-last", T0.date())
