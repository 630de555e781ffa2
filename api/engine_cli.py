"""The engine's commands: `run`, `replay`, `verify`, `check`, `rebuild-view` (registered on
`skuflow`)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from connectors.settings import Settings
from state.events import Event

if TYPE_CHECKING:
    from state.catalog import Catalog
    from state.replenishment import ReplenishmentConfig

log = logging.getLogger("skuflow")
console = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def _setup(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run(
    until_end: Annotated[
        bool, typer.Option("--until-end", help="Stop when the topics are read (no tailing).")
    ] = False,
    stage: Annotated[
        str, typer.Option(help="all, sequence (topics → log) or fold (log → ledger and view).")
    ] = "all",
    processes: Annotated[
        int, typer.Option(help="Run as a Bytewax cluster of this many local processes.")
    ] = 1,
    process_id: Annotated[
        int | None, typer.Option(help="This process's index in a cluster.")
    ] = None,
    addresses: Annotated[
        str | None, typer.Option(help="host:port of every cluster process, ';'-separated.")
    ] = None,
    recovery_dir: Annotated[
        Path | None, typer.Option(help="Bytewax recovery partitions (else SKUFLOW_RECOVERY_DIR).")
    ] = None,
    first_port: Annotated[
        int, typer.Option(help="First port of a local cluster (0: any free ports).")
    ] = 2101,
    routing: Annotated[
        bool, typer.Option(help="Plan each order's sites and write one decision per order.")
    ] = True,
    hold_minutes: Annotated[
        float,
        typer.Option(
            help="Reservations not picked this long after routing expire (0: never); the "
            "default outlasts the Online Retail replay's 2-hour pick delay."
        ),
    ] = 240.0,
    batch_minutes: Annotated[
        float,
        typer.Option(
            help="Hold orders bound for one zone this many minutes of event time and plan them "
            "together, so they share shipments (0: plan each order on arrival)."
        ),
    ] = 0.0,
) -> None:
    """Run the inventory dataflow: Kafka in; Redis view, PostgreSQL ledger, Kafka changes out.

    Reorder proposals follow SKUFLOW_REPLENISHMENT_* and the per-SKU master file
    SKUFLOW_REPLENISHMENT_FILE (a CSV; a bad row stops the start, naming its line and field).
    """
    from bytewax.dataflow import Dataflow

    from connectors.routing_config import routing_policy_for
    from dataflows.gc_tuning import hold_collector_for_start_up, tune_for_streaming
    from dataflows.production import Wiring, log_fold_flow, sequenced_flow, sequencer_flow
    from dataflows.routing import Routing
    from dataflows.runner import run_cluster, run_flow

    settings = _settings()
    _setup(settings)
    # The "start-up:" lines time a restart's phases (`skuflow bench recovery` reads them).
    log.info("start-up: settings read")
    if stage not in ("all", "sequence", "fold"):
        raise typer.BadParameter("stage is all, sequence or fold")
    recovery = recovery_dir or settings.recovery_dir
    if recovery is None and not until_end:
        without = (
            "without a recovery directory (SKUFLOW_RECOVERY_DIR or --recovery-dir) a restart "
            "reads every stream topic again from its start and rebuilds all state from there"
        )
        if settings.mode == "production":
            typer.echo(f"skuflow run refuses to start in production mode: {without}", err=True)
            raise typer.Exit(2)
        log.warning("skuflow run: %s", without)
    if processes > 1:
        argv = _drop_option(sys.argv[1:], "--processes")  # ["run", ...options]
        raise typer.Exit(run_cluster(argv, processes, first_port, recovery))
    hold_collector_for_start_up()  # until `tune_for_streaming`, below
    peers = addresses.split(";") if addresses else None
    catalog = _catalog(settings)
    wiring = replace(
        Wiring.from_settings(settings),
        # each output has one partition per process of the cluster (dataflows/durable.py)
        output_parts=len(peers) if peers else 1,
        replenishment_config=_replenishment(settings, settings.catalog, catalog),
    )
    router = (
        Routing.for_catalog(
            catalog,
            routing_policy_for(settings.catalog, catalog),
            hold=timedelta(minutes=hold_minutes) if hold_minutes > 0 else None,
            batch_window=timedelta(minutes=batch_minutes) if batch_minutes > 0 else None,
        )
        if routing
        else None
    )
    if process_id in (None, 0):
        wiring.prepare()
        from dataflows.operations import ensure_view_complete

        rebuilt = ensure_view_complete(wiring)
        if rebuilt:
            log.warning("the live view had lost its data: rebuilt %d SKUs from the ledger", rebuilt)
    if router is not None:
        from dataflows.operations import seed_picture_from_first_plan

        # a restart plans on the network as it was; the bulk seed waits for the first plan
        seed_picture_from_first_plan(wiring, router.router.board)
    _serve_metrics(settings, process_id)
    tune_for_streaming(freeze_young=True)  # start-up is done (see dataflows/gc_tuning.py)
    log.info("start-up: flow starting (Bytewax resumes from the recovery partitions)")

    def go(flow: Dataflow, recovery_at: Path | None) -> None:
        run_flow(
            flow,
            recovery_dir=recovery_at,
            snapshot_seconds=settings.snapshot_seconds,
            process_id=process_id,
            addresses=peers,
        )

    if not until_end:
        if stage != "all":
            raise typer.BadParameter("--stage needs --until-end (the tailing job runs both)")
        log.info("skuflow run: tailing %s", ", ".join(wiring.topics.inputs()))
        go(sequenced_flow(wiring, catalog, router), recovery)
        return
    if stage in ("all", "sequence"):
        go(sequencer_flow(wiring, catalog, router), recovery / "sequence" if recovery else None)
    if stage in ("all", "fold"):
        go(log_fold_flow(wiring, catalog, routing=router), recovery / "fold" if recovery else None)


def _catalog(settings: Settings) -> Catalog:
    from connectors.catalog_file import load_catalog

    loading = time.monotonic()
    catalog = load_catalog(settings.catalog, settings.data_dir, settings.cache_dir)
    took = time.monotonic() - loading
    log.info("start-up: catalog loaded (%d SKUs) in %.2f s", len(catalog.skus), took)
    return catalog


def _replenishment(settings: Settings, catalog_name: str, catalog: Catalog) -> ReplenishmentConfig:
    """Settings' defaults and the master file (logged: where they came from); a bad file stops
    the command with its message (file, line, field)."""
    from connectors.replenishment_config import replenishment_for
    from connectors.replenishment_master import MasterFileError

    try:
        return replenishment_for(settings, catalog_name, catalog).config
    except MasterFileError as exc:
        typer.echo(f"skuflow: {exc}", err=True)
        raise typer.Exit(2) from None


def _drop_option(argv: list[str], name: str) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == name:
            skip = True
            continue
        if not arg.startswith(f"{name}="):
            out.append(arg)
    return out


def replay(
    dataset: Annotated[Literal["online-retail"], typer.Argument(help="What to replay.")],
    to: Annotated[
        str, typer.Option(help="kafka (the stream topics) or inline (in process).")
    ] = "kafka",
    speed: Annotated[
        float,
        typer.Option(help="Event time per wall time (3600 = an hour a second); 0 = flat out."),
    ] = 0.0,
    limit_rows: Annotated[int | None, typer.Option(help="Replay only the first N rows.")] = None,
) -> None:
    """Replay the Online Retail year as a realistic stream (the rules are in the README)."""
    from connectors.replay.online_retail import ReplayStats, data_file
    from connectors.replay.online_retail import replay as retail_events

    settings = _settings()
    _setup(settings)
    try:
        path = data_file(settings.data_dir)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    stats = ReplayStats()
    events = _paced(retail_events(path, limit_rows=limit_rows, stats=stats), speed)
    with Progress(
        TextColumn("[bold]replaying[/bold] {task.fields[day]}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} events · {task.fields[rate]}/s"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("replay", total=None, day="", rate="0")
        counted = _counted(events, progress, task)
        if to == "kafka":
            sent = _to_kafka(settings, counted)
        elif to == "inline":
            sent = _inline(settings, counted)
        else:
            raise typer.BadParameter("--to is kafka or inline")
    console.print(
        f"replayed {sent:,} events from {stats.rows_read:,} rows "
        f"({sum(stats.filtered.values()):,} rows filtered: "
        + ", ".join(f"{reason} ×{n}" for reason, n in stats.filtered.most_common(4))
        + ")"
    )


def _paced(events: Iterable[Event], speed: float) -> Iterator[Event]:
    """Hold each event back until its event time, scaled by `speed`, has come."""
    if speed <= 0:
        yield from events
        return
    start_wall: float | None = None
    start_event: datetime | None = None
    for event in events:
        if start_event is None:
            start_wall, start_event = time.monotonic(), event.occurred_at
        due = (event.occurred_at - start_event).total_seconds() / speed
        wait = (start_wall or 0.0) + due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        yield event


def _counted(events: Iterable[Event], progress: Progress, task: TaskID) -> Iterator[Event]:
    began = time.monotonic()
    for n, event in enumerate(events, 1):
        if n % 2000 == 0:
            rate = n / max(time.monotonic() - began, 1e-9)
            progress.update(
                task, completed=n, day=event.occurred_at.date().isoformat(), rate=f"{rate:,.0f}"
            )
        yield event


def _to_kafka(settings: Settings, events: Iterable[Event]) -> int:
    from connectors.kafka.producer import EventProducer
    from dataflows.production import Wiring

    wiring = Wiring.from_settings(settings)
    wiring.prepare()
    producer = EventProducer(settings.kafka_brokers, wiring.topics)
    sent = producer.send_all(events)
    producer.flush()
    return sent


def _inline(settings: Settings, events: Iterable[Event]) -> int:
    from bytewax.testing import run_main

    from connectors.catalog_file import load_catalog
    from connectors.inprocess import events_source
    from dataflows.gc_tuning import hold_collector_for_start_up, tune_for_streaming
    from dataflows.inventory import build_inventory_flow
    from dataflows.production import Wiring

    hold_collector_for_start_up()  # until `tune_for_streaming`, below
    wiring = Wiring.from_settings(settings)
    wiring.prepare()
    catalog = load_catalog("online-retail", settings.data_dir, settings.cache_dir)
    wiring = replace(
        wiring, replenishment_config=_replenishment(settings, "online-retail", catalog)
    )
    tune_for_streaming(freeze_young=True)
    counted = 0

    def counting() -> Iterator[Event]:
        nonlocal counted
        for event in events:
            counted += 1
            yield event

    source = events_source(counting(), "replay")
    run_main(build_inventory_flow(source, wiring.sinks(catalog), catalog, cold=wiring.cold))
    return counted


def verify() -> None:
    """Compare the live view, the ledger and a recomputation from the sequenced log; exit 1 on any
    mismatch, printing every one."""
    from connectors.catalog_file import load_catalog
    from dataflows.operations import verify as verify_all
    from dataflows.production import Wiring

    settings = _settings()
    _setup(settings)
    report = verify_all(
        Wiring.from_settings(settings),
        load_catalog(settings.catalog, settings.data_dir, settings.cache_dir),
    )
    for mismatch in report.mismatches:
        typer.echo(str(mismatch))
    typer.echo(
        f"{report.events:,} events in the log, {report.skus:,} SKUs recomputed; "
        f"ledger: {report.ledger_events:,} events, {report.dead_letters:,} dead letters; "
        f"{len(report.mismatches)} mismatches"
    )
    raise typer.Exit(0 if report.ok else 1)


def check(
    timeout: Annotated[
        float, typer.Option(min=0.5, help="Seconds to wait for each service to answer.")
    ] = 10.0,
) -> None:
    """Check that Kafka, Redis and PostgreSQL answer at the configured addresses and say what
    each holds for skuflow (topics and partitions, the live view, the ledger's migrations);
    changes nothing. Exit 1 if any does not answer."""
    from dataflows.preflight import all_checks
    from dataflows.production import Wiring

    settings = _settings()
    _setup(settings)
    checks = all_checks(Wiring.from_settings(settings), timeout)
    for found in checks:
        typer.echo(f"{'ok  ' if found.ok else 'FAIL'} {found.service:<8} {found.detail}")
    raise typer.Exit(0 if all(found.ok for found in checks) else 1)


def rebuild_view() -> None:
    """Recompute the Redis live view from the ledger database (after a flush or a restart)."""
    from dataflows.operations import rebuild_view as rebuild
    from dataflows.production import Wiring

    settings = _settings()
    _setup(settings)
    written = rebuild(Wiring.from_settings(settings))
    typer.echo(f"live view rebuilt from the ledger: {written:,} SKUs")


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(replay)
    app.command()(verify)
    app.command()(check)
    app.command("rebuild-view")(rebuild_view)


def _serve_metrics(settings: Settings, process_id: int | None) -> None:
    """Prometheus metrics when `SKUFLOW_METRICS_PORT` is set (`connectors.engine_metrics`)."""
    if settings.metrics_port is None:
        return
    from connectors.engine_metrics import serve_engine_metrics

    port = settings.metrics_port + (process_id or 0)
    serve_engine_metrics(port, settings.cache_dir / "bytewax")
