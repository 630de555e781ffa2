"""The real engine for a benchmark step: `skuflow run` in its own process, on names of its own.

Every step gets a fresh deployment (a unique prefix for its topics, Redis keys and PostgreSQL
schema, and a catalog file of the benchmark's SKUs), so a backlog left by a rate the engine could
not sustain never leaks into the next step, and whatever the hot path's owners change in
`skuflow run` shows up in the figures. `deployment()` removes all of it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
import redis
from confluent_kafka.admin import AdminClient
from psycopg import sql

from connectors.catalog_file import CatalogFile, ChannelFile, SkuFile
from connectors.kafka.topics import OUTPUTS, Topics
from connectors.settings import Settings
from dataflows.bench.services import BenchError, running
from dataflows.production import Wiring

SITES = ("LON", "MAN")


@dataclass(frozen=True)
class Services:
    brokers: str
    redis_url: str
    postgres_dsn: str


def running_services(settings: Settings | None = None) -> Services:
    """The services `skuflow services up` started; `ServicesDownError` (a `BenchError`) naming
    the missing ones."""
    info = running((settings or Settings()).services_dir)
    return Services(
        brokers=info["kafka"].url,
        redis_url=info["redis"].url,
        postgres_dsn=info["postgres"].url,
    )


def location(site: str) -> str:
    return f"{site}/A/01/01/1/PICK"


def bench_catalog(skus: list[str]) -> CatalogFile:
    """Two sites, no safety stock, one channel that rejects shortfalls: ATP is plain stock."""
    return CatalogFile(
        skus=[SkuFile(code=code) for code in skus],
        locations=[location(site) for site in SITES],
        channels=[ChannelFile(code="web", priority=1, shortfall="reject")],
    )


@dataclass(frozen=True)
class Deployment:
    """One step's names and catalog; `env()` points a skuflow process at them."""

    prefix: str
    services: Services
    catalog_path: Path
    workdir: Path
    # as many as the engine, started with this process's environment, creates and expects
    partitions: int = field(default_factory=lambda: Settings().kafka_partitions)
    input_partitions: int = field(default_factory=lambda: Settings().kafka_input_partitions)

    @property
    def wiring(self) -> Wiring:
        return Wiring(
            brokers=self.services.brokers,
            topics=Topics(self.prefix),
            redis_url=self.services.redis_url,
            redis_prefix=self.prefix,
            postgres_dsn=self.services.postgres_dsn,
            postgres_schema=self.prefix,
            partitions=self.partitions,
            input_partitions=self.input_partitions,
        )

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "SKUFLOW_KAFKA_BROKERS": self.services.brokers,
            "SKUFLOW_REDIS_URL": self.services.redis_url,
            "SKUFLOW_POSTGRES_DSN": self.services.postgres_dsn,
            "SKUFLOW_KAFKA_TOPIC_PREFIX": self.prefix,
            "SKUFLOW_REDIS_PREFIX": self.prefix,
            "SKUFLOW_POSTGRES_SCHEMA": self.prefix,
            "SKUFLOW_CATALOG": str(self.catalog_path),
            "SKUFLOW_LOG_LEVEL": "WARNING",
            **extra,
        }


@contextmanager
def deployment(
    services: Services, catalog: CatalogFile, workdir: Path, name: str
) -> Iterator[Deployment]:
    """Fresh topics, schema and catalog file under a unique prefix; all removed afterwards."""
    prefix = f"bench{name}{uuid.uuid4().hex[:8]}"
    workdir.mkdir(parents=True, exist_ok=True)
    catalog_path = workdir / f"{prefix}.catalog.json"
    catalog_path.write_text(catalog.model_dump_json())
    made = Deployment(prefix, services, catalog_path, workdir)
    made.wiring.prepare()
    try:
        yield made
    finally:
        _remove(made)
        catalog_path.unlink(missing_ok=True)


def _remove(made: Deployment) -> None:
    topics = made.wiring.topics
    names = [*topics.inputs(), *(topics.name(stream) for stream in OUTPUTS)]
    admin = AdminClient({"bootstrap.servers": made.services.brokers})
    for future in admin.delete_topics(names).values():
        with suppress(Exception):  # a topic never created is fine
            future.result(timeout=30)
    client = redis.Redis.from_url(made.services.redis_url)
    try:
        keys = list(client.scan_iter(match=f"{made.prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()
    with psycopg.connect(made.services.postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(made.prefix))
        )


CODE_ROOT = Path(__file__).resolve().parents[2]  # the tree this bench's code was imported from


def skuflow_command() -> list[str]:
    """`skuflow` run by this Python from the code this process runs (see `child_env`)."""
    return [sys.executable, "-m", "api.cli"]


def child_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with this process's code first on a child's import path. The `skuflow` script of
    the virtualenv imports the editable install's tree, so a bench started from a private copy
    of the repository (old code beside new) would otherwise run its engine and API children on
    the shared tree's code: both sides of a comparison the same."""
    path = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(CODE_ROOT), path) if p)}


@contextmanager
def process(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """A child process logging to `log_path`, interrupted (then killed) on exit."""
    with log_path.open("wb") as log:
        child = subprocess.Popen(argv, env=child_env(env), stdout=log, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            stop(child)


def stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(10)


@contextmanager
def step_child(made: Deployment, argv: list[str], kind: str) -> Iterator[subprocess.Popen]:
    """`argv` on the deployment's settings; its log (`log_tail(made, kind)`) is kept (in the
    work folder) only when the step failed."""
    log_path = made.workdir / f"{made.prefix}.{kind}.log"
    with process(argv, made.env(), log_path) as child:
        yield child
    log_path.unlink(missing_ok=True)  # reached only when the block raised nothing


def engine(made: Deployment) -> AbstractContextManager[subprocess.Popen]:
    """`skuflow run` (tailing, one worker, routing on) on the deployment (`step_child`)."""
    return step_child(made, [*skuflow_command(), "run"], "engine")


def log_tail(made: Deployment, kind: str = "engine", lines: int = 30) -> str:
    path = made.workdir / f"{made.prefix}.{kind}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_until(
    done: Callable[[], bool], timeout: float, what: str, child: subprocess.Popen | None = None
) -> None:
    """Poll `done` every 50 ms; BenchError after `timeout` or when `child` has exited."""
    deadline = time.monotonic() + timeout
    while not done():
        if child is not None and child.poll() is not None:
            msg = f"{what}: the process exited with code {child.returncode}"
            raise BenchError(msg)
        if time.monotonic() > deadline:
            msg = f"{what}: not done after {timeout:.0f} s"
            raise BenchError(msg)
        time.sleep(0.05)


def load_average() -> float:
    """The 1-minute load average: on a shared machine, how much else ran beside the figure."""
    return round(os.getloadavg()[0], 1)


def renice(pid: int, nice: int) -> None:
    """Every thread of `pid` to `nice` (threads started later take their starter's)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.setpriority(os.PRIO_PROCESS, int(task.name), nice)
        except ProcessLookupError:
            continue  # the thread ended meanwhile
        except PermissionError as exc:
            msg = f"--engine-nice {nice}: a nice value below 0 needs root or CAP_SYS_NICE ({exc})"
            raise BenchError(msg) from exc


def load_note(start: float, end: float) -> str:
    cpus = len(os.sched_getaffinity(0))
    return (
        f"1-minute load average {start:g} at the start and {end:g} at the end, on {cpus} CPUs "
        "shared with other work."
    )


@contextmanager
def own_redis(services: Services, workdir: Path, private: bool = True) -> Iterator[Services]:
    """`services` with a Redis of the benchmark's own (stopped afterwards), or as they are.

    The shared Redis also serves other people's tests and benchmarks, whose large view writes
    (Lua scripts of 10-100+ ms) block every reader; a private one measures skuflow alone."""
    if not private:
        yield services
        return
    from connectors.services.base import stop_pid
    from connectors.services.redis import start_redis

    run_dir = workdir / f"redis-{uuid.uuid4().hex[:8]}"
    info = start_redis(run_dir)
    try:
        yield replace(services, redis_url=info.url)
    finally:
        stop_pid(info.pid)
        shutil.rmtree(run_dir, ignore_errors=True)
