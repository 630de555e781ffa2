"""A real `redis-server` (Debian's package) on loopback at a free port, in its own folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis

from connectors.services.base import (
    ServiceError,
    ServiceInfo,
    free_port,
    launch_detached,
    pid_alive,
    wait_until,
)


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        raise ServiceError(
            "redis-server not found. Install Debian's package: `apt-get install -y redis-server` "
            "(make test does this for you)."
        )
    return found


def start_redis(run_dir: Path, *, timeout: float = 30.0) -> ServiceInfo:
    run_dir = run_dir.resolve()  # redis-server chdirs to --dir; its log path must be absolute
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = run_dir / "redis.log"
    argv = [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(run_dir),
        "--daemonize",
        "no",
        "--save",
        "",
        "--appendonly",
        "no",
        "--logfile",
        str(log),
        "--protected-mode",
        "yes",
        # SKU hashes hold a JSON field of positions: keep them in the compact listpack form
        # (about 520 bytes a SKU instead of 1,275).
        "--hash-max-listpack-value",
        "1024",
    ]  # no persistence: Redis is a projection rebuilt from the ledger, never the record
    pid = launch_detached(argv, run_dir / "redis.stdout.log")
    url = f"redis://127.0.0.1:{port}/0"
    wait_until(
        lambda: _answers(url), timeout=timeout, what="Redis", log=log, alive=lambda: pid_alive(pid)
    )
    return ServiceInfo(
        name="redis", pid=pid, port=port, url=url, log=str(log), data_dir=str(run_dir)
    )


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_answers(info: ServiceInfo) -> bool:
    return pid_alive(info.pid) and _answers(info.url)
