"""The event vocabulary: JSON in and out, validation at the edge, JSON Schema, keying."""

from __future__ import annotations

import json
import typing

import pytest
from pydantic import ValidationError
from stock_factories import (
    adjusted,
    asn_received,
    cancelled,
    counted,
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

from state.catalog import Catalog
from state.events import (
    Event,
    ReceiptPosted,
    event_json_schema,
    parse_event,
    skus_of,
    try_parse_event,
)

CLOCK = "RETRO-CLOCK"
EVENT_TYPES = typing.get_args(typing.get_args(Event)[0])


def receipt_json(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "type": "ReceiptPosted",
        "event_id": "rcpt-1",
        "occurred_at": "2025-03-01T09:00:00+00:00",
        "source": "wms",
        "location": "LON/A/01/01/1/A",
        "lines": [{"sku": CLOCK, "quantity": 3}],
    }
    return {**data, **overrides}


def test_an_event_round_trips_through_json() -> None:
    event = ordered("ORD-1", (CLOCK, 2))

    assert parse_event(event.model_dump_json()) == event
    assert parse_event(event.model_dump_json().encode()) == event
    assert parse_event(event.model_dump(mode="json")) == event


def test_an_event_names_its_type_and_schema_version() -> None:
    data = json.loads(received(CLOCK, 1).model_dump_json())

    assert (data["type"], data["schema_version"]) == ("ReceiptPosted", 1)


def test_a_producers_dict_is_parsed_into_the_right_event() -> None:
    event = parse_event(receipt_json())

    assert isinstance(event, ReceiptPosted)
    assert event.lines[0].quantity == 3


@pytest.mark.parametrize(
    "overrides",
    [
        {"lines": [{"sku": CLOCK, "quantity": -3}]},
        {"lines": [{"sku": CLOCK, "quantity": 0}]},
        {"lines": []},
        {"occurred_at": "2025-03-01T09:00:00"},  # no time zone
        {"event_id": ""},
        {"colour": "red"},
        {"type": "TeleportedIn"},
        {"schema_version": 2},
        # what the ledger could not store: past bigint, a NUL in text, beyond its partitions
        {"lines": [{"sku": CLOCK, "quantity": 10**30}]},
        {"source": "dock\u0000scanner"},
        {"occurred_at": "9999-12-31T23:59:59Z"},
        {"occurred_at": 7},  # a bare number is not an event time
    ],
)
def test_invalid_input_is_refused_at_the_edge(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_event(receipt_json(**overrides))


def test_try_parse_event_returns_the_reason_as_data() -> None:
    reason = try_parse_event(receipt_json(lines=[{"sku": CLOCK, "quantity": -3}]))

    assert isinstance(reason, str)
    assert "greater than 0" in reason
    assert isinstance(try_parse_event(receipt_json()), ReceiptPosted)


def test_events_are_frozen() -> None:
    event = received(CLOCK, 1)

    with pytest.raises(ValidationError):
        event.source = "someone else"  # type: ignore[misc]


def test_the_json_schema_covers_every_event_type_with_its_discriminator() -> None:
    schema = event_json_schema()

    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) == {t.__name__ for t in EVENT_TYPES}
    assert len(EVENT_TYPES) == 17
    json.dumps(schema)  # publishable as it is


def test_the_json_schema_requires_an_id_a_time_and_a_source() -> None:
    definitions = event_json_schema()["$defs"]

    for event_type in EVENT_TYPES:
        definition = definitions[event_type.__name__]
        assert {"event_id", "occurred_at", "source"} <= set(definition["required"])
        assert definition["additionalProperties"] is False


def test_the_json_schema_refuses_non_positive_quantities() -> None:
    line = event_json_schema()["$defs"]["ReceiptLine"]

    assert line["properties"]["quantity"]["exclusiveMinimum"] == 0


@pytest.mark.parametrize(
    "event",
    [
        put_away(CLOCK, 1, src="a", dst="b"),
        picked("O", CLOCK, 1),
        packed("O", CLOCK, 1),
        shipped("O", CLOCK, 1),
        transfer_shipped("T", CLOCK, 1),
        transfer_received("T", CLOCK, 1),
        adjusted(CLOCK, 1, "lost"),
        counted(CLOCK, 1),
        status_changed(CLOCK, 1, "hold"),
        reservation_expired("O", CLOCK),
        cancelled("O", CLOCK),
        po_placed("PO", CLOCK, 1),
        asn_received("ASN", CLOCK, 1),
        received(CLOCK, 1),
        ordered("O", (CLOCK, 1)),
    ],
    ids=lambda e: e.type,
)
def test_every_sku_scoped_event_says_which_sku_it_concerns(catalog: Catalog, event: Event) -> None:
    assert skus_of(event, catalog) == (CLOCK,)


def test_a_cancellation_of_a_kit_order_reaches_its_components(catalog: Catalog) -> None:
    assert skus_of(cancelled("O", "TEA-SET", CLOCK), catalog) == ("TEA-MUG", "TEA-POT", CLOCK)


def test_a_document_with_two_lines_of_one_sku_is_keyed_once(catalog: Catalog) -> None:
    assert skus_of(ordered("O", (CLOCK, 1), (CLOCK, 2)), catalog) == (CLOCK,)
