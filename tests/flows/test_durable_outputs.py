"""Every output of the production flows holds back Bytewax's recovery frontier.

A stateless sink's writes are not part of what Bytewax waits for before it commits an epoch's
snapshots, so a SIGKILL between the two recovered the state and lost the output (the SIGKILL
test caught a ledger row lost that way). These tests pin the fix: every output step of every
production flow is a stateful (`FixedPartitionedSink`) sink, and a durable sink writes every item
through its wrapped sink, one SKU's items on one partition, in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.outputs import FixedPartitionedSink
from bytewax.testing import TestingSink, TestingSource, run_main

from connectors.kafka.topics import Topics
from dataflows.durable import DurableSink, durable, output, routing_key
from dataflows.production import Wiring, log_fold_flow, sequenced_flow, sequencer_flow
from state.catalog import Catalog

WIRING = Wiring(
    brokers="127.0.0.1:1",  # nothing connects while a flow is only built
    topics=Topics("durable"),
    redis_url="redis://127.0.0.1:1/0",
    redis_prefix="durable",
    postgres_dsn="postgresql://nobody@127.0.0.1:1/none",
    postgres_schema="durable",
)


def sinks_of(step: Any) -> Iterator[tuple[str, Any]]:
    """(step id, sink) of every output step in a flow, however deeply nested."""
    sink = getattr(step, "sink", None)
    if sink is not None:
        yield step.step_id, sink
    for sub in getattr(step, "substeps", []):
        yield from sinks_of(sub)


def test_every_output_of_the_production_flows_is_written_before_recovery_moves_on() -> None:
    catalog = Catalog.build()
    flows: list[Dataflow] = [
        sequenced_flow(WIRING, catalog),
        sequencer_flow(WIRING, catalog),
        log_fold_flow(WIRING, catalog),
    ]
    outputs = [found for flow in flows for found in sinks_of(flow)]
    assert len(outputs) >= 8
    stateless = [step for step, sink in outputs if not isinstance(sink, FixedPartitionedSink)]
    assert stateless == []


def test_a_durable_sink_writes_every_item_in_order_per_key() -> None:
    items = [("A", 1), ("B", 1), ("A", 2), ("C", 1), ("A", 3), ("B", 2)]
    written: list[tuple[str, int]] = []
    flow = Dataflow("durable_order")
    stream = op.input("in", flow, TestingSource(items))
    output("out", stream, TestingSink(written), parts=3, key=lambda item: item[0])
    run_main(flow)
    assert sorted(written) == sorted(items)
    for key in "ABC":
        assert [n for k, n in written if k == key] == sorted(n for k, n in items if k == key)


def test_a_durable_sink_keys_outputs_by_sku_then_order() -> None:
    class Entry:
        sku = "85123A"

    class Decision:
        order_id = "536365"

    assert routing_key(Entry()) == "85123A"
    assert routing_key(Decision()) == "536365"
    assert routing_key(object()) == ""


def test_a_sink_that_is_already_stateful_is_not_wrapped_twice() -> None:
    once = durable(TestingSink([]))
    assert isinstance(once, DurableSink)
    assert durable(once) is once
