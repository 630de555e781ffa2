"""The sequenced log's records: what the sequencer writes, the fold reads back as the same event.

The log is written only by skuflow's sequencer, but it is still read with the full validation of
the stream topics (`state.intake.decode`): measured, pydantic's validation of a log record costs
what `json.loads` of it costs (~3 µs), so trusting the record would save nothing, and a corrupt
record must stay a dead letter, not a crash.
"""

from __future__ import annotations

import json
import typing
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from stock_factories import (
    CLOCK_GTIN,
    LON_A,
    adjusted,
    asn_received,
    cancelled,
    counted,
    meta,
    ordered,
    packed,
    picked,
    po_placed,
    put_away,
    received,
    reservation_expired,
    shipped,
    status_changed,
    transfer_received,
    transfer_shipped,
)

from dataflows.inventory import route, to_log_message
from state.catalog import Catalog
from state.events import Event, ItemScanned, RfidObserved
from state.intake import DeadLetter, DeadLetterReason, RawEvent

CLOCK = "RETRO-CLOCK"
EVENT_TYPES = typing.get_args(typing.get_args(Event)[0])
RECEIVED_AT = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
LONDON_SUMMER = timezone(timedelta(hours=1))

ONE_OF_EACH: list[Event] = [
    ItemScanned(**meta(), barcode=f"(01){CLOCK_GTIN}(10)LOT9", location=LON_A, device="RF-GUN-7"),
    RfidObserved(**meta(), epc="3074257BF7194E4000001A85", reader="DOCK-DOOR-3", zone="LON/A"),
    received(CLOCK, 3, lot="L1", expiry=date(2026, 1, 31), unit="case", po="PO-7"),
    put_away(CLOCK, 1, src="a", dst="b"),
    picked("O", CLOCK, 1),
    packed("O", CLOCK, 1),
    shipped("O", CLOCK, 1),
    transfer_shipped("T", CLOCK, 1),
    transfer_received("T", CLOCK, 1),
    adjusted(CLOCK, 1, "lost"),
    counted(CLOCK, 1),
    status_changed(CLOCK, 1, "hold"),
    ordered("O", (CLOCK, 2)).model_copy(
        update={"occurred_at": datetime(2011, 6, 1, 12, 5, tzinfo=LONDON_SUMMER)}
    ),
    cancelled("O", CLOCK),
    reservation_expired("O", CLOCK),
    po_placed("PO", CLOCK, 1),
    asn_received("ASN", CLOCK, 1),
]


def read_back(sku: str, payload: bytes, catalog: Catalog) -> list[object]:
    """What the fold's intake makes of a log record (a keyed RawEvent from the log topic)."""
    return list(route(catalog, RawEvent(payload, "skuflow.log/0/17", RECEIVED_AT, key=sku)))


def test_there_is_one_event_of_every_type_to_round_trip() -> None:
    assert {type(event) for event in ONE_OF_EACH} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e.type)
def test_a_log_record_reads_back_as_the_event_the_sequencer_wrote(
    catalog: Catalog, event: Event
) -> None:
    message = to_log_message((CLOCK, (CLOCK, event)))
    assert message.key == CLOCK.encode()
    assert message.value is not None

    [(sku, (key, decoded))] = read_back(CLOCK, message.value, catalog)  # type: ignore[misc]

    assert (sku, key) == (CLOCK, CLOCK)
    assert decoded == event
    assert type(decoded) is type(event)
    assert decoded.occurred_at.utcoffset() == event.occurred_at.utcoffset()


def test_a_truncated_log_record_is_a_dead_letter_that_says_it_is_not_json(
    catalog: Catalog,
) -> None:
    payload = to_log_message((CLOCK, (CLOCK, picked("O", CLOCK, 1)))).value
    assert payload is not None

    [dead] = read_back(CLOCK, payload[:-7], catalog)

    assert isinstance(dead, DeadLetter)
    assert dead.code == DeadLetterReason.NOT_JSON
    assert dead.origin == "skuflow.log/0/17"
    assert dead.payload == payload[:-7]
    assert dead.reason.startswith("payload: Invalid JSON: EOF while parsing")


def test_a_log_record_that_breaks_a_rule_is_a_dead_letter_naming_the_field(
    catalog: Catalog,
) -> None:
    written = json.loads(to_log_message((CLOCK, (CLOCK, picked("O", CLOCK, 1)))).value or b"")
    tampered = json.dumps({**written, "quantity": -4}).encode()

    [dead] = read_back(CLOCK, tampered, catalog)

    assert isinstance(dead, DeadLetter)
    assert dead.code == DeadLetterReason.INVALID_EVENT
    assert dead.reason.startswith("Picked.quantity:")


def test_a_log_record_of_an_unknown_type_is_a_dead_letter(catalog: Catalog) -> None:
    written = json.loads(to_log_message((CLOCK, (CLOCK, picked("O", CLOCK, 1)))).value or b"")

    [dead] = read_back(CLOCK, json.dumps({**written, "type": "Teleported"}).encode(), catalog)

    assert isinstance(dead, DeadLetter)
    assert dead.code == DeadLetterReason.INVALID_EVENT
    assert "Teleported" in dead.reason
