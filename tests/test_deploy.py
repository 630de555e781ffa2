"""deploy/ describes a runnable stack: every part named, secrets read from the environment."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


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


def test_every_reference_in_the_stack_resolves() -> None:
    """What `docker compose config` would refuse, checked without Docker (none exists here):
    dependencies name services of the stack, named volumes are declared, each service has an
    image or a build whose Dockerfile exists, and every healthcheck has a test."""
    stack = compose()
    services, volumes = stack["services"], set(stack.get("volumes") or {})
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services) - {name}, name
        named = {
            m.split(":")[0] for m in service.get("volumes", []) if not m.startswith((".", "/"))
        }
        assert named <= volumes, name
        assert ("image" in service) != ("build" in service), name
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert (context / service["build"]["dockerfile"]).is_file(), name
        assert "healthcheck" not in service or service["healthcheck"]["test"], name


def test_the_dataflow_keeps_its_recovery_state_and_the_api_needs_real_keys() -> None:
    stack = compose()["services"]
    recovery = stack["dataflow"]["environment"]["SKUFLOW_RECOVERY_DIR"]
    assert any(mount.endswith(f":{recovery}") for mount in stack["dataflow"]["volumes"])
    assert stack["api"]["environment"]["SKUFLOW_API_KEYS"].startswith("${SKUFLOW_API_KEYS:?")
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "SKUFLOW_MODE=production" in dockerfile
    assert recovery in dockerfile  # created, owned by the unprivileged user
