"""`skuflow services` starts real servers that answer, reuses them, stops what it started."""

from __future__ import annotations

from pathlib import Path

from connectors.services import manager
from connectors.services.base import pid_alive
from connectors.settings import Settings


def test_up_starts_a_server_that_answers_and_down_stops_it_by_pid(
    tmp_path: Path, settings: Settings
) -> None:
    started = manager.up(tmp_path, settings.cache_dir, ("redis", "postgres"))
    try:
        assert all(manager.answers(item.info) for item in started)
        assert not any(item.reused for item in started)
        again = manager.up(tmp_path, settings.cache_dir, ("redis",))
        assert again[0].reused
        assert again[0].info.pid == started[0].info.pid
    finally:
        stopped = manager.down(tmp_path)
    assert sorted(stopped) == ["postgres", "redis"]
    assert not any(pid_alive(item.info.pid) for item in started)
    assert manager.status(tmp_path)["redis"] == (None, False)


def test_status_reports_the_running_services(services: dict, settings: Settings) -> None:
    found = manager.status(settings.services_dir)
    assert {name for name, (_, ok) in found.items() if ok} == {"postgres", "redis", "kafka"}


def test_env_points_skuflow_at_the_running_services(services: dict, settings: Settings) -> None:
    env = manager.connection_env(settings.services_dir)
    assert env["SKUFLOW_KAFKA_BROKERS"] == services["kafka"].url
    assert env["SKUFLOW_REDIS_URL"] == services["redis"].url
    assert env["SKUFLOW_POSTGRES_DSN"] == services["postgres"].url
