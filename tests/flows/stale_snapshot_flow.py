"""A two-key flow for `test_recovery_prune`: run as a script, one execution per run.

Key "a" and key "b" each get the numbers 1..N from their own source partition, 10 ms apart; the
fold remembers which it has seen and says "DUP" for one seen before. With SLOW_SINK=1 the sink's
snapshot (where a durable sink confirms its writes) blocks after the first second: the
execution is killed there, after the fold's snapshot of that epoch is written and before the
epoch completes. With A_STALL=1 partition "a" yields nothing, so key "a" is not touched.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.outputs import FixedPartitionedSink, StatefulSinkPartition

N = 400
STARTED = time.monotonic()


class _Numbers(StatefulSourcePartition):
    def __init__(self, name: str, resume: int | None) -> None:
        self.name, self.next = name, resume or 0

    def next_batch(self) -> list:
        if self.name == "a" and os.environ.get("A_STALL") == "1":
            return []
        if self.next >= N:
            raise StopIteration
        self.next += 1
        return [(self.name, self.next)]

    def next_awake(self) -> datetime:
        return datetime.now(UTC) + timedelta(milliseconds=10)

    def snapshot(self) -> int:
        return self.next


class Numbers(FixedPartitionedSource):
    def list_parts(self) -> list[str]:
        return ["a", "b"]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Numbers:
        return _Numbers(for_part, resume_state)


class _Lines(StatefulSinkPartition):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.out = path.open("a")

    def write_batch(self, items: list) -> None:
        self.out.writelines(json.dumps(item) + "\n" for item in items)
        self.out.flush()

    def snapshot(self) -> None:
        if os.environ.get("SLOW_SINK") == "1" and time.monotonic() - STARTED > 1.0:
            self.path.with_suffix(".blocked").touch()
            time.sleep(60)

    def close(self) -> None:
        self.out.close()


class Lines(FixedPartitionedSink):
    def __init__(self, path: Path) -> None:
        self.path = path

    def list_parts(self) -> list[str]:
        return ["0"]

    def part_fn(self, item_key: str) -> int:
        return 0

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _Lines:
        return _Lines(self.path)


def fold(seen: set[int] | None, item: tuple[str, int]) -> tuple[set[int], list]:
    seen = set() if seen is None else seen
    verdict = "DUP" if item[1] in seen else "new"
    seen.add(item[1])
    return seen, [verdict, *item]


def build(out: Path) -> Dataflow:
    flow = Dataflow("stale")
    numbers = op.input("numbers", flow, Numbers())
    keyed = op.key_on("key", numbers, lambda item: item[0])
    op.output("lines", op.stateful_map("fold", keyed, fold), Lines(out))
    return flow


if __name__ == "__main__":
    from dataflows.runner import run_flow

    recovery, out = Path(sys.argv[1]), Path(sys.argv[2])
    run_flow(build(out), recovery_dir=recovery, snapshot_seconds=0.1)
