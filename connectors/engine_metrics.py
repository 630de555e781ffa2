"""Prometheus metrics of `skuflow run`, served by Bytewax's own dataflow API.

Bytewax serves `GET /metrics` (and `GET /dataflow`, the flow's graph as JSON) when
`BYTEWAX_DATAFLOW_API_ENABLED` is set, on every interface at `BYTEWAX_DATAFLOW_API_PORT`: its
own metrics per step (items in and out, time spent in each input's `next_batch`, snapshots) and
whatever prometheus_client's default registry holds. `serve_engine_metrics` (what
`SKUFLOW_METRICS_PORT` turns on) sets both and adds skuflow's collector, which reads everything
when Prometheus scrapes, so the flow pays nothing per event:

    skuflow_worker_cpu_seconds_total                 the worker thread's CPU (every step of the
                                                     flow runs on it)
    skuflow_worker_waiting_for_cpu_seconds_total     runnable, but queued for a CPU (the
                                                     kernel's run queue: the machine is short
                                                     of CPUs, not the flow of work)
    skuflow_writer_unwritten_items{writer}           sent to a database writer, not yet written
    skuflow_writer_unwritten_limit_items{writer}     beyond it the flow waits for the writer
    skuflow_state_keys{step,tier}                    a stateful step's keys, hot or cold
                                                     (`dataflows.cold_state`)
    skuflow_state_cold_bytes{step}                   what the cold keys' compressed state holds
    skuflow_state_frozen_total{step}, skuflow_state_thawed_total{step},
    skuflow_state_thaw_seconds_total{step}           keys gone cold, woken, and the time waking

A worker whose CPU rate nears 1 is the flow's limit (`--processes`, or a faster machine); one
whose wait rate is high next to its CPU is starved by other processes on the machine; a writer
near its limit is held up by its database (PostgreSQL or Redis: check that one first). Thawed
keys that climb with the events mean SKUs go cold between their events: raise
`SKUFLOW_COLD_AFTER_SECONDS` if memory allows.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)


class Writer(Protocol):
    """What the collector reads of a database writer (`connectors.background.BackgroundWriter`)."""

    @property
    def name(self) -> str: ...

    @property
    def unwritten_count(self) -> int: ...

    @property
    def max_unwritten(self) -> int: ...


_WRITERS: weakref.WeakSet[Writer] = weakref.WeakSet()


def watch_writer(writer: Writer) -> None:
    """Report `writer`'s backlog while it lives (held weakly: a closed flow's writers go)."""
    _WRITERS.add(writer)


@dataclass(frozen=True)
class Tiering:
    """A stateful step's hot and cold keys, summed over its worker threads
    (`dataflows.cold_state.IdleKeys.tiering`)."""

    step: str
    hot_keys: int
    cold_keys: int
    cold_bytes: int  # the frozen states' objects (`sys.getsizeof`), header included
    froze: int
    thawed: int
    freeze_seconds: float
    thaw_seconds: float


class TieredStep(Protocol):
    def tiering(self) -> Tiering: ...


_STEPS: weakref.WeakSet[TieredStep] = weakref.WeakSet()


def watch_step(step: TieredStep) -> None:
    """Report `step`'s hot and cold keys while it lives (held weakly)."""
    _STEPS.add(step)


def watched_steps() -> list[TieredStep]:
    return list(_STEPS)


def step_tiers() -> list[Tiering]:
    """Every watched step's figures, by step name."""
    return sorted((step.tiering() for step in watched_steps()), key=lambda t: t.step)


def thread_times(thread_id: int, process: int | str = "self") -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but queued for one) of a thread of `process` (this
    one by default), from Linux's schedstat; None where the kernel does not say."""
    try:
        fields = Path(f"/proc/{process}/task/{thread_id}/schedstat").read_text().split()
    except OSError:
        return None
    return int(fields[0]) / 1e9, int(fields[1]) / 1e9


class EngineCollector(Collector):
    """skuflow's engine metrics (module doc), read at each scrape."""

    def __init__(self, worker_thread_id: int) -> None:
        self._worker = worker_thread_id

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        times = thread_times(self._worker)
        if times is not None:
            on_cpu, queued = times
            yield CounterMetricFamily(
                "skuflow_worker_cpu_seconds",
                "CPU seconds of the Bytewax worker thread (every step of the flow runs on it).",
                value=on_cpu,
            )
            yield CounterMetricFamily(
                "skuflow_worker_waiting_for_cpu_seconds",
                "Seconds the worker thread was runnable but queued for a CPU (kernel run queue).",
                value=queued,
            )
        unwritten = GaugeMetricFamily(
            "skuflow_writer_unwritten_items",
            "Items sent to a database writer thread and not yet written.",
            labels=["writer"],
        )
        limit = GaugeMetricFamily(
            "skuflow_writer_unwritten_limit_items",
            "Unwritten items beyond which the flow waits for that writer.",
            labels=["writer"],
        )
        for writer in list(_WRITERS):
            unwritten.add_metric([writer.name], writer.unwritten_count)
            limit.add_metric([writer.name], writer.max_unwritten)
        yield unwritten
        yield limit
        yield from _state_metrics(step_tiers())


def _state_metrics(tiers: list[Tiering]) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    keys = GaugeMetricFamily(
        "skuflow_state_keys",
        "Keys of a stateful step: hot (held as objects) or cold (held compressed).",
        labels=["step", "tier"],
    )
    cold_bytes = GaugeMetricFamily(
        "skuflow_state_cold_bytes", "Bytes the cold keys' compressed state holds.", labels=["step"]
    )
    froze = CounterMetricFamily(
        "skuflow_state_frozen", "Keys frozen after their idle time.", labels=["step"]
    )
    thawed = CounterMetricFamily(
        "skuflow_state_thawed", "Cold keys thawed by an event.", labels=["step"]
    )
    thaw_seconds = CounterMetricFamily(
        "skuflow_state_thaw_seconds", "Worker seconds spent thawing cold keys.", labels=["step"]
    )
    freeze_seconds = CounterMetricFamily(
        "skuflow_state_freeze_seconds",
        "Worker seconds spent finding idle keys and freezing them (the flow waits meanwhile).",
        labels=["step"],
    )
    for tier in tiers:
        keys.add_metric([tier.step, "hot"], tier.hot_keys)
        keys.add_metric([tier.step, "cold"], tier.cold_keys)
        cold_bytes.add_metric([tier.step], tier.cold_bytes)
        froze.add_metric([tier.step], tier.froze)
        thawed.add_metric([tier.step], tier.thawed)
        thaw_seconds.add_metric([tier.step], tier.thaw_seconds)
        freeze_seconds.add_metric([tier.step], tier.freeze_seconds)
    yield from (keys, cold_bytes, froze, thawed, thaw_seconds, freeze_seconds)


_served: list[int] = []  # the port, once served: the collector is registered once a process


def port_is_free(port: int) -> bool:
    """Whether Bytewax could listen on `port` (it binds every interface, as this tries)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - where Bytewax's API server listens
        except OSError:
            return False
    return True


def serve_engine_metrics(port: int, cache_dir: Path) -> bool:
    """Have Bytewax serve `/metrics` on `port` (all interfaces) for the flow this process runs
    next, with skuflow's collector in it; call on the thread that will run the worker. Bytewax
    writes the flow's graph to `cache_dir/dataflow.json` when it starts. A port already taken
    is logged as an error and the flow runs without metrics (Bytewax's server would panic on
    its thread); returns whether metrics will be served."""
    if _served:
        if _served[0] != port:
            msg = f"engine metrics are served on port {_served[0]} already, not {port}"
            raise RuntimeError(msg)
        return True
    if not port_is_free(port):
        log.error(
            "metrics: port %d is in use, so no metrics are served; set SKUFLOW_METRICS_PORT to a "
            "free port (another skuflow run on this machine?)",
            port,
        )
        return False
    cache_dir.mkdir(parents=True, exist_ok=True)
    os.environ["BYTEWAX_DATAFLOW_API_ENABLED"] = "1"
    os.environ["BYTEWAX_DATAFLOW_API_PORT"] = str(port)
    os.environ["BYTEWAX_DATAFLOW_API_CACHE_PATH"] = str(cache_dir)
    REGISTRY.register(EngineCollector(threading.get_native_id()))
    _served.append(port)
    log.info("metrics: http://0.0.0.0:%d/metrics (Bytewax's steps and skuflow's engine)", port)
    return True
