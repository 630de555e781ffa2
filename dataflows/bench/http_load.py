"""An open-loop HTTP load generator, and a null server to measure the generator's own overhead.

Request n is due at start + n/rate whatever the server does (open loop), and its latency runs
from when it was due, so a server that falls behind is charged for the queueing it causes (no
coordinated omission). Each request's time from when it was sent (it left when a connection was
free and the generator got to it) is kept beside: the server's answer time alone, without the
queueing. The difference is what a figure owes to waiting, in the generator or for the server;
asyncio's timers wake in whole milliseconds, so even against a server that answers at once a
request leaves up to 1 ms after it was due (the null server's p50 of ~0.8 ms from due, ~0.2 ms
from sent). The client speaks just enough HTTP/1.1 (GET, keep-alive, Content-Length)
over a pool of asyncio connections: a general client (httpx) spends more CPU per request than
the server under test, and on two cores the generator must stay well below the server's cost.
`null_server` answers every request at once with a fixed body, so the generator's latency
against it is the floor it adds to every figure. `uvicorn_server` answers the same body through
uvicorn (uvloop, httptools) and a bare ASGI app: the floor of any app served as `skuflow serve`
serves the API, on this machine at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from starlette.types import Receive, Scope, Send


@dataclass(frozen=True)
class Load:
    host: str
    port: int
    paths: tuple[str, ...]  # requested round-robin
    headers: tuple[tuple[str, str], ...] = ()
    rate: float = 1000.0
    duration: float = 5.0
    warmup: float = 1.0  # requests due in the first seconds are not recorded
    connections: int = 32


@dataclass(frozen=True)
class Outcome:
    rate: float
    latencies_ms: list[float]  # from each request's due time
    errors: int  # non-2xx answers and failed requests among those recorded
    statuses: dict[int, int]
    seconds: float  # from the first recorded request's due time to the last answer
    answer_ms: list[float] = field(default_factory=list)  # from when each was sent


def _request_bytes(load: Load, path: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {load.host}:{load.port}"]
    lines += [f"{name}: {value}" for name, value in load.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _run(load: Load) -> Outcome:
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(load.connections):
        pool.put_nowait(await asyncio.open_connection(load.host, load.port))
    requests = [_request_bytes(load, path) for path in load.paths]
    latencies: list[float] = []
    answers: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    last_done = 0.0
    pending: set[asyncio.Task[None]] = set()

    async def one(n: int, due: float, record: bool) -> None:
        nonlocal errors, last_done
        reader, writer = await pool.get()
        sent = time.perf_counter()
        try:
            status = await _exchange(reader, writer, requests[n % len(requests)])
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status = 0
            writer.close()
            reader, writer = await asyncio.open_connection(load.host, load.port)
        pool.put_nowait((reader, writer))
        done = time.perf_counter()
        if record:
            latencies.append((done - due) * 1000)
            answers.append((done - sent) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            errors += not 200 <= status < 300
            last_done = max(last_done, done)

    total = int(load.rate * (load.warmup + load.duration))
    skipped = int(load.rate * load.warmup)
    start = time.perf_counter()
    n = 0
    while n < total:
        now = time.perf_counter()
        while n < total and start + n / load.rate <= now:
            task = asyncio.create_task(one(n, start + n / load.rate, n >= skipped))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1
        await asyncio.sleep(max(0.0, start + n / load.rate - time.perf_counter()))
    await asyncio.wait_for(asyncio.gather(*pending), timeout=60)
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    first_due = start + skipped / load.rate
    seconds = max(last_done - first_due, 1e-9)
    return Outcome(load.rate, latencies, errors, statuses, seconds, answers)


def generate(load: Load) -> Outcome:
    """Run one load to completion (call it in a process of its own)."""
    return asyncio.run(_run(load))


NULL_BODY = b'{"sku":"NULL","network":0}'


async def _serve_null(port: int) -> None:
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(NULL_BODY)}\r\n\r\n".encode()
        + NULL_BODY
    )

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(response)
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


async def _constant_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(NULL_BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": NULL_BODY})


def uvicorn_server(port: int) -> None:
    """Serve the fixed answer through uvicorn on 127.0.0.1:`port` until the process is stopped."""
    import uvicorn

    uvicorn.run(_constant_app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


def null_server(port: int) -> None:
    """Serve the fixed answer on 127.0.0.1:`port` until the process is stopped."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_null(port))
