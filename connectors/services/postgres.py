"""A real PostgreSQL server on loopback in its own data directory.

Binaries: Debian's `postgresql` package when we run as root (the server refuses to run as root,
so it runs as the `postgres` system user the package creates), otherwise the server that the
`pgserver` wheel ships. Either way it listens on 127.0.0.1 at a free port with trust auth for
local development and tests only.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psycopg

from connectors.services.base import (
    ServiceError,
    ServiceInfo,
    free_port,
    launch_detached,
    pid_alive,
    stop_pid,
    wait_until,
)

DATABASE = "skuflow"
SUPERUSER = "postgres"


def postgres_bin_dir() -> Path:
    """The folder with initdb and postgres: Debian's newest when root, else the pgserver wheel's."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=_major, reverse=True)
    if os.geteuid() == 0:
        if not debian:
            raise ServiceError(
                "PostgreSQL server binaries not found. As root, install Debian's server: "
                "`apt-get install -y postgresql` (make test does this for you)."
            )
        return debian[0].parent
    from pgserver._commands import POSTGRES_BIN_PATH  # only the binaries' location

    if (POSTGRES_BIN_PATH / "postgres").exists():
        return Path(POSTGRES_BIN_PATH)
    if debian:
        return debian[0].parent
    raise ServiceError("No PostgreSQL server binaries: reinstall the project (`make test`).")


def _major(path: Path) -> int:
    return int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0


def _run_as() -> str | None:
    """The system user the server runs as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError(
            "Running as root, but there is no `postgres` system user: "
            "`apt-get install -y postgresql` creates it."
        ) from exc
    return "postgres"


def data_dir_for(run_dir: Path) -> Path:
    """Where the cluster lives. As root the server's user must reach it, so it goes under /tmp."""
    if os.geteuid() != 0:
        return run_dir / "data"
    digest = hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"skuflow-postgres-{digest}"


def _as_user(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


def start_postgres(run_dir: Path, *, timeout: float = 60.0) -> ServiceInfo:
    bin_dir = postgres_bin_dir()
    user = _run_as()
    data = data_dir_for(run_dir)
    if data.exists():
        shutil.rmtree(data)  # a fresh cluster each `up`: tests and demos start from nothing
    data.mkdir(parents=True)
    if user:
        entry = pwd.getpwnam(user)
        os.chown(data, entry.pw_uid, entry.pw_gid)
    data.chmod(0o700)
    log = data / "postgres.log"
    init = subprocess.run(
        _as_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            user,
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise ServiceError(
            f"initdb failed in {data}:\n{init.stdout[-2000:]}\n{init.stderr[-2000:]}"
        )
    port = free_port()
    launcher_pid = _launch(bin_dir, data, port, user, timeout=timeout)
    with psycopg.connect(_url(port, SUPERUSER), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return ServiceInfo(
        name="postgres",
        pid=_server_pid(data, launcher_pid),
        port=port,
        url=_url(port, DATABASE),
        log=str(log),
        data_dir=str(data),
        extra={"bin_dir": str(bin_dir)},
    )


def restart_postgres(info: ServiceInfo, *, down_for: float = 0.0) -> ServiceInfo:
    """Stop the server (fast shutdown: clients are cut off, as in a crash or a failover), stay
    down `down_for` seconds, then start it again on the same port and data directory.

    For reliability tests on a private server only: everyone connected loses their session.
    """
    stop_pid(info.pid, sig=signal.SIGINT)
    time.sleep(down_for)
    return start_postgres_again(info)


def start_postgres_again(info: ServiceInfo, *, timeout: float = 60.0) -> ServiceInfo:
    """Start a stopped server from `start_postgres` again: same port, same data, same databases."""
    data = Path(info.data_dir)
    launcher_pid = _launch(Path(info.extra["bin_dir"]), data, info.port, _run_as(), timeout=timeout)
    return replace(info, pid=_server_pid(data, launcher_pid))


def _launch(bin_dir: Path, data: Path, port: int, user: str | None, *, timeout: float) -> int:
    """Start the postmaster on `data` at 127.0.0.1:`port`; return once it answers."""
    settings = [
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        str(data),
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
        "-c",
        "shared_buffers=256MB",
    ]  # fsync off: a throwaway development cluster, never a production one
    log = data / "postgres.log"
    launcher_pid = launch_detached(
        _as_user([str(bin_dir / "postgres"), "-D", str(data), *settings], user), log
    )
    wait_until(
        lambda: _answers(_url(port, SUPERUSER)),
        timeout=timeout,
        what="PostgreSQL",
        log=log,
        alive=lambda: pid_alive(launcher_pid),
    )
    return launcher_pid


def _url(port: int, database: str) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


def _server_pid(data: Path, fallback: int) -> int:
    """The postmaster's own pid (runuser stays as its parent); stopping it stops the server."""
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return fallback


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def postgres_answers(info: ServiceInfo) -> bool:
    return pid_alive(info.pid) and _answers(info.url)
