"""The sequencer's log messages: one pass from a batch of stream events to the log's messages."""

from __future__ import annotations

from datetime import timedelta

from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.testing import TestingSink, TestingSource, run_main

from dataflows.inventory import (
    LogMessage,
    _log_messages_batch,
    build_sequencer_flow,
)
from state.catalog import Catalog, Channel, Sku
from state.events import Event, ReceiptLine, ReceiptPosted, parse_event
from state.intake import DeadLetter, RawEvent
from tests.flows.test_routing_flow import CLOCK, KETTLE, T0, order

MAN = "MAN/A/01/01/1/PICK"


def catalog() -> Catalog:
    return Catalog.build(skus=[Sku(CLOCK), Sku(KETTLE)], locations=[MAN], channels=[Channel("web")])


def receipt(n: int, *lines: tuple[str, int]) -> ReceiptPosted:
    return ReceiptPosted(
        event_id=f"rcpt-{n}",
        occurred_at=T0 + timedelta(minutes=n),
        source="test",
        location=MAN,
        lines=tuple(ReceiptLine(sku=sku, quantity=q) for sku, q in lines),
    )


def raw(event: Event, n: int = 0) -> RawEvent:
    # Spaces a producer might send: the bytes, not a re-encoding, must reach the log.
    return RawEvent(event.model_dump_json(indent=1).encode(), f"receipts/0/{n}", T0)


def test_a_one_sku_event_goes_into_the_log_as_the_bytes_it_came_in() -> None:
    came = raw(receipt(1, (CLOCK, 5)))

    [message] = _log_messages_batch(catalog(), None, None, [came])

    assert isinstance(message, KafkaSinkMessage)
    assert (message.key, message.value) == (CLOCK.encode(), came.payload)


def test_a_two_sku_receipt_goes_into_the_log_as_each_skus_part() -> None:
    event = receipt(2, (CLOCK, 5), (KETTLE, 3))

    messages = _log_messages_batch(catalog(), None, None, [raw(event)])

    parts = {
        m.key: parse_event(m.value or b"") for m in messages if isinstance(m, KafkaSinkMessage)
    }
    assert parts == {
        CLOCK.encode(): event.model_copy(update={"lines": (ReceiptLine(sku=CLOCK, quantity=5),)}),
        KETTLE.encode(): event.model_copy(update={"lines": (ReceiptLine(sku=KETTLE, quantity=3),)}),
    }


def test_bad_input_comes_out_of_the_sequencer_as_dead_letters_after_the_log_messages() -> None:
    broken = RawEvent(b"{not json", "receipts/0/9", T0)
    invalid = RawEvent(b'{"type": "ReceiptPosted"}', "receipts/0/10", T0)
    good = raw(receipt(4, (KETTLE, 1)), 11)

    items = _log_messages_batch(catalog(), None, None, [broken, invalid, good])

    assert [type(item) for item in items] == [KafkaSinkMessage, DeadLetter, DeadLetter]
    assert [item.origin for item in items if isinstance(item, DeadLetter)] == [
        "receipts/0/9",
        "receipts/0/10",
    ]


def test_the_sequencer_flow_puts_one_sku_events_into_the_log_unchanged() -> None:
    log: list[LogMessage] = []
    dead: list[DeadLetter] = []
    came = [
        raw(receipt(7, (CLOCK, 1)), 1),
        RawEvent(b"[]", "receipts/0/2", T0),
        raw(order(8, (KETTLE, 1)), 3),
    ]

    run_main(
        build_sequencer_flow(TestingSource(came), TestingSink(log), [TestingSink(dead)], catalog())
    )

    assert [(m.key, m.value) for m in log] == [
        (CLOCK.encode(), came[0].payload),
        (KETTLE.encode(), came[2].payload),
    ]
    assert [d.origin for d in dead] == ["receipts/0/2"]
