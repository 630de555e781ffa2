"""The recovery prune reads the partitions' progress side by side (`dataflows.recovery_prune`):
the resume epoch must be the one read partition by partition."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from bytewax.recovery import init_db_dir

from dataflows.recovery_prune import prune_unfinished_snapshots, resume_epoch


def record(part: Path, exs: list[tuple[int, int, int]], fronts: list[tuple[int, int, int]]) -> None:
    with closing(sqlite3.connect(part)) as conn, conn:
        conn.executemany(
            "INSERT INTO exs (ex_num, worker_count, resume_epoch) VALUES (?, ?, ?)", exs
        )
        conn.executemany(
            "INSERT INTO fronts (ex_num, worker_index, worker_frontier) VALUES (?, ?, ?)", fronts
        )


def test_the_resume_epoch_read_side_by_side_is_the_one_read_in_turn(tmp_path: Path) -> None:
    init_db_dir(tmp_path, 4)
    parts = sorted(tmp_path.glob("part-*.sqlite3"))
    record(parts[0], [(0, 2, 1), (1, 2, 7)], [(0, 0, 5)])
    record(parts[1], [], [(1, 0, 9), (1, 1, 8)])
    record(parts[3], [], [(1, 1, 12)])

    with ThreadPoolExecutor(4) as pool:
        side_by_side = resume_epoch(parts, pool)

    assert side_by_side == resume_epoch(parts) == 9  # worker 0 at 9, worker 1 at 12


def test_a_directory_no_run_has_used_prunes_nothing(tmp_path: Path) -> None:
    init_db_dir(tmp_path, 3)

    assert prune_unfinished_snapshots(tmp_path) == 0
