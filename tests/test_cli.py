"""The `skuflow` command: every command explains itself, and unbuilt ones say so plainly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()

COMMANDS = [
    [],
    ["version"],
    ["demo"],
    ["run"],
    ["serve"],
    ["services"],
    ["services", "up"],
    ["services", "down"],
    ["services", "status"],
    ["services", "env"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "skuflow")
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_installed_entry_point_runs() -> None:
    skuflow = Path(sys.executable).parent / "skuflow"
    done = subprocess.run([str(skuflow), "version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("skuflow ")


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_command_not_built_yet_says_so_and_fails(command: str) -> None:
    result = runner.invoke(app, [command])
    assert result.exit_code == 2
    assert "not built yet" in result.output
