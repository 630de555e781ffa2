"""`skuflow services up|down|status`: start, find and stop the three local servers together.

Each running service is recorded as `<services_dir>/<name>.json` (pid, port, url, log), so a later
`down` stops exactly what `up` started, by pid, and a second `up` reuses what still answers.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from time import monotonic

from connectors.services.base import ServiceError, ServiceInfo, read_info, stop_pid, write_info
from connectors.services.kafka import kafka_answers, start_kafka
from connectors.services.postgres import postgres_answers, start_postgres
from connectors.services.redis import redis_answers, start_redis

SERVICES = ("postgres", "redis", "kafka")


@dataclass(frozen=True)
class Started:
    """One service after `up`: its info, whether it was already running, and how long it took."""

    info: ServiceInfo
    reused: bool
    seconds: float


def project_root() -> Path:
    """The checkout this package runs from (the editable install `make` makes)."""
    return Path(__file__).resolve().parents[2]


def answers(info: ServiceInfo) -> bool:
    if info.name == "postgres":
        return postgres_answers(info)
    if info.name == "redis":
        return redis_answers(info)
    return kafka_answers(info.url)


def _starter(name: str, services_dir: Path, cache_dir: Path) -> Callable[[], ServiceInfo]:
    run_dir = services_dir / name
    if name == "postgres":
        return lambda: start_postgres(run_dir)
    if name == "redis":
        return lambda: start_redis(run_dir)
    return lambda: start_kafka(run_dir, cache_dir=cache_dir, project_root=project_root())


def up(services_dir: Path, cache_dir: Path, names: tuple[str, ...] = SERVICES) -> list[Started]:
    """Start every named service that is not already answering; wait until each answers."""
    services_dir = services_dir.resolve()  # servers chdir; every path they get is absolute
    services_dir.mkdir(parents=True, exist_ok=True)

    def bring_up(name: str) -> Started:
        began = monotonic()
        known = read_info(services_dir / f"{name}.json")
        if known is not None and answers(known):
            return Started(known, reused=True, seconds=monotonic() - began)
        if known is not None:
            stop_pid(known.pid)
        run_dir = services_dir / name
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        info = _starter(name, services_dir, cache_dir)()
        write_info(services_dir / f"{name}.json", info)
        return Started(info, reused=False, seconds=monotonic() - began)

    # Kafka takes longest, so all start at once; a failure is reported once the others settle.
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {name: pool.submit(bring_up, name) for name in names}
    errors = [f"{name}: {f.exception()}" for name, f in futures.items() if f.exception()]
    if errors:
        # All or nothing: stop what this call started, so a failed `up` leaves no stray server.
        for future in futures.values():
            if future.exception() is None and not future.result().reused:
                _stop(services_dir, future.result().info)
        raise ServiceError("Could not start every service:\n" + "\n".join(errors))
    return [futures[name].result() for name in names]


def status(services_dir: Path) -> dict[str, tuple[ServiceInfo | None, bool]]:
    """Each service's recorded info (or None) and whether it answers right now."""
    found: dict[str, tuple[ServiceInfo | None, bool]] = {}
    for name in SERVICES:
        info = read_info(services_dir / f"{name}.json")
        found[name] = (info, info is not None and answers(info))
    return found


def down(services_dir: Path) -> list[str]:
    """Stop, by pid, every service `up` recorded here; return the names stopped."""
    stopped = []
    for name in SERVICES:
        info = read_info(services_dir / f"{name}.json")
        if info is not None:
            _stop(services_dir, info)
            stopped.append(name)
    return stopped


def _stop(services_dir: Path, info: ServiceInfo) -> None:
    # PostgreSQL: SIGINT is its fast shutdown (SIGTERM would wait for clients to leave).
    stop_pid(info.pid, sig=signal.SIGINT if info.name == "postgres" else signal.SIGTERM)
    (services_dir / f"{info.name}.json").unlink(missing_ok=True)
    if info.name == "postgres":
        shutil.rmtree(info.data_dir, ignore_errors=True)


def connection_env(services_dir: Path) -> dict[str, str]:
    """SKUFLOW_* variables that point skuflow at the running local services."""
    env: dict[str, str] = {}
    for name, (info, _) in status(services_dir).items():
        if info is None:
            continue
        key = {
            "postgres": "SKUFLOW_POSTGRES_DSN",
            "redis": "SKUFLOW_REDIS_URL",
            "kafka": "SKUFLOW_KAFKA_BROKERS",
        }[name]
        env[key] = info.url
    return env
