"""A JSONL file as a source: one event per line, as a producer would have sent it.

Each line becomes a `RawEvent` whose origin names the file and line (`file:<name>:<line>`), so a
bad line's dead letter says exactly where it was. Resume state is the number of lines already
read, so a flow with recovery restarts after the last snapshotted line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from state.intake import RawEvent


class _LinesPartition(StatefulSourcePartition[RawEvent, int]):
    def __init__(self, path: Path, skip: int, batch_size: int) -> None:
        self._file = path.open("rb")
        self._name = path.name
        self._line = 0
        self._batch_size = batch_size
        for _ in range(skip):
            if not self._file.readline():
                break
            self._line += 1

    def next_batch(self) -> list[RawEvent]:
        batch: list[RawEvent] = []
        now = datetime.now(UTC)
        while len(batch) < self._batch_size:
            line = self._file.readline()
            if not line:
                if batch:
                    return batch
                raise StopIteration
            self._line += 1
            payload = line.rstrip(b"\r\n")
            if payload.strip():  # blank lines carry nothing
                batch.append(RawEvent(payload, f"file:{self._name}:{self._line}", now))
        return batch

    def snapshot(self) -> int:
        return self._line

    def close(self) -> None:
        self._file.close()


class JsonLinesSource(FixedPartitionedSource[RawEvent, int]):
    """Every line of `path`, once, in order."""

    def __init__(self, path: Path, batch_size: int = 1000) -> None:
        if not path.is_file():
            msg = f"no JSONL file at {path}"
            raise FileNotFoundError(msg)
        self._path = path
        self._batch_size = batch_size

    def list_parts(self) -> list[str]:
        return [self._path.name]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _LinesPartition:
        return _LinesPartition(self._path, resume_state or 0, self._batch_size)
