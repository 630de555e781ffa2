"""A new recovery directory appears whole, even to a cluster's processes starting together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bytewax.recovery import init_db_dir

from dataflows.runner import RECOVERY_PARTITIONS, create_recovery_dir

# Each process makes the directory (or finds it made) and says how many partitions it then sees.
MAKE_AND_COUNT = (
    "import sys; from pathlib import Path; from dataflows.runner import create_recovery_dir;"
    "d = Path(sys.argv[1]); create_recovery_dir(d); print(len(list(d.glob('*.sqlite3'))))"
)


def partitions(directory: Path) -> int:
    return len(list(directory.glob("*.sqlite3")))


def test_processes_starting_together_each_see_every_partition(tmp_path: Path) -> None:
    directory = tmp_path / "recovery"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MAKE_AND_COUNT, str(directory)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    seen = [int(process.communicate(timeout=120)[0]) for process in processes]
    assert seen == [RECOVERY_PARTITIONS] * 4
    assert sorted(path.name for path in tmp_path.iterdir()) == ["recovery"]  # no leftovers


def test_an_empty_directory_gets_its_partitions(tmp_path: Path) -> None:
    directory = tmp_path / "recovery"
    directory.mkdir()
    create_recovery_dir(directory)
    assert partitions(directory) == RECOVERY_PARTITIONS


def test_a_directory_made_earlier_keeps_its_partition_count(tmp_path: Path) -> None:
    directory = tmp_path / "recovery"
    directory.mkdir()
    init_db_dir(directory, 4)
    create_recovery_dir(directory)
    assert partitions(directory) == 4
