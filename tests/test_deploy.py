"""deploy/ describes a runnable stack: every part named, secrets read from the environment."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def has_compose_client() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    return (
        subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode
        == 0
    )


def test_the_stack_has_kafka_redis_postgres_the_dataflow_and_the_api() -> None:
    assert set(compose()["services"]) == {"kafka", "redis", "postgres", "dataflow", "api"}


def test_kafka_runs_in_kraft_mode_without_zookeeper() -> None:
    kafka = compose()["services"]["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in (DEPLOY / "compose.yaml").read_text().lower()


def test_skuflow_waits_for_healthy_infrastructure_and_reads_settings_from_the_environment() -> None:
    stack = compose()["services"]
    for name in ("dataflow", "api"):
        assert all(
            dep["condition"] == "service_healthy" for dep in stack[name]["depends_on"].values()
        )
        assert all(key.startswith("SKUFLOW_") for key in stack[name]["environment"])
    assert "${SKUFLOW_POSTGRES_PASSWORD" in (DEPLOY / "compose.yaml").read_text()


@pytest.mark.skipif(
    not has_compose_client(), reason="the docker compose client plugin is not installed"
)
def test_docker_compose_accepts_the_file() -> None:
    done = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={"SKUFLOW_POSTGRES_PASSWORD": "only-for-config-check", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
