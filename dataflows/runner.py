"""Run a flow for real: one process, or one process of a Bytewax cluster, with recovery.

Recovery (Bytewax's, on local SQLite partitions under `recovery_dir`) snapshots every key's state
and every Kafka partition's offset at the end of each epoch; after a crash the flow resumes from
the last snapshot and re-emits what followed it, which the idempotent sinks absorb.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.run import cli_main

from connectors.services.base import free_port
from dataflows.recovery_prune import prune_recovery_dirs

# Fixed forever for a recovery directory (Bytewax reads the count from its files), whatever the
# worker count; a directory made with another count keeps it. Why 128 (issue 9): on a restart
# Bytewax reads each partition's snapshots 1,000 at a time, and every read groups and sorts the
# whole partition again, so reading N snapshots from P partitions costs about N²/(1,000·P) row
# visits. At a million SKU-locations (500,000 snapshots: the fold's and replenishment's per SKU)
# SQLite alone took 117 s with 4 partitions, 10 s with 64, 7 s with 128, 4.5 s with 256 (a loaded
# 2-core machine), and the whole restart 31 s with 64, 22 s with 128. More partitions cost at
# every epoch: each partition commits (and fsyncs) once, some 80 ms an epoch with 64 against
# 12 ms with 4, so about 3% of the default 5-second snapshot interval with 128.
RECOVERY_PARTITIONS = 128


def recovery_config(recovery_dir: Path | None) -> RecoveryConfig | None:
    if recovery_dir is None:
        return None
    create_recovery_dir(recovery_dir)
    return RecoveryConfig(str(recovery_dir))


def create_recovery_dir(recovery_dir: Path) -> None:
    """Make `recovery_dir` with its partitions, all at once, unless it has them already.

    The partitions are made in a sibling directory and renamed into place (one atomic rename,
    which also replaces an empty directory). Made in place, a cluster's processes starting
    together raced: making 128 partition files takes about a second, and a second process saw
    the first one's few files so far, took the directory as made and started on those (issue
    9). A process killed while making them left the same half-made directory behind.
    """
    if recovery_dir.is_dir() and any(recovery_dir.iterdir()):
        return
    recovery_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{recovery_dir.name}-", dir=recovery_dir.parent))
    try:
        init_db_dir(staging, RECOVERY_PARTITIONS)
        try:
            staging.rename(recovery_dir)
        except OSError as exc:  # another process renamed its own into place first: use that
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_flow(
    flow: Dataflow,
    *,
    recovery_dir: Path | None,
    snapshot_seconds: float,
    process_id: int | None = None,
    addresses: list[str] | None = None,
) -> None:
    """Run until the source ends (or forever for a tailing Kafka source)."""
    if process_id is None:  # a cluster's processes: `run_cluster` pruned before starting them
        prune_recovery_dirs(recovery_dir)
    cli_main(
        flow,
        workers_per_process=1,
        process_id=process_id,
        addresses=addresses,
        epoch_interval=timedelta(seconds=snapshot_seconds),
        recovery_config=recovery_config(recovery_dir),
    )


def run_cluster(
    argv: list[str], processes: int, first_port: int, recovery_dir: Path | None = None
) -> int:
    """Start `processes` copies of `skuflow run` as one Bytewax cluster on loopback; wait."""
    prune_recovery_dirs(recovery_dir)
    ports = [free_port() for _ in range(processes)] if first_port == 0 else None
    addresses = ";".join(
        f"127.0.0.1:{ports[i] if ports else first_port + i}" for i in range(processes)
    )
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api.cli",
                *argv,
                "--process-id",
                str(i),
                "--addresses",
                addresses,
            ]
        )
        for i in range(processes)
    ]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [child.wait() for child in children]
    return max(codes, key=abs)
