"""Where the machine's CPU went during a step: the engine, the broker, PostgreSQL, Redis, the
bench itself, anything else.

A bench step shares the machine with the services it measures. On a 2-CPU machine the engine's
own CPU says little about a missed latency target until it stands beside everything else's: a
worker queued for a CPU waits on the broker, PostgreSQL and the load generator as much as on
itself. `MachineCpu` reads every process's CPU time (psutil) when made and when asked, and
groups the difference:

    engine      the measured process (`skuflow run`, or the ceiling's bare flow) and its children
    Kafka       the broker (a JVM whose command line names Kafka)
    PostgreSQL  every `postgres` process (the server and each connection's backend)
    Redis       every `redis-server`
    bench       this process: the producer offering the load and the watcher reading Redis
    other       the rest of the machine

`machine` is the whole machine's busy time (every CPU's non-idle time, from the kernel), in
cores. A process that both started and ended within the window is missed by the per-process
groups, never by `machine`.

`pressure` is the share of the window in which at least one runnable task waited for a CPU
(the kernel's pressure stall information, `/proc/pressure/cpu`, "some"): an average of cores
busy hides bursts in which every CPU is taken, and this counts them. NaN where the kernel does
not report it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

GROUPS = ("engine", "Kafka", "PostgreSQL", "Redis", "bench", "other")


@dataclass(frozen=True)
class CpuSplit:
    """Cores (CPU seconds per wall second) per group, and the machine's busy cores."""

    cores: dict[str, float]
    machine: float
    pressure: float = float("nan")


def _group(process: psutil.Process, engine: set[int], bench: int) -> str:
    pid = process.pid
    if pid in engine:
        return "engine"
    if pid == bench:
        return "bench"
    name = process.info["name"] or ""
    if name.startswith("postgres"):
        return "PostgreSQL"
    if name.startswith("redis-server"):
        return "Redis"
    if name == "java" and "kafka" in " ".join(process.info["cmdline"] or ()).lower():
        return "Kafka"
    return "other"


CPU_PRESSURE = Path("/proc/pressure/cpu")


def _cpu_stalled_seconds() -> float:
    """Seconds in which some runnable task waited for a CPU, since boot; NaN if unknown."""
    try:
        for line in CPU_PRESSURE.read_text().splitlines():
            if line.startswith("some "):
                return int(line.rsplit("total=", 1)[1]) / 1e6
    except (OSError, ValueError, IndexError):
        pass
    return float("nan")


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class MachineCpu:
    """CPU per group from now on (see the module docstring); `engine_pid` is the measured
    process."""

    def __init__(self, engine_pid: int) -> None:
        self._engine_pid = engine_pid
        self._began = time.monotonic()
        self._busy = _busy_seconds()
        self._stalled = _cpu_stalled_seconds()
        self._used = self._per_process()

    def _engine_pids(self) -> set[int]:
        try:
            engine = psutil.Process(self._engine_pid)
            return {self._engine_pid, *(child.pid for child in engine.children(recursive=True))}
        except psutil.NoSuchProcess:
            return {self._engine_pid}

    def _per_process(self) -> dict[int, tuple[str, float]]:
        engine, bench = self._engine_pids(), os.getpid()
        used: dict[int, tuple[str, float]] = {}
        for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            times = process.info["cpu_times"]
            if times is None:  # gone, or not ours to read
                continue
            used[process.pid] = (_group(process, engine, bench), times.user + times.system)
        return used

    def split(self) -> CpuSplit:
        seconds = max(time.monotonic() - self._began, 1e-9)
        busy = _busy_seconds() - self._busy
        cores = dict.fromkeys(GROUPS, 0.0)
        for pid, (group, now) in self._per_process().items():
            before = self._used.get(pid)
            # A process started since: all its time is in the window.
            spent = now - before[1] if before is not None and before[0] == group else now
            cores[group] += max(0.0, spent) / seconds
        pressure = (_cpu_stalled_seconds() - self._stalled) / seconds
        return CpuSplit(cores, busy / seconds, pressure)
