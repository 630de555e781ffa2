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
    out: Annotated[
        Path, typer.Option(help="Folder for replenishment.json and replenishment.md.")
    ] = Path("bench-results"),
) -> None:
    """Simulate the Online Retail year: fill rate and average stock of skuflow's policy against
    static min/max rules."""
    from api import replenishment_bench

    data_dir = _data_dir_or_exit()
    options = replenishment_bench.Options(min_days=min_days, warmup=warmup)
    _document, markdown = replenishment_bench.run(
        data_dir, out, options=options, limit_rows=limit_rows, log=console.print
    )
    typer.echo(markdown)
    typer.echo(f"written to {out / 'replenishment.md'} and {out / 'replenishment.json'}")
