"""A carrying durable sink: an epoch's end does not wait for its writes, and loses none of them.

The ledger and the Redis live view write on threads of their own; at an epoch's end their
snapshot is the items still unwritten, and a flow resumed from that snapshot writes them first.
These tests pin that through Bytewax's own recovery (a run that aborts with nothing written
resumes and writes everything, the carried items first), the writer's list of unwritten items,
and the per-batch grouping that replaced one key and partition call per item.
"""

from __future__ import annotations

import pickle
import threading
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bytewax.operators as op
from bytewax.dataflow import Dataflow, Stream
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import TestingSource, run_main

from connectors.background import BackgroundWriter, WriterPartition
from connectors.postgres.ledger import PostgresLedgerSink
from connectors.redis.live_view import BackgroundLiveViewPartition, RedisLiveViewSink
from dataflows import durable
from dataflows.durable import DurableSink, by_partition
from state.atp import AtpReport
from state.views import SkuView


class _NeverWritten(StatelessSinkPartition[int]):
    """A partition whose writes never finish: everything it was sent is still to be written."""

    carries = True

    def __init__(self, runs: list[list[int]]) -> None:
        self.sent: list[int] = []
        runs.append(self.sent)

    def write_batch(self, items: list[int]) -> None:
        raise AssertionError("a durable sink sends to a partition that can confirm later")

    def send(self, items: list[int]) -> None:
        self.sent.extend(items)

    def confirm(self) -> None:
        raise AssertionError("a carrying partition is never waited for at an epoch's end")

    def carry(self) -> list[int]:
        return list(self.sent)

    def resend(self, items: list[int]) -> None:
        self.sent.extend(items)


class _Sink(DynamicSink[int]):
    def __init__(self) -> None:
        self.runs: list[list[int]] = []

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _NeverWritten:
        return _NeverWritten(self.runs)


def test_a_run_resumed_after_a_crash_writes_what_the_last_epoch_had_not_written_first(
    tmp_path: Path,
) -> None:
    init_db_dir(tmp_path, 1)
    source: TestingSource[int] = TestingSource([1, 2, 3, TestingSource.ABORT(), 4, 5])
    sink = _Sink()

    def attempt() -> None:
        flow = Dataflow("durable_carry")
        numbers: Stream[int] = op.input("in", flow, source)
        durable.output("out", numbers, sink)
        run_main(flow, epoch_interval=timedelta(0), recovery_config=RecoveryConfig(str(tmp_path)))

    attempt()  # aborts after 3 with nothing written: each epoch's snapshot carried it all
    attempt()
    first, resumed = sink.runs
    assert first == [1, 2, 3]
    # Nothing was written before the crash, so everything is written after it: the carried
    # items first, in order, then the items after the resume point (an item both carried and
    # emitted again would be written twice: every carrying sink is idempotent).
    assert resumed[:2] == [1, 2]
    assert set(resumed) == {1, 2, 3, 4, 5}
    assert resumed[-2:] == [4, 5]


def test_the_writer_lists_the_batches_not_yet_written_without_waiting_for_them() -> None:
    release = threading.Event()
    written: list[int] = []

    def write(batch: list[int]) -> None:
        release.wait(5)
        written.extend(batch)

    writer = BackgroundWriter(write, "test-writer")
    for batch in ([1], [2, 3], [4]):
        writer.send(batch)
    assert writer.unwritten() == [1, 2, 3, 4]
    release.set()
    writer.confirm()
    assert writer.unwritten() == []
    assert written == [1, 2, 3, 4]
    writer.close()


def test_an_epoch_carries_the_ledger_and_the_live_view_but_waits_for_the_rest() -> None:
    ledger = PostgresLedgerSink("postgresql://nobody@127.0.0.1:1/none").build("ledger", 0, 1)
    view = RedisLiveViewSink("redis://127.0.0.1:1/0", "carry").build("view", 0, 1)
    rows: WriterPartition[int] = WriterPartition(lambda _batch: None, lambda: None, "rows")
    assert isinstance(ledger, WriterPartition)
    assert ledger.carries
    assert isinstance(view, BackgroundLiveViewPartition)
    assert view.carries
    assert not rows.carries  # proposals, forecasts, routing decisions: confirmed as before
    assert isinstance(view, durable.CarriedPerEpoch)


def test_a_carried_view_survives_the_snapshots_pickle() -> None:
    view = SkuView(
        sku="RETRO-CLOCK",
        as_of=datetime(2011, 1, 4, tzinfo=UTC).date(),
        updated_at=datetime(2011, 1, 4, 9, 30, tzinfo=UTC),
        last_event_id="rcpt-1",
        positions=(),
        in_transit=0,
        on_order=0,
        atp=AtpReport(
            sku="RETRO-CLOCK",
            as_of=datetime(2011, 1, 4, tzinfo=UTC).date(),
            sites={"LON": 12},
            network=12,
            channels={"web": 12},
        ),
    )
    assert pickle.loads(pickle.dumps([view])) == [view]


def test_a_batch_reaches_each_partition_as_one_list_in_order() -> None:
    batch: list[tuple[str, int]] = [("RETRO-CLOCK", 1), ("TEAL-KETTLE", 1), ("RETRO-CLOCK", 2)]

    def sku(item: tuple[str, int]) -> str:
        return item[0]

    assert by_partition(1, sku, batch) == [("0", batch)]
    assert by_partition(1, sku, []) == []
    grouped = dict(by_partition(3, sku, batch))
    for name, _ in batch:
        part = str(zlib.crc32(name.encode()) % 3)
        assert [n for s, n in grouped[part] if s == name] == [n for s, n in batch if s == name]
    assert sorted(item for items in grouped.values() for item in items) == sorted(batch)


def test_a_durable_sink_routes_each_list_to_the_partition_it_names() -> None:
    sink: DurableSink[Any] = DurableSink(_Sink(), parts=4)
    assert [sink.part_fn(part) for part in sink.list_parts()] == [0, 1, 2, 3]


class _View:
    def __init__(self) -> None:
        self.writes: list[list[str]] = []

    def write(self, views: list[str]) -> None:
        self.writes.append(list(views))


def test_the_live_view_writes_a_batch_written_at_once_after_those_sent_before_it() -> None:
    view = _View()
    partition = BackgroundLiveViewPartition(view)  # type: ignore[arg-type]  # only `write`
    partition.send(["RETRO-CLOCK v1"])  # type: ignore[list-item]
    partition.write_batch(["RETRO-CLOCK v2"])  # type: ignore[list-item]
    partition.close()
    assert [v for batch in view.writes for v in batch] == ["RETRO-CLOCK v1", "RETRO-CLOCK v2"]
