"""`skuflow demo`: the whole engine on embedded defaults, with the API on localhost.

The Online Retail year (or, without the data, a simulated multi-site floor) is fed at a chosen
speed through the real dataflow, core, embedded PostgreSQL ledger and in-memory live view; the
API serves it on http://127.0.0.1:<port> with freshly generated keys, printed at start. Ctrl-C
stops feeding, lets the flow drain its queue into the ledger, and stops PostgreSQL cleanly.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.app import create_app
from api.auth import ApiKeys
from api.deps import ApiDeps
from api.ledger_reader import LedgerReader
from api.publisher import QueuePublisher
from api.refusals import LedgerRefusals
from api.server import keys_banner
from connectors.replay.online_retail import ReplayStats, build_catalog, data_file, replay
from connectors.replenishment_config import replenishment_for
from connectors.replenishment_master import MasterFileError
from connectors.routing_config import routing_policy_for
from connectors.settings import Settings
from connectors.simulator import build_catalog as simulated_catalog
from connectors.simulator import simulate
from dataflows.cold_state import ColdPolicy
from dataflows.embedded import SCHEMA, EmbeddedEngine
from state.catalog import Catalog
from state.events import Event


@dataclass(frozen=True)
class DemoOptions:
    port: int = 8000
    speed: float = 86_400.0  # event seconds per wall second: a day of trading a second
    simulate: bool = False
    data_dir: Path = Path("../shared/data")
    work_dir: Path = Path(".demo")
    limit_rows: int | None = None


def choose_stream(
    options: DemoOptions, console: Console
) -> tuple[Catalog, Iterable[Event | bytes], str]:
    if not options.simulate:
        try:
            path = data_file(options.data_dir)
        except FileNotFoundError as exc:
            console.print(f"[yellow]{exc}[/yellow]\nRunning the simulated floor instead.")
        else:
            stats = ReplayStats()
            events = replay(path, limit_rows=options.limit_rows, stats=stats)
            return build_catalog(path), events, "the Online Retail year (UCI, CC BY 4.0)"
    return simulated_catalog(), simulate(10**9), "a simulated three-site floor"


def paced(
    events: Iterable[Event | bytes], speed: float, stop: threading.Event
) -> Iterator[Event | bytes]:
    start_wall = time.monotonic()
    start_event = None
    for event in events:
        if stop.is_set():
            return
        if speed > 0 and not isinstance(event, bytes):
            start_event = start_event or event.occurred_at
            due = (event.occurred_at - start_event).total_seconds() / speed
            while (wait := start_wall + due - time.monotonic()) > 0 and not stop.is_set():
                time.sleep(min(wait, 0.2))
        yield event


def run_demo_server(options: DemoOptions, console: Console | None = None) -> None:
    console = console or Console()
    catalog, events, what = choose_stream(options, console)
    name = "online-retail" if "Online Retail" in what else ""
    policy = routing_policy_for(name, catalog)
    settings = Settings()
    try:
        replenishment = replenishment_for(settings, name, catalog, options.data_dir)
    except MasterFileError as exc:
        console.print(str(exc), style="red", markup=False)
        raise SystemExit(2) from None
    engine = EmbeddedEngine(
        catalog,
        options.work_dir / "postgres",
        routing_policy=policy,
        replenishment_config=replenishment.config,
        cold=ColdPolicy(after_seconds=settings.cold_after_seconds),
    ).start()
    keys, key_of = ApiKeys.generate()
    ledger = LedgerReader(engine.dsn, SCHEMA, max_size=4)
    deps = ApiDeps(
        view=engine.view,
        ledger=ledger,
        publisher=QueuePublisher(engine.source),
        catalog=catalog,
        auth=keys,
        refusals=LedgerRefusals(engine.dsn, SCHEMA),
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(deps), host="127.0.0.1", port=options.port, log_level="warning")
    )
    web = threading.Thread(target=server.run, name="api", daemon=True)
    web.start()
    base = f"http://127.0.0.1:{options.port}"
    console.print(f"[bold]skuflow demo[/bold]: {what}, at {options.speed:,.0f}× real time.")
    console.print(f"Replenishment settings: {replenishment.source}")
    console.print(f"[bold]Dashboard: {base}/[/bold]  (open it and paste the admin key below)")
    console.print(f"API: {base}/v1   docs: {base}/docs   health: {base}/healthz")
    console.print(keys_banner(key_of).replace(".../", f"{base}/"))
    console.print("Ctrl-C stops the demo; the ledger is left intact.\n")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        _feed(engine, paced(events, options.speed, stop), stop, console)
        if not stop.is_set():
            console.print("The stream is done; still serving. Ctrl-C to stop.")
            stop.wait()
    finally:
        console.print("Stopping: draining the dataflow's queue into the ledger…")
        engine.stop()
        server.should_exit = True
        web.join(timeout=10)
        ledger.close()
        console.print(
            f"Stopped. {engine.published:,} events fed; {len(engine.view.skus()):,} SKUs in view."
        )


def _feed(
    engine: EmbeddedEngine, events: Iterable[Event | bytes], stop: threading.Event, console: Console
) -> None:
    with Progress(
        TextColumn("[bold]feeding[/bold] {task.fields[day]}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} events · {task.fields[skus]} SKUs live"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("feed", total=None, day="", skus="0")
        for n, event in enumerate(events, 1):
            engine.publish([event])
            if n % 500 == 0:
                day = "" if isinstance(event, bytes) else event.occurred_at.date().isoformat()
                progress.update(task, completed=n, day=day, skus=f"{len(engine.view.skus()):,}")
            if stop.is_set():
                return
