"""A key's state never comes from an epoch its execution did not finish.

Three executions on one recovery directory: the first is SIGKILLed while a sink confirms an
epoch (the fold's snapshot of that epoch is written, the epoch is not finished); the second does
not touch key "a" and is killed after finishing later epochs; the third runs to the end. Bytewax
0.21 alone loads the first execution's snapshot of key "a" in the third (the newest before its
resume epoch): key "a" then says DUP for the numbers the first execution folded in the
unfinished epoch, as the engine's fold wrote a `Duplicate` where a pick's Movement belonged.
`run_flow` drops those snapshots before Bytewax starts (`dataflows.recovery_prune`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bytewax.recovery import init_db_dir

FLOW = Path(__file__).with_name("stale_snapshot_flow.py")


def _start(recovery: Path, out: Path, **env: str) -> subprocess.Popen[bytes]:
    path = os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, str(FLOW), str(recovery), str(out)],
        env={**os.environ, "PYTHONPATH": path, **env},
    )


def test_a_key_untouched_after_a_crash_does_not_resume_from_an_unfinished_epoch(
    tmp_path: Path,
) -> None:
    recovery, out = tmp_path / "recovery", tmp_path / "out.jsonl"
    recovery.mkdir()
    init_db_dir(recovery, 1)

    first = _start(recovery, out, SLOW_SINK="1")
    deadline = time.monotonic() + 60
    while not out.with_suffix(".blocked").exists():
        assert time.monotonic() < deadline
        assert first.poll() is None
        time.sleep(0.05)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()

    second = _start(recovery, out, A_STALL="1")
    time.sleep(3)
    second.send_signal(signal.SIGKILL)
    second.wait()

    third = _start(recovery, out)
    assert third.wait(timeout=120) == 0

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line for line in lines if line[0] == "DUP"] == []
    assert {n for verdict, key, n in lines if key == "a"} == set(range(1, 401))
