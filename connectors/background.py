"""One writer thread per sink partition: the database's work on a batch overlaps the flow's.

A sink partition under a `DurableSink` (`dataflows.durable.ConfirmedPerEpoch`) `send`s each
batch here and `confirm`s once an epoch, in the epoch's snapshot. `send` queues the batch for
the thread and returns; `confirm` waits until every queued batch is written. So the resume point
still never passes an unwritten epoch, while PostgreSQL (a process of its own, on the other
core) works on one batch as the flow folds the next.

One thread keeps the batches in the order they were sent (a later view of a SKU still replaces
an earlier one). Batches queued while the thread was writing are written together, in order, as
one: when the flow emits many small batches (a latency-bound load: the allocation bench's
orders come a few at a time), one write per batch fell 1.5 s behind within an epoch, and the
epoch's snapshot then stalled the whole flow that long, waiting for it (issue 9). A writer whose
rows depend on its batches' bounds (the demand forecasts: only a SKU-site's newest day in a batch
keeps its horizon) is built with `merge_batches=False` and writes each batch as it was sent.

A write that failed for good (its own retries spent) raises at the next `send` or `confirm`,
which stops the flow as a failed `write_batch` would.

A writer built with `carry=True` (the ledger: every write idempotent, its items picklable) does
not wait at the epoch's end at all: its snapshot *carries* the items still unwritten
(`dataflows.durable.CarriedPerEpoch`), and a resumed flow writes them again before anything
else. Waiting had stalled the whole worker for the writer's backlog at every epoch's end (130-1,400
ms on a loaded 2-core machine, issue 9), and every event arriving meanwhile waited with it.

What is sent and not yet written is bounded (`MAX_UNWRITTEN` items): beyond it `send` waits for
the oldest batches, so a flow folding faster than its database writes (a backlog replayed, the
year's replay in `bench memory`, a slow or restarting PostgreSQL) is held to the writer's pace
instead of queueing without end, as it could once epoch ends stopped waiting for the writes. A
wait longer than `WAIT_LOG_SECONDS` is logged, with how much is waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from itertools import chain
from typing import Generic, TypeVar

from bytewax.outputs import StatelessSinkPartition

from connectors.engine_metrics import watch_writer

T = TypeVar("T")
log = logging.getLogger(__name__)

# Items sent and not yet written before `send` waits: about a second of the ledger's rows at
# the embedded path's speed (4-5 rows an event), so the thread always has a write queued, and
# tens of MB of rows at most.
MAX_UNWRITTEN = 50_000
WAIT_LOG_SECONDS = 5.0


class BackgroundWriter(Generic[T]):
    """`write(batch)` run on one thread, in order; see the module docstring."""

    def __init__(
        self,
        write: Callable[[list[T]], None],
        name: str,
        *,
        merge_batches: bool = True,
        max_unwritten: int = MAX_UNWRITTEN,
    ) -> None:
        if max_unwritten < 1:
            msg = f"a writer holds at least one unwritten item, not {max_unwritten}"
            raise ValueError(msg)
        self._write = write
        self._name = name
        self._merge_batches = merge_batches  # False: one write per batch, as sent
        self._max_unwritten = max_unwritten
        self._unwritten = 0  # items in `_pending`: at most `max_unwritten` after a send
        self._thread: ThreadPoolExecutor | None = None  # started by the first `send`
        self._pending: deque[tuple[Future[None], list[T]]] = deque()  # sent, not yet settled
        self._queued: list[list[T]] = []  # sent, not yet taken by the thread (under `_lock`)
        self._lock = threading.Lock()
        self._failed = threading.Event()  # set by the thread: the batches behind are skipped
        watch_writer(self)  # its backlog in the engine's metrics (`connectors.engine_metrics`)

    @property
    def name(self) -> str:
        return self._name

    @property
    def unwritten_count(self) -> int:
        """Items sent whose write has not finished (the metrics' scrape reads it on another
        thread: the deque is copied at once, under the GIL, and nothing is settled here)."""
        return sum(len(batch) for done, batch in list(self._pending) if not done.done())

    @property
    def max_unwritten(self) -> int:
        return self._max_unwritten

    def send(self, batch: list[T]) -> None:
        """Queue `batch`; raises the error of an earlier batch that could not be written."""
        self._settle_done()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        with self._lock:
            self._queued.append(batch)
        self._pending.append((self._thread.submit(self._write_queued), batch))
        self._unwritten += len(batch)
        if self._unwritten > self._max_unwritten:
            self._hold_to_bound()

    def _hold_to_bound(self) -> None:
        """Wait for the oldest batches until at most `max_unwritten` items are unwritten (the
        newest batch is never waited for here: a batch larger than the bound passes alone)."""
        began = last_log = time.monotonic()
        while self._unwritten > self._max_unwritten and len(self._pending) > 1:
            done, _ = wait((self._pending[0][0],), timeout=WAIT_LOG_SECONDS)
            if done:
                self._settle()  # raises a failed write, the batches behind it dropped
                continue
            now = time.monotonic()
            if now - last_log >= WAIT_LOG_SECONDS:
                last_log = now
                log.warning(
                    "%s: %d items still unwritten after %.0f s; the flow waits for its writes "
                    "(is its store, PostgreSQL or Redis, slow or down? its retries are logged).",
                    self._name, self._unwritten, now - began,
                )  # fmt: skip

    def confirm(self) -> None:
        """Wait until every batch sent so far is written; raises the first that was not."""
        while self._pending:
            self._settle()

    def unwritten(self) -> list[T]:
        """Without waiting: the items of every batch sent and not yet known to be written, in
        the order sent; raises the error of a batch that could not be written.

        One thread writes the batches in order, and a batch is written by its own task or by an
        earlier one (which took it from the queue with its own): once a batch's task is done,
        that batch is written. The list may hold a batch an earlier task already wrote (written
        twice after a restart: the writes are idempotent), never one that is not written."""
        self._settle_done()
        pending = [batch for _, batch in self._pending]
        return pending[0] if len(pending) == 1 else list(chain.from_iterable(pending))

    def _settle_done(self) -> None:
        while self._pending and self._pending[0][0].done():
            self._settle()

    def _write_queued(self) -> None:
        """Every batch queued so far, as one write (a later task finds its batch taken)."""
        if self._failed.is_set():
            msg = f"{self._name}: not written, an earlier batch failed"
            raise RuntimeError(msg)
        with self._lock:
            if self._merge_batches:
                taken, self._queued = self._queued, []
            else:
                taken = [self._queued.pop(0)] if self._queued else []
        if not taken:
            return
        try:
            self._write(taken[0] if len(taken) == 1 else list(chain.from_iterable(taken)))
        except BaseException:
            self._failed.set()
            raise

    def _settle(self) -> None:
        """The oldest batch's outcome; after a failure, the batches queued behind it are
        dropped unwritten (the flow stops and resumes from its last snapshot, in order)."""
        future, batch = self._pending.popleft()
        self._unwritten -= len(batch)
        try:
            future.result()
        except BaseException:
            for later, _ in self._pending:
                later.cancel()
            self._pending.clear()
            self._unwritten = 0
            raise

    def close(self) -> None:
        """Confirm, then stop the thread (also when a write failed)."""
        try:
            self.confirm()
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=True, cancel_futures=True)
                self._thread = None


class WriterPartition(StatelessSinkPartition[T]):
    """A sink partition over a writer's `write(batch)` and `close()` (the ledger, a row table).

    Alone, `write_batch` writes a batch before it returns; under a `DurableSink`, batches are
    `send`-ed to a `BackgroundWriter` and `confirm`-ed in the epoch's snapshot: the database's
    work overlaps the flow's. With `carry=True` (idempotent writes of picklable items) the
    snapshot does not wait: it carries the items not yet written (`carry`), and a resumed
    partition `send`s them first."""

    def __init__(
        self,
        write: Callable[[list[T]], None],
        close: Callable[[], None],
        name: str,
        *,
        merge_batches: bool = True,
        carry: bool = False,
    ):
        self._write = write
        self._close = close
        self._background = BackgroundWriter(write, name, merge_batches=merge_batches)
        self.carries = carry  # read by `dataflows.durable` (`CarriedPerEpoch`)

    def write_batch(self, items: list[T]) -> None:
        self._background.confirm()
        self._write(items)

    def send(self, items: list[T]) -> None:
        self._background.send(items)

    def confirm(self) -> None:
        self._background.confirm()

    def carry(self) -> list[T]:
        """The items sent and not yet written, without waiting (the epoch's snapshot)."""
        return self._background.unwritten()

    def resend(self, items: list[T]) -> None:
        self.send(items)

    def close(self) -> None:
        try:
            self._background.close()
        finally:
            self._close()
