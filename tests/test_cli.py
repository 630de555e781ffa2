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
    ["bench"],
    *(["bench", figure] for figure in ("all", "throughput", "freshness", "latency")),
    *(["bench", figure] for figure in ("allocation", "memory", "recovery")),
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


def test_a_bad_setting_stops_any_command_with_one_line_naming_it_and_no_traceback() -> None:
    skuflow = Path(sys.executable).parent / "skuflow"
    env = {"PATH": "/usr/bin:/bin", "SKUFLOW_KAFKA_PARTITIONS": "0"}
    done = subprocess.run(
        [str(skuflow), "services", "env"], capture_output=True, text=True, check=False, env=env
    )

    assert done.returncode == 2
    assert "SKUFLOW_KAFKA_PARTITIONS='0': Input should be greater than or equal to 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_secret_setting_is_named_but_not_echoed() -> None:
    from pydantic import ValidationError

    from api.cli import settings_error
    from connectors.settings import Settings

    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, postgres_dsn=["postgresql://u:hunter2@db/x"])  # not a string
    told = settings_error(raised.value)

    assert "SKUFLOW_POSTGRES_DSN=(hidden)" in told
    assert "hunter2" not in told


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        (None, "needs API keys"),
        ('{"changeme": "admin"}', "well-known default"),
        ('{"short-key": "admin"}', "shorter than"),
    ],
)
def test_serve_in_production_refuses_missing_or_default_keys(
    keys: str | None, why: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKUFLOW_MODE", "production")
    if keys is None:
        monkeypatch.delenv("SKUFLOW_API_KEYS", raising=False)
    else:
        monkeypatch.setenv("SKUFLOW_API_KEYS", keys)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "refuses to start" in result.output
    assert why in result.output
    assert "changeme" not in result.output  # a key is never echoed back


def test_run_in_production_refuses_to_start_without_a_recovery_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SKUFLOW_MODE", "production")
    monkeypatch.delenv("SKUFLOW_RECOVERY_DIR", raising=False)
    result = runner.invoke(app, ["run"])
    assert result.exit_code == 2
    assert "refuses to start" in result.output
    assert "SKUFLOW_RECOVERY_DIR" in result.output


def test_bench_all_names_the_figures_it_knows_when_asked_for_another() -> None:
    result = runner.invoke(app, ["bench", "all", "--only", "teleportation"])

    assert result.exit_code == 2
    assert "throughput" in result.output
