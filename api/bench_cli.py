"""`skuflow bench ...`: benchmarks that measure skuflow on real data (a typer sub-app).

Each benchmark is one command on `bench_app`, writes its results as JSON and Markdown under
`--out` and prints the table; `skuflow bench routing` is the first. Add another with
`@bench_app.command("name")`.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

bench_app = typer.Typer(help="Benchmarks on the real data sets.", no_args_is_help=True)
console = Console(stderr=True)

README_BLOCK = re.compile(
    r"(<!-- bench:routing:start -->\n).*?(<!-- bench:routing:end -->)", flags=re.DOTALL
)


@bench_app.command("routing")
def routing(
    limit_rows: Annotated[
        int | None, typer.Option(help="Replay only the first N rows (default: the whole year).")
    ] = None,
    window_minutes: Annotated[
        float, typer.Option(help="The batched strategy's window, in minutes of event time.")
    ] = 60.0,
    supply: Annotated[
        str, typer.Option(help="whole: each receipt to one site; spread: split by shares.")
    ] = "whole",
    out: Annotated[Path, typer.Option(help="Folder for routing.json and routing.md.")] = Path(
        "bench-results"
    ),
    readme: Annotated[
        Path | None,
        typer.Option(help="Also write the table into this README between its bench markers."),
    ] = None,
    strategies: Annotated[
        list[str] | None, typer.Option("--strategy", help="Run only these strategies.")
    ] = None,
) -> None:
    """Route the Online Retail orders with three strategies (and batches) and compare them."""
    from connectors.replay.online_retail import build_catalog, data_file, replay
    from connectors.replay.retail_routing import rate_table_markdown, retail_policy
    from connectors.settings import Settings
    from dataflows.routing_bench import STRATEGIES, run_all, table_markdown

    if supply not in ("whole", "spread"):
        raise typer.BadParameter("--supply is whole or spread")
    chosen = tuple(strategies or STRATEGIES)
    unknown = set(chosen) - set(STRATEGIES)
    if unknown:
        raise typer.BadParameter(f"unknown strategies {sorted(unknown)}; pick from {STRATEGIES}")
    try:
        path = data_file(Settings().data_dir)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    began = time.perf_counter()
    catalog = build_catalog(path)
    events = list(replay(path, limit_rows=limit_rows))
    console.print(f"{len(events):,} replay events in {time.perf_counter() - began:.0f} s")
    results = []
    rule: Literal["whole", "spread"] = "whole" if supply == "whole" else "spread"
    for result in run_all(
        events,
        catalog,
        retail_policy(),
        chosen,
        window=timedelta(minutes=window_minutes),
        supply=rule,
    ):
        console.print(f"{result.strategy}: {result.seconds:.0f} s")
        results.append(result)
    table = table_markdown(results)
    scope = f"the first {limit_rows:,} rows" if limit_rows else "the whole year"
    report = (
        f"Online Retail, {scope}: {results[0].orders:,} orders, "
        f"{results[0].units_ordered:,} units; sites LON, MAN, RTM, BCN; supply rule `{supply}`; "
        f"batch window {window_minutes:g} min.\n\n{table}\nRate table (per shipment + per kg, "
        f"every unit 0.25 kg):\n\n{rate_table_markdown()}"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "routing.md").write_text(report)
    document = {
        "data": "online_retail",
        "limit_rows": limit_rows,
        "events": len(events),
        "supply": supply,
        "window_minutes": window_minutes,
        "results": [result.as_dict() for result in results],
    }
    (out / "routing.json").write_text(json.dumps(document, indent=2) + "\n")
    if readme is not None:
        text = readme.read_text()
        if not README_BLOCK.search(text):
            raise typer.BadParameter(f"{readme} has no <!-- bench:routing:start/end --> markers")
        readme.write_text(README_BLOCK.sub(lambda m: m[1] + report + m[2], text))
    typer.echo(table)
    typer.echo(f"written to {out / 'routing.md'} and {out / 'routing.json'}")


def _data_dir_or_exit() -> Path:
    """SKUFLOW_DATA_DIR, or exit 1 saying which file is missing and where it was looked for."""
    from connectors.replay.online_retail import data_file
    from connectors.settings import Settings

    data_dir = Settings().data_dir
    try:
        data_file(data_dir)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    return data_dir


@bench_app.command("forecast")
def forecast(
    min_days: Annotated[
        int, typer.Option(help="Forecast SKUs (and SKU-sites) with demand on at least N days.")
    ] = 50,
    limit_rows: Annotated[
        int | None, typer.Option(help="Replay only the first N rows (default: the whole year).")
    ] = None,
    carparts: Annotated[bool, typer.Option(help="Also score the monthly car-parts series.")] = True,
    out: Annotated[Path, typer.Option(help="Folder for forecast.json and forecast.md.")] = Path(
        "bench-results"
    ),
    cost_repeats: Annotated[
        int, typer.Option(help="Updates timed per model kind for the cost table.", min=10)
    ] = 20_000,
) -> None:
    """Forecast accuracy test-then-train (MASE, RMSSE, MAE) against moving average, seasonal
    naive and Croston, on Online Retail (per SKU, SKU-site, country) and car parts; model cost."""
    from api import forecast_bench

    data_dir = _data_dir_or_exit()
    try:
        _document, markdown = forecast_bench.run(
            data_dir,
            out,
            min_days=min_days,
            limit_rows=limit_rows,
            carparts=carparts,
            cost_repeats=cost_repeats,
            log=console.print,
        )
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(markdown)
    typer.echo(f"written to {out / 'forecast.md'} and {out / 'forecast.json'}")


@bench_app.command("replenishment")
def replenishment(
    min_days: Annotated[
        int, typer.Option(help="Simulate SKU-sites with demand on at least N days.")
    ] = 50,
    warmup: Annotated[int, typer.Option(help="Days of each series learnt before scoring.")] = 56,
    limit_rows: Annotated[
        int | None, typer.Option(help="Replay only the first N rows (default: the whole year).")
    ] = None,
    level_shift: Annotated[
        bool,
        typer.Option(
            help="skuflow's forecaster behind the per-series level-shift detector "
            "(state/demand/level_shift.py; not yet the flow's forecaster)."
        ),
    ] = False,
    out: Annotated[
        Path, typer.Option(help="Folder for replenishment.json and replenishment.md.")
    ] = Path("bench-results"),
) -> None:
    """Simulate the Online Retail year: fill rate and average stock of skuflow's policy against
    static min/max rules."""
    from api import replenishment_bench

    data_dir = _data_dir_or_exit()
    options = replenishment_bench.Options(min_days=min_days, warmup=warmup, level_shift=level_shift)
    _document, markdown = replenishment_bench.run(
        data_dir, out, options=options, limit_rows=limit_rows, log=console.print
    )
    typer.echo(markdown)
    typer.echo(f"written to {out / 'replenishment.md'} and {out / 'replenishment.json'}")


# ---- performance figures (issue #9): throughput, memory, recovery (dataflows/bench/) ----------


def _sizes(text: str) -> list[int]:
    try:
        return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"sizes are whole numbers, comma-separated: {text!r}") from exc


def _running_services() -> dict:
    """The local services `skuflow services up` started, or exit 1 saying to start them."""
    from connectors.settings import Settings
    from dataflows.bench.services import ServicesDownError, running

    try:
        return running(Settings().services_dir)
    except ServicesDownError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)  # one line: greppable, copyable
        raise typer.Exit(1) from exc


def _write_figure(figure: object, out: Path) -> None:
    from dataflows.bench.report import Figure, write

    assert isinstance(figure, Figure)
    json_path, md_path = write(figure, out)
    typer.echo(figure.markdown)
    typer.echo(f"written to {md_path} and {json_path}")


@bench_app.command("throughput")
def throughput(
    runs: Annotated[int, typer.Option(help="Runs per path; the figure is their median.", min=1)] = (
        3
    ),
    events: Annotated[int, typer.Option(help="Events per workload.", min=1)] = 20_000,
    sku_locations: Annotated[
        int, typer.Option(help="SKU-locations of the synthetic workload.", min=4)
    ] = 1_000_000,
    full: Annotated[
        bool, typer.Option(help="Also the full path (Kafka → Redis + PostgreSQL) and Kafka.")
    ] = True,
    retail: Annotated[bool, typer.Option(help="Also the Online Retail replay workload.")] = True,
    out: Annotated[Path, typer.Option(help="Folder for throughput.json and .md.")] = Path(
        "bench-results"
    ),
) -> None:
    """Events per second, embedded and on the full path, beside a bare Bytewax fold and a raw
    Kafka consume loop on the same events."""
    from connectors.settings import Settings
    from dataflows.bench import throughput as figure

    services = _running_services() if full else None
    workloads = []
    if retail:
        workloads.append(figure.online_retail_workload(_data_dir_or_exit(), events))
    workloads.append(figure.synthetic_workload(sku_locations, events))
    result = figure.measure(
        workloads, runs, services, snapshot_seconds=Settings().snapshot_seconds, log=console.print
    )
    _write_figure(result, out)


@bench_app.command("memory")
def memory(
    sku_locations: Annotated[
        str, typer.Option(help="Sizes, comma-separated (e.g. 100000,1000000).")
    ] = "10000,40000",
    runs: Annotated[
        int, typer.Option(help="Runs per size (state sizes are deterministic; RSS is not).", min=1)
    ] = 1,
    mix: Annotated[
        float, typer.Option(help="Events of the usual mix per SKU-location after its receipt.")
    ] = 1.0,
    redis: Annotated[
        bool, typer.Option(help="Write the view to the running Redis (else in memory).")
    ] = True,
    online_retail: Annotated[
        bool,
        typer.Option(
            help="Measure the state after the Online Retail year instead of the synthetic "
            "sizes (written as memory-year.json and .md)."
        ),
    ] = False,
    limit_rows: Annotated[
        int | None, typer.Option(help="With --online-retail: only the first N rows.", min=1)
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for memory.json and .md.")] = Path(
        "bench-results"
    ),
) -> None:
    """Bytes per SKU-location in the dataflow's state (snapshot, in memory, RSS) and in Redis."""
    from dataflows.bench import memory as figure

    services = _running_services() if redis else None
    if online_retail:
        year = figure.measure_year(
            _data_dir_or_exit(), services, limit_rows=limit_rows, log=console.print
        )
        _write_figure(year, out)
        return
    result = figure.measure(_sizes(sku_locations), runs, services, mix=mix, log=console.print)
    _write_figure(result, out)


@bench_app.command("recovery")
def recovery(
    sku_locations: Annotated[
        int, typer.Option(help="SKU-locations in the state when killed.", min=4)
    ] = 10_000,
    runs: Annotated[int, typer.Option(help="SIGKILL-and-restart cycles; the median.", min=1)] = 3,
    backlog: Annotated[int, typer.Option(help="Events arriving while it is down.", min=1)] = 1000,
    snapshot_seconds: Annotated[
        float, typer.Option(help="The job's snapshot interval (SKUFLOW_SNAPSHOT_SECONDS).")
    ] = 5.0,
    out: Annotated[Path, typer.Option(help="Folder for recovery.json and .md.")] = Path(
        "bench-results"
    ),
) -> None:
    """Seconds from restarting `skuflow run` after SIGKILL until it has caught up."""
    from dataflows.bench import recovery as figure

    services = _running_services()
    result = figure.measure(
        sku_locations,
        runs,
        services,
        backlog=backlog,
        snapshot_seconds=snapshot_seconds,
        log=console.print,
    )
    _write_figure(result, out)


# ---- freshness, latency, allocation (issue #9): the real engine as a subprocess ---------------


def _whole_numbers(text: str, what: str) -> tuple[int, ...]:
    try:
        numbers = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"{what} are whole numbers, comma-separated: {text!r}") from exc
    if not numbers or min(numbers) <= 0:
        raise typer.BadParameter(f"{what} must be positive: {text!r}")
    return numbers


def _show(figure: object, out: Path) -> None:
    from dataflows.bench.report import Figure

    assert isinstance(figure, Figure)
    typer.echo(figure.markdown)
    typer.echo(f"written to {out / (figure.name + '.md')} and {out / (figure.name + '.json')}")


# A diagnostic of the benches that run `skuflow run` beside their load (freshness, allocation).
EngineNice = Annotated[
    int,
    typer.Option(
        help="Diagnostic: the engine's threads' nice value once warm (below 0 needs root); "
        "no target is judged.",
        min=-20,
        max=19,
    ),
]


@bench_app.command("freshness")
def freshness(
    rates: Annotated[str, typer.Option(help="Events/s offered, comma-separated.")] = (
        "1000,5000,20000"
    ),
    duration: Annotated[float, typer.Option(help="Seconds of production per rate.")] = 10.0,
    drain: Annotated[float, typer.Option(help="Longest wait afterwards, in seconds.")] = 5.0,
    skus: Annotated[int, typer.Option(help="SKUs the receipts go round.", min=1)] = 200,
    runs: Annotated[int, typer.Option(help="Runs per rate; the median.", min=1)] = 3,
    engine_nice: EngineNice = 0,
    ceiling: Annotated[
        bool,
        typer.Option(
            help="Each step also through a bare Bytewax flow (Kafka to Redis, no skuflow): "
            "the machine's ceiling, side by side."
        ),
    ] = True,
    prime: Annotated[
        bool,
        typer.Option(
            help="One unrecorded step before run 1: services just started answer slowly at "
            "first (reported apart, not in the medians)."
        ),
    ] = True,
    out: Annotated[Path, typer.Option(help="Folder for freshness.json and .md.")] = Path(
        "bench-results"
    ),
) -> None:
    """Event produced to Kafka → effect readable in Redis: p50/p99/max per rate (real engine)."""
    from dataflows.bench import freshness as figure
    from dataflows.bench.engine import BenchError

    _running_services()
    options = figure.Options(
        rates=_whole_numbers(rates, "rates"),
        duration=duration,
        drain=drain,
        skus=skus,
        runs=runs,
        engine_nice=engine_nice,
        ceiling=ceiling,
        prime=prime,
    )
    try:
        result = figure.run(options, out, out / "tmp", console.print)
    except BenchError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _show(result, out)


@bench_app.command("latency")
def latency(
    rates: Annotated[str, typer.Option(help="Requests/s, rising, comma-separated.")] = (
        "250,500,1000,2000,4000"
    ),
    duration: Annotated[float, typer.Option(help="Recorded seconds per rate.")] = 5.0,
    stop_p99_ms: Annotated[float, typer.Option(help="Stop once p99 passes this.")] = 10.0,
    feed_rate: Annotated[int, typer.Option(help="Receipts/s the dataflow folds meanwhile.")] = 200,
    generators: Annotated[int, typer.Option(help="Load generator processes.", min=1)] = 1,
    connections: Annotated[int, typer.Option(help="Keep-alive connections each.", min=1)] = 32,
    runs: Annotated[int, typer.Option(help="Runs of the rate ladder; the median.", min=1)] = 3,
    api_workers: Annotated[int, typer.Option(help="`skuflow serve --workers N`.", min=1)] = 1,
    out: Annotated[Path, typer.Option(help="Folder for latency.json and .md.")] = Path(
        "bench-results"
    ),
) -> None:
    """ATP reads through `skuflow serve`: p50/p99 at rising rates, the dataflow running."""
    from dataflows.bench import latency as figure
    from dataflows.bench.engine import BenchError

    _running_services()
    options = figure.Options(
        rates=_whole_numbers(rates, "rates"),
        duration=duration,
        stop_p99_ms=stop_p99_ms,
        feed_rate=feed_rate,
        generators=generators,
        connections=connections,
        runs=runs,
        api_workers=api_workers,
    )
    try:
        result = figure.run(options, out, out / "tmp", console.print)
    except BenchError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _show(result, out)


@bench_app.command("allocation")
def allocation(
    clients: Annotated[int, typer.Option(help="Concurrent clients.", min=1)] = 64,
    hot_skus: Annotated[int, typer.Option(help="Hot SKUs the orders go to.", min=2)] = 8,
    stock: Annotated[int, typer.Option(help="Units per hot SKU (even).", min=2)] = 10_000,
    scarce_stock: Annotated[int, typer.Option(help="Units of the scarce one (even).", min=2)] = 200,
    duration: Annotated[float, typer.Option(help="Seconds per system per run.")] = 10.0,
    runs: Annotated[int, typer.Option(help="Runs (each measures both); the median.", min=1)] = 3,
    engine_nice: EngineNice = 0,
    prime: Annotated[
        bool,
        typer.Option(
            help="One unrecorded skuflow side before run 1: services just started answer "
            "slowly at first (reported apart, not in the medians)."
        ),
    ] = True,
    out: Annotated[Path, typer.Option(help="Folder for allocation.json and .md.")] = Path(
        "bench-results"
    ),
) -> None:
    """Orders/s with nothing oversold: skuflow against row locks in PostgreSQL, same run."""
    from dataflows.bench import allocation as figure
    from dataflows.bench.engine import BenchError

    _running_services()
    options = figure.Options(
        clients=clients,
        hot_skus=hot_skus,
        stock_per_sku=stock,
        scarce_stock=scarce_stock,
        duration=duration,
        runs=runs,
        engine_nice=engine_nice,
        prime=prime,
    )
    try:
        result = figure.run(options, out, out / "tmp", console.print)
    except BenchError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    _show(result, out)


# ---- all of them ------------------------------------------------------------------------------

PERFORMANCE_FIGURES = ("throughput", "freshness", "latency", "allocation", "memory", "recovery")


@bench_app.command("all")
def all_figures(
    out: Annotated[Path, typer.Option(help="Folder for every figure's .json and .md.")] = Path(
        "bench-results"
    ),
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only these figures (repeatable).")
    ] = None,
) -> None:
    """Every performance figure at its default size, one after the other (about 20 minutes on
    two cores); each writes its own files, and a failing figure does not stop the others."""
    chosen = tuple(only or PERFORMANCE_FIGURES)
    unknown = set(chosen) - set(PERFORMANCE_FIGURES)
    if unknown:
        raise typer.BadParameter(
            f"unknown figures {sorted(unknown)}; pick from {PERFORMANCE_FIGURES}"
        )
    commands = {
        "throughput": lambda: throughput(out=out),
        "freshness": lambda: freshness(out=out),
        "latency": lambda: latency(out=out),
        "allocation": lambda: allocation(out=out),
        "memory": lambda: memory(out=out),
        "recovery": lambda: recovery(out=out),
    }
    failed: list[str] = []
    for name in chosen:
        began = time.perf_counter()
        console.rule(f"bench {name}")
        try:
            commands[name]()
        except (typer.Exit, Exception) as exc:  # one figure failing must not lose the others
            console.print(f"[red]bench {name} failed: {exc!r}[/red]")
            failed.append(name)
        console.print(f"bench {name}: {time.perf_counter() - began:.0f} s")
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/red]")
        raise typer.Exit(1)
