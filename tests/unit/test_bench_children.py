"""A benchmark's children (the engine, the API) run the code the benchmark itself runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dataflows.bench.engine import CODE_ROOT, child_env, skuflow_command


def test_a_child_started_elsewhere_imports_the_benchmarks_own_tree(tmp_path: Path) -> None:
    python = skuflow_command()[0]
    found = subprocess.run(
        [python, "-c", "import api, dataflows; print(api.__file__); print(dataflows.__file__)"],
        env=child_env({"PATH": "/usr/bin:/bin"}),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [Path(f).resolve().parents[1] for f in found] == [CODE_ROOT, CODE_ROOT]


def test_a_childs_own_import_path_is_kept_after_the_tree() -> None:
    env = child_env({"PYTHONPATH": "/opt/extra"})
    assert env["PYTHONPATH"].split(":") == [str(CODE_ROOT), "/opt/extra"]


def test_the_skuflow_command_is_this_python_running_the_cli() -> None:
    assert skuflow_command()[1:] == ["-m", "api.cli"]
