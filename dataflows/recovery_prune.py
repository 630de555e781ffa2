"""Drop what a killed execution snapshotted past its own resume point, before Bytewax resumes.

Bytewax resumes from the dataflow frontier of the last execution (`fronts`) and loads, per
(step, key), the newest snapshot *before* that epoch. A step writes its snapshot of epoch e as
soon as the step closes e, while the frontier passes e only once every step (the durable sinks
included: they confirm their writes in their snapshot) has closed it. A SIGKILL in between
leaves snapshots of epochs >= the resume epoch in the store. The next execution re-runs those
epoch numbers with other contents and overwrites only the keys it touches in them; a key it does
not touch keeps the dead execution's snapshot, and a later resume past that epoch loads it: the
key's state then holds events whose outputs were never written (the SIGKILL test: first ledger
row of an event a `Duplicate`). Those rows can never be a correct resume state, so they go.
The report for Bytewax, with the repro, is docs/upstream/bytewax-stale-snapshots.md.
"""

from __future__ import annotations

import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

log = logging.getLogger(__name__)

PRUNE_THREADS = 8  # partitions pruned at once


# The rows found through the primary key's index (step, key, epoch), which holds every row's
# epoch without its snapshot bytes: a plain `WHERE snap_epoch >= ?` scans the table, snapshots
# and all (at a million SKU-locations about 460 MB over 128 partitions, 2.5-3.6 s of the
# restart); the index scan reads a few MB.
DROP_FROM_EPOCH = """
DELETE FROM snaps WHERE rowid IN (
  SELECT rowid FROM snaps INDEXED BY sqlite_autoindex_snaps_1 WHERE snap_epoch >= ?
)
"""


def resume_epoch(parts: list[Path], pool: ThreadPoolExecutor | None = None) -> int | None:
    """The epoch Bytewax will resume from (its own query, over every partition's rows); the
    partitions read side by side with `pool` (closing one checkpoints its write-ahead log and
    waits for the disk: 0.4 s of a restart at a million SKU-locations one after another)."""
    exs: dict[int, tuple[int, int]] = {}
    fronts: dict[tuple[int, int], int] = {}
    for part_exs, part_fronts in (pool.map if pool else map)(_progress, parts):
        for ex_num, workers, resume in part_exs:
            exs[ex_num] = (workers, resume)
        for ex_num, worker, frontier in part_fronts:
            key = (ex_num, worker)
            fronts[key] = max(frontier, fronts.get(key, frontier))
    if not exs:
        return None
    last = max(exs)
    workers, resume = exs[last]
    return min(max(resume, fronts.get((last, w), resume)) for w in range(workers))


def _progress(part: Path) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    with closing(sqlite3.connect(part)) as conn:
        exs = conn.execute("SELECT ex_num, worker_count, resume_epoch FROM exs").fetchall()
        fronts = conn.execute("SELECT ex_num, worker_index, worker_frontier FROM fronts").fetchall()
    return exs, fronts


def prune_unfinished_snapshots(recovery_dir: Path) -> int:
    """Delete every snapshot at or after the resume epoch; returns how many."""
    parts = sorted(recovery_dir.glob("part-*.sqlite3"))
    # One transaction a partition, the partitions side by side: each commit waits for its disk
    # sync (1.7 of 2.3 s at a million SKU-locations one after another), and sqlite3 lets go of
    # the GIL while it waits.
    with ThreadPoolExecutor(PRUNE_THREADS, thread_name_prefix="recovery-prune") as pool:
        epoch = resume_epoch(parts, pool)
        if epoch is None:
            return 0
        dropped = sum(pool.map(lambda part: _drop_from(part, epoch), parts))
    if dropped:
        log.warning(
            "recovery: dropped %d snapshots of epochs >= %d (unfinished when the run stopped)",
            dropped,
            epoch,
        )
    return dropped


def _drop_from(part: Path, epoch: int) -> int:
    with closing(sqlite3.connect(part)) as conn, conn:
        return int(conn.execute(DROP_FROM_EPOCH, (epoch,)).rowcount)


def prune_recovery_dirs(recovery_dir: Path | None) -> None:
    """`prune_unfinished_snapshots` on every directory of partitions at or under `recovery_dir`
    (a stage of `skuflow run --until-end` keeps its own: `sequence/`, `fold/`). Only before any
    process of the run has started: a running execution's own snapshots of epochs past its
    resume epoch are not stale."""
    if recovery_dir is None:
        return
    for stage in sorted({part.parent for part in recovery_dir.glob("**/part-*.sqlite3")}):
        prune_unfinished_snapshots(stage)
