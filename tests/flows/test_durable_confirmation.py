"""A durable sink confirms a `ConfirmedPerEpoch` partition's writes in every epoch's snapshot.

Kafka and the PostgreSQL writers send a batch without waiting for it to be acknowledged, and
wait once an epoch instead: these tests pin that the wait happens before every snapshot (so
recovery never resumes past an unconfirmed write) and that a plain partition is written as
before.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import TestingSource, run_main

from dataflows import durable


class _Recording(StatelessSinkPartition[int]):
    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.calls = calls

    def write_batch(self, items: list[int]) -> None:
        self.calls.append(("write_batch", list(items)))

    def close(self) -> None:
        self.calls.append(("close", None))


class _Confirmed(_Recording):
    def send(self, items: list[int]) -> None:
        self.calls.append(("send", list(items)))

    def confirm(self) -> None:
        self.calls.append(("confirm", None))


class _Sink(DynamicSink[int]):
    def __init__(self, partition: _Recording) -> None:
        self.partition = partition

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Recording:
        return self.partition


def _run(partition: _Recording) -> None:
    flow = Dataflow("durable_confirmation")
    numbers = op.input("in", flow, TestingSource(list(range(5)), batch_size=2))
    durable.output("out", numbers, _Sink(partition))
    run_main(flow, epoch_interval=timedelta(0))  # one epoch a batch


def test_every_batch_sent_is_confirmed_before_its_epochs_snapshot() -> None:
    calls: list[tuple[str, Any]] = []
    _run(_Confirmed(calls))
    assert calls == [
        ("send", [0, 1]),
        ("confirm", None),
        ("send", [2, 3]),
        ("confirm", None),
        ("send", [4]),
        ("confirm", None),
        ("close", None),
    ]


def test_a_partition_that_cannot_confirm_later_is_written_batch_by_batch() -> None:
    calls: list[tuple[str, Any]] = []
    _run(_Recording(calls))
    assert calls == [
        ("write_batch", [0, 1]),
        ("write_batch", [2, 3]),
        ("write_batch", [4]),
        ("close", None),
    ]
