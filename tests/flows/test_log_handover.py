"""The log's handover: the fold takes what its process's sequencer just decoded, and gets what
decoding the message's bytes would give."""

from __future__ import annotations

import pytest
from bytewax.connectors.kafka import KafkaSinkMessage

from connectors.inprocess import raw_event
from connectors.replay import online_retail
from connectors.routing_config import routing_policy_for
from connectors.settings import Settings
from dataflows.inventory import LogHandover, _log_messages_batch, route
from dataflows.log_handover import Handover
from dataflows.routing import PlanRecord, Routing, decode_plan, is_plan_key
from state.intake import RawEvent, decode
from tests.flows.test_routing_flow import CLOCK, KETTLE, T0
from tests.flows.test_sequencer_log_messages import catalog, raw, receipt


def test_a_value_left_is_taken_once() -> None:
    handover: Handover[str] = Handover()
    handover.leave(b"message", "value")

    assert handover.take(b"message") == "value"
    assert handover.take(b"message") is None


def test_at_most_the_limit_is_held_and_the_oldest_goes_first() -> None:
    handover: Handover[int] = Handover(limit=2)
    for n in range(3):
        handover.leave(f"m{n}".encode(), n)

    assert len(handover) == 2
    assert (handover.take(b"m0"), handover.take(b"m1"), handover.take(b"m2")) == (None, 1, 2)


def test_the_fold_takes_the_sequencers_part_instead_of_decoding_its_message() -> None:
    handover: LogHandover = Handover()
    [message] = _log_messages_batch(catalog(), None, handover, [raw(receipt(1, (CLOCK, 5)))])
    assert isinstance(message, KafkaSinkMessage)
    assert message.value is not None
    logged = RawEvent(message.value, "log/0/0", T0, key=CLOCK)
    assert len(handover) == 1

    [(sku, (_, taken))] = route(catalog(), logged, handover=handover)  # type: ignore[misc]

    assert sku == CLOCK
    assert len(handover) == 0
    [(_, (_, decoded))] = route(catalog(), logged, handover=handover)  # type: ignore[misc]
    assert decoded == taken  # nothing left the second time: decoded from the bytes
    assert decoded is not taken


def test_each_skus_part_is_left_under_its_own_message() -> None:
    handover: LogHandover = Handover()
    messages = _log_messages_batch(
        catalog(), None, handover, [raw(receipt(2, (CLOCK, 5), (KETTLE, 3)))]
    )

    assert len(handover) == 2
    for m in messages:
        assert isinstance(m, KafkaSinkMessage)
        assert m.value is not None
        assert handover.take(m.value) == decode(RawEvent(m.value, "log/0/1", T0))


def test_on_online_retail_with_routing_every_value_left_is_what_its_message_decodes_to() -> None:
    try:
        path = online_retail.data_file(Settings().data_dir)
    except FileNotFoundError as exc:
        pytest.fail(f"the Online Retail data is missing: {exc}", pytrace=False)
    made = online_retail.build_catalog(path)
    raws = [
        raw_event(event, f"test/{n}")
        for n, event in enumerate(online_retail.replay(path, limit_rows=3000))
    ]
    routing = Routing.for_catalog(made, routing_policy_for("online-retail", made))
    handover: LogHandover = Handover(limit=1_000_000)

    messages = [
        m
        for batch in range(0, len(raws), 200)
        for m in _log_messages_batch(made, routing, handover, raws[batch : batch + 200])
        if isinstance(m, KafkaSinkMessage)
    ]

    plans = parts = 0
    for m in messages:
        assert m.key is not None
        assert m.value is not None
        logged = RawEvent(m.value, "log/0/0", T0, key=m.key.decode())
        left = handover.take(m.value)
        if is_plan_key(logged.key):
            assert isinstance(left, PlanRecord)
            assert left == decode_plan(logged)
            plans += 1
        else:
            assert left == decode(logged)
            parts += 1
    assert plans > 100
    assert parts > 2000
    assert len(handover) == 0
