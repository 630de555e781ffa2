"""Latency of ATP reads through the API: p50/p99 at rising request rates, the dataflow running.

One deployment (`dataflows.bench.engine`): `skuflow run` folds a steady feed of receipts
(`feed_rate`/s, so the view keeps changing under the reads), `skuflow serve` answers in its own
process with Redis behind it, and an open-loop generator (`dataflows.bench.http_load`, in
processes of its own) asks `GET /v1/atp/{sku}` over the seeded SKUs with a channel key. Rates
rise until p99 passes `stop_p99_ms`. The same generator against a null server that answers at
once gives, per rate, the floor the generator itself adds, and against uvicorn answering a
constant body, the floor of the server stack the API stands on (both reported beside every
figure).
"""

from __future__ import annotations

import json
import math
import multiprocessing
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from connectors.services.base import free_port
from dataflows.bench.engine import (
    BenchError,
    Deployment,
    Services,
    bench_catalog,
    deployment,
    engine,
    load_average,
    load_note,
    log_tail,
    own_redis,
    process,
    running_services,
    skuflow_command,
    wait_until,
)
from dataflows.bench.freshness import ReceiptTemplate, network_atp, producer, send
from dataflows.bench.http_load import Load, Outcome, generate, null_server, uvicorn_server
from dataflows.bench.report import Figure, median, percentile, write

TARGET_RATE, TARGET_P99_MS = 2000, 5.0


@dataclass(frozen=True)
class Options:
    rates: tuple[int, ...] = (250, 500, 1000, 2000, 4000)
    duration: float = 5.0  # recorded seconds per rate
    warmup: float = 1.0  # unrecorded seconds at each rate first
    stop_p99_ms: float = 10.0
    runs: int = 3
    skus: int = 1000
    feed_rate: int = 200  # receipts/s folded by the dataflow during the reads
    connections: int = 32
    generators: int = 1  # load generator processes (the rate is split between them)
    api_workers: int = 1  # `skuflow serve --workers N`
    private_redis: bool = True  # a Redis of its own (`engine.own_redis`), not the shared one


@dataclass(frozen=True)
class Measured:
    rate: int
    achieved_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    p99_answer_ms: float = float("nan")  # from each request's send, not its due time
    api_cpu_us: float = float("nan")  # the API server's CPU per request (user + system)
    redis_cpu_us: float = float("nan")  # Redis's CPU per request (it also serves the writes)


def summary(rate: int, outcomes: list[Outcome]) -> Measured:
    latencies = [ms for outcome in outcomes for ms in outcome.latencies_ms]
    seconds = max(outcome.seconds for outcome in outcomes)
    return Measured(
        rate=rate,
        achieved_per_s=len(latencies) / seconds,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=float("nan")),
        errors=sum(outcome.errors for outcome in outcomes),
        p99_answer_ms=percentile([ms for outcome in outcomes for ms in outcome.answer_ms], 99),
    )


class CpuClock:
    """CPU seconds used so far by the API server (its worker processes included) and by Redis,
    read from the kernel (psutil): what a request costs them, whatever the machine's load."""

    def __init__(self, api_pid: int, redis_url: str | None = None) -> None:
        self._api = psutil.Process(api_pid)
        self._redis: psutil.Process | None = None  # none: a calibration server alone
        if redis_url is not None:
            client = redis.Redis.from_url(redis_url, socket_timeout=2)
            try:
                self._redis = psutil.Process(int(client.info("server")["process_id"]))
            finally:
                client.close()

    def read(self) -> tuple[float, float]:
        processes = [self._api, *self._api.children(recursive=True)]
        api = sum(_cpu_seconds(process) for process in processes)
        return api, float("nan") if self._redis is None else _cpu_seconds(self._redis)


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def measure(pool: Executor, load: Load, generators: int, cpu: CpuClock | None = None) -> Measured:
    """`load` split over `generators` processes, run at once, merged; with `cpu`, the server's
    and Redis's CPU per request sent (warm-up included)."""
    part = replace(load, rate=load.rate / generators)
    before = cpu.read() if cpu else None
    outcomes = list(pool.map(generate, [part] * generators))
    measured = summary(int(load.rate), outcomes)
    if cpu is None or before is None:
        return measured
    (api_before, redis_before), (api_after, redis_after) = before, cpu.read()
    sent = load.rate * (load.warmup + load.duration)
    return replace(
        measured,
        api_cpu_us=(api_after - api_before) / sent * 1e6,
        redis_cpu_us=(redis_after - redis_before) / sent * 1e6,
    )


class Feeder(threading.Thread):
    """Receipts at a steady rate over the SKUs, so the dataflow keeps writing the view."""

    def __init__(self, made: Deployment, skus: list[str], rate: int) -> None:
        super().__init__(daemon=True)
        self._made, self._skus, self._rate = made, skus, rate
        self.stopping = threading.Event()
        self.sent = 0

    def run(self) -> None:
        out = producer(self._made.services.brokers)
        topic = self._made.wiring.topics.name("receipts")
        template = ReceiptTemplate()
        start = time.time()
        while not self.stopping.is_set() and self._rate > 0:
            due = int((time.time() - start) * self._rate)
            while self.sent < due:
                sku = self._skus[self.sent % len(self._skus)]
                now = time.time()
                send(out, topic, sku, template.payload(f"feed-{self.sent}", sku, now), now)
                self.sent += 1
            out.poll(0)
            time.sleep(0.01)
        out.flush(30)


def _get(url: str, key: str | None = None) -> int:
    """The status of one plain GET (0 when nothing answers): for start-up checks only."""
    try:
        answer = httpx.get(
            url, headers={"Authorization": f"Bearer {key}"} if key else {}, timeout=2
        )
    except httpx.HTTPError:
        return 0
    return answer.status_code


def ladder(
    pool: Executor,
    load: Load,
    options: Options,
    log: Callable[[str], Any],
    what: str,
    cpu: CpuClock | None = None,
) -> list[Measured]:
    """Each rate in turn until p99 passes `stop_p99_ms` (that rate included), but always up to
    the target's rate, so the target is measured rather than inferred."""
    measured = []
    for rate in options.rates:
        result = measure(pool, replace(load, rate=rate), options.generators, cpu)
        measured.append(result)
        spent = (
            ""
            if cpu is None
            else f", CPU per request: API {result.api_cpu_us:.0f} µs, "
            f"Redis {result.redis_cpu_us:.0f} µs"
        )
        log(
            f"{what} at {rate:,}/s: p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms "
            f"({result.p99_answer_ms:.2f} ms from send), "
            f"achieved {result.achieved_per_s:,.0f}/s, errors {result.errors}{spent}"
        )
        if result.p99_ms > options.stop_p99_ms and rate >= TARGET_RATE:
            break
    return measured


def run(
    options: Options,
    out: Path,
    workdir: Path,
    log: Callable[[str], Any] = print,
    services: Services | None = None,
) -> Figure:
    services = services or running_services()
    load_start = load_average()
    skus = [f"ATP-{n:05d}" for n in range(options.skus)]
    key = secrets.token_urlsafe(32)
    spawn = multiprocessing.get_context("spawn")
    paths = tuple(f"/v1/atp/{sku}" for sku in skus)
    load = Load(
        host="127.0.0.1",
        port=0,
        paths=paths,
        headers=(("Authorization", f"Bearer {key}"),),
        duration=options.duration,
        warmup=options.warmup,
        connections=options.connections,
    )
    port = free_port()
    with (
        own_redis(services, workdir, options.private_redis) as used,
        deployment(used, bench_catalog(skus), workdir, "atp") as made,
        engine(made) as child,
        process(
            [
                *skuflow_command(),
                "serve",
                "--port",
                str(port),
                "--workers",
                str(options.api_workers),
            ],
            made.env(SKUFLOW_API_KEYS=json.dumps({key: "channel"})),
            api_log := made.workdir / f"{made.prefix}.api.log",
        ) as api,
        ProcessPoolExecutor(options.generators, mp_context=spawn) as pool,
    ):
        # The engine, the API and the generator processes start side by side.
        _seed(made, skus, child)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: _get(f"{base}/healthz") == 200, 60, "API start", api)
        status = _get(f"{base}{paths[0]}", key)
        if status != 200:
            msg = f"GET {paths[0]} answered {status}, not 200:\n{log_tail(made, 'api')}"
            raise BenchError(msg)
        feeder = Feeder(made, skus, options.feed_rate)
        feeder.start()
        try:
            # The generator's floor, measured with the engine and the API up and fed.
            floor = _calibrate(pool, load, options, log, spawn, null_server)
            stack = _calibrate(pool, load, options, log, spawn, uvicorn_server)
            cpu = CpuClock(api.pid, used.redis_url)
            runs = [
                ladder(pool, replace(load, port=port), options, log, f"run {n + 1}", cpu)
                for n in range(options.runs)
            ]
        finally:
            feeder.stopping.set()
            feeder.join(30)
        if child.poll() is not None:
            msg = f"the engine died during the reads:\n{log_tail(made)}"
            raise BenchError(msg)
    api_log.unlink(missing_ok=True)  # kept only when the figure failed
    by_rate: dict[int, list[Measured]] = defaultdict(list)
    for measured in runs:
        for result in measured:
            by_rate[result.rate].append(result)
    rows = [
        _row(rate, by_rate[rate], floor.get(rate), stack.get(rate))
        for rate in options.rates
        if by_rate[rate]
    ]
    loads = (load_start, load_average())
    figure = Figure(
        name="latency",
        rows=rows,
        markdown=markdown(rows, options, feeder.sent) + "\n" + load_note(*loads),
        parameters={
            **asdict(options),
            "load_average_1min": loads,
            "feed_receipts_sent": feeder.sent,
            "runs_detail": [[asdict(m) for m in measured] for measured in runs],
            "generator_floor": {rate: asdict(m) for rate, m in floor.items()},
            "uvicorn_floor": {rate: asdict(m) for rate, m in stack.items()},
        },
    )
    write(figure, out)
    return figure


def _calibrate(
    pool: Executor,
    load: Load,
    options: Options,
    log: Callable[[str], Any],
    spawn: Any,
    serve: Callable[[int], None],
) -> dict[int, Measured]:
    """The generator against a server that answers at once (`serve`: the null server, or
    uvicorn with a constant app), at every rate: the floor under the API's figures."""
    port = free_port()
    server = spawn.Process(target=serve, args=(port,), daemon=True)
    server.start()
    what = "generator alone" if serve is null_server else "uvicorn alone"
    try:
        wait_until(lambda: _get(f"http://127.0.0.1:{port}/") == 200, 30, f"{what}: server start")
        quick = replace(options, stop_p99_ms=float("inf"))
        cpu = CpuClock(server.pid) if server.pid is not None else None
        measured = ladder(pool, replace(load, port=port), quick, log, what, cpu)
    finally:
        server.terminate()
        server.join(10)
    return {m.rate: m for m in measured}


def _seed(made: Deployment, skus: list[str], child: Any) -> None:
    """Stock every SKU at both sites; wait until the view shows it all."""
    out = producer(made.services.brokers)
    topic = made.wiring.topics.name("receipts")
    for site in ("LON", "MAN"):
        template = ReceiptTemplate(site)
        for sku in skus:
            now = time.time()
            send(out, topic, sku, template.payload(f"seed-{site}-{sku}", sku, now), now)
    out.flush(30)
    url = made.services.redis_url
    wait_until(
        lambda: min(network_atp(url, made.prefix, skus).values()) >= 2,
        120,
        f"seeding the view\n{log_tail(made)}",
        child,
    )


def _row(
    rate: int, measured: list[Measured], floor: Measured | None, stack: Measured | None
) -> dict[str, Any]:
    row: dict[str, Any] = {"rate": rate, "runs": len(measured)}
    for name in (
        "achieved_per_s",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "p99_answer_ms",
        "api_cpu_us",
        "redis_cpu_us",
    ):
        row[name] = median([getattr(m, name) for m in measured])
    row["generator_p50_ms"] = floor.p50_ms if floor else None
    row["generator_p99_ms"] = floor.p99_ms if floor else None
    row["uvicorn_p50_ms"] = stack.p50_ms if stack else None
    row["uvicorn_p99_ms"] = stack.p99_ms if stack else None
    row["uvicorn_cpu_us"] = stack.api_cpu_us if stack else None
    if rate == TARGET_RATE:
        row["target"] = f"p99 ≤ {TARGET_P99_MS:g} ms"
        row["target_met"] = row["p99_ms"] <= TARGET_P99_MS and row["errors"] == 0
    return row


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _us(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:,.0f}"


def markdown(rows: list[dict[str, Any]], options: Options, fed: int) -> str:
    lines = [
        "| requests/s | answered/s | p50 ms | p99 ms | max ms | errors | p99 from send ms "
        "| CPU per request: API / Redis / uvicorn alone µs "
        "| generator alone p50 / p99 ms | uvicorn alone p50 / p99 ms | target |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for row in rows:
        target = ""
        if "target" in row:
            target = f"{row['target']}: {'met' if row['target_met'] else '**missed**'}"
        lines.append(
            f"| {row['rate']:,} | {row['achieved_per_s']:,.0f} | {_ms(row['p50_ms'])} "
            f"| {_ms(row['p99_ms'])} | {_ms(row['max_ms'])} | {row['errors']:,.0f} "
            f"| {_ms(row['p99_answer_ms'])} "
            f"| {_us(row.get('api_cpu_us'))} / {_us(row.get('redis_cpu_us'))} "
            f"/ {_us(row.get('uvicorn_cpu_us'))} "
            f"| {_ms(row['generator_p50_ms'])} / {_ms(row['generator_p99_ms'])} "
            f"| {_ms(row.get('uvicorn_p50_ms'))} / {_ms(row.get('uvicorn_p99_ms'))} | {target} |"
        )
    reached = {row["rate"] for row in rows}
    redis = "a Redis of its own" if options.private_redis else "the shared Redis"
    notes = [
        "",
        f"`GET /v1/atp/{{sku}}` over {options.skus:,} SKUs with a channel key; `skuflow serve` "
        f"({_processes(options.api_workers)}) on {redis} while `skuflow run` folds "
        f"{options.feed_rate}/s receipts ({fed:,} in all). Open loop: latency from each "
        f"request's due time, "
        f"{options.connections} keep-alive connections from {options.generators} generator "
        f"process(es); {options.warmup:g} s warm-up then {options.duration:g} s recorded per "
        f"rate; median of {options.runs} runs; rates rise until p99 passes "
        f"{options.stop_p99_ms:g} ms (and at least to {TARGET_RATE:,}/s, the target's rate). "
        "`generator alone`: the same generator against a server "
        "that answers at once, the floor it adds; `uvicorn alone`: the same against uvicorn "
        "(uvloop, httptools) answering a constant body from a bare ASGI app, the floor of the "
        "stack the API is served by. `p99 from send`: from when each request "
        "left rather than when it was due (the server's answer time, without the queueing "
        "behind a slow answer or a late generator; not the figure the target is judged on). "
        "`CPU per request`: the API server's and Redis's CPU time (user + system, from the "
        "kernel) over a rate's warm-up and recording, per request sent; Redis's includes the "
        "dataflow's view writes; `uvicorn alone`'s, that of the constant-body server.",
    ]
    if TARGET_RATE not in reached:
        notes.append(
            f"Target (p99 ≤ {TARGET_P99_MS:g} ms at {TARGET_RATE:,}/s): not measured, "
            f"{TARGET_RATE:,}/s was not among the rates."
        )
    for row in rows:
        if row.get("target_met") is False:
            floor, stack = row["generator_p99_ms"], row.get("uvicorn_p99_ms")
            notes.append(
                f"Target missed at {row['rate']:,}/s: p99 {row['p99_ms']:.1f} ms, "
                f"{row['achieved_per_s']:,.0f} answered/s. The API is "
                f"{_processes(options.api_workers)} (uvloop and httptools; a plain "
                "ATP read is answered before FastAPI's middleware and routing, from an in-process "
                "copy of the view that Redis keeps current, else in one Redis script call with "
                "the reads waiting at once) sharing two "
                "CPUs with the dataflow, Redis, the generator and other work"
                + (f"; the generator alone already shows p99 {floor:.1f} ms here" if floor else "")
                + (f", uvicorn with a constant body {stack:.1f} ms" if stack else "")
                + "."
            )
    return "\n".join(lines + notes)


def _processes(workers: int) -> str:
    return "one uvicorn process" if workers == 1 else f"{workers} uvicorn worker processes"
