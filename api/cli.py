"""The `skuflow` command: the one entry point a person uses to run, serve, demo and operate skuflow.

It is a composition root: it builds `Settings` and hands plain values to the packages that do the
work. Commands a later milestone fills in say so plainly and exit 2; none pretends.
"""

from __future__ import annotations

import logging
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from api import engine_cli
from api.bench_cli import bench_app
from connectors.services import manager
from connectors.services.base import ServiceError
from connectors.settings import Settings

app = typer.Typer(
    help="skuflow: real-time inventory. Live stock and ATP per SKU and location, from streams.",
    no_args_is_help=True,
    add_completion=False,
)
services_app = typer.Typer(
    help="Local real PostgreSQL, Redis and Kafka on loopback.", no_args_is_help=True
)
app.add_typer(services_app, name="services")
engine_cli.register(app)  # run, replay, verify, rebuild-view
app.add_typer(bench_app, name="bench")  # bench routing (and later benchmarks)


def _settings() -> Settings:
    return Settings()


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _not_built(what: str, issue: int) -> None:
    typer.echo(f"`skuflow {what}` is not built yet (tracked in issue #{issue}).", err=True)
    raise typer.Exit(2)


@app.command()
def version() -> None:
    """Print skuflow's version."""
    typer.echo(f"skuflow {package_version('skuflow')}")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the API on 127.0.0.1.")] = 8000,
    speed: Annotated[
        float, typer.Option(help="Event time per wall time (86400: a day a second); 0: flat out.")
    ] = 86_400.0,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Use the simulated floor even if the data is here.")
    ] = False,
    data: Annotated[
        Path | None, typer.Option(help="Folder with online_retail.csv.gz (else SKUFLOW_DATA_DIR).")
    ] = None,
    limit_rows: Annotated[int | None, typer.Option(help="Replay only the first N rows.")] = None,
    quick: Annotated[
        int | None,
        typer.Option(help="No server: fold N simulated events, print the stock and exit."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --quick simulation.")] = 7,
) -> None:
    """Run the whole engine on embedded defaults (no servers to set up), with the API."""
    settings = _settings()
    _configure_logging("WARNING" if settings.log_level == "INFO" else settings.log_level)
    if quick is not None:
        from dataflows.demo import run_demo

        run_demo(events=quick, seed=seed)
        return
    from dataflows.demo_server import DemoOptions, run_demo_server

    run_demo_server(
        DemoOptions(
            port=port,
            speed=speed,
            simulate=simulate,
            data_dir=data or settings.data_dir,
            limit_rows=limit_rows,
        )
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address (else SKUFLOW_API_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (else SKUFLOW_API_PORT).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Worker processes, each with its own connections (2+ uses more cores)."
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (live ATP, orders, ingest, history) on Redis, PostgreSQL and Kafka."""
    import uvicorn

    from api.auth import AuthConfigError
    from api.server import api_keys, keys_banner, production_deps, serving_app, share_keys

    settings = _settings()
    _configure_logging(settings.log_level)
    if workers > 1:
        try:
            _keys, generated = api_keys(settings)
        except AuthConfigError as exc:
            typer.echo(f"skuflow serve refuses to start: {exc}", err=True)
            raise typer.Exit(2) from exc
        share_keys(generated)
        if generated:
            typer.echo(keys_banner(generated))
        uvicorn.run(
            "api.server:app_from_environment",
            factory=True,
            workers=workers,
            host=host or settings.api_host,
            port=port or settings.api_port,
            log_level=settings.log_level.lower(),
        )
        return
    try:
        keys, generated = api_keys(settings)
        deps = production_deps(settings, keys)
        application = serving_app(deps)
    except AuthConfigError as exc:
        typer.echo(f"skuflow serve refuses to start: {exc}", err=True)
        raise typer.Exit(2) from exc
    if generated:  # development only: printed for the person at the console, never logged
        typer.echo(keys_banner(generated))
    try:
        uvicorn.run(
            application,
            host=host or settings.api_host,
            port=port or settings.api_port,
            log_level=settings.log_level.lower(),
        )
    finally:
        deps.ledger.close()


@services_app.command("up")
def services_up(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Start only these (postgres, redis, kafka).")
    ] = None,
) -> None:
    """Start real PostgreSQL, Redis and Kafka on loopback; reuse any already answering."""
    settings = _settings()
    names = tuple(only) if only else manager.SERVICES
    unknown = set(names) - set(manager.SERVICES)
    if unknown:
        raise typer.BadParameter(
            f"unknown service(s) {sorted(unknown)}; pick from {manager.SERVICES}"
        )
    try:
        started = manager.up(settings.services_dir, settings.cache_dir, names)
    except ServiceError as exc:
        typer.echo(f"services up failed.\n{exc}", err=True)
        raise typer.Exit(1) from exc
    for item in started:
        how = "already running" if item.reused else f"started in {item.seconds:.1f}s"
        typer.echo(f"{item.info.name:9} {item.info.url:55} pid {item.info.pid:<8} {how}")
    typer.echo("\nPoint skuflow at them with:  eval $(skuflow services env)")


@services_app.command("down")
def services_down() -> None:
    """Stop, by pid, the services `services up` started here."""
    stopped = manager.down(_settings().services_dir)
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@services_app.command("status")
def services_status() -> None:
    """Show each local service, its address and whether it answers; exit 1 if any is down."""
    healthy = True
    for name, (info, ok) in manager.status(_settings().services_dir).items():
        if info is None:
            typer.echo(f"{name:9} not started")
            healthy = False
            continue
        state = "up" if ok else "NOT ANSWERING"
        healthy &= ok
        typer.echo(f"{name:9} {state:14} {info.url:55} pid {info.pid:<8} log {info.log}")
    raise typer.Exit(0 if healthy else 1)


@services_app.command("env")
def services_env() -> None:
    """Print `export SKUFLOW_...=...` lines pointing skuflow at the running local services."""
    for key, value in manager.connection_env(_settings().services_dir).items():
        typer.echo(f"export {key}={value}")


def main() -> None:
    try:
        app()
    except ValidationError as exc:  # a setting, read as a command starts: no traceback for it
        if exc.title != Settings.__name__:
            raise
        typer.echo(settings_error(exc), err=True)
        raise SystemExit(2) from None


def settings_error(exc: ValidationError) -> str:
    """One line per bad setting, named as it is set (`SKUFLOW_...`), and what it must be."""
    lines = ["skuflow cannot start: a setting is not valid (environment or .env):"]
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"])
        field = Settings.model_fields.get(name)
        secret = field is not None and "Secret" in str(field.annotation)
        given = "(hidden)" if secret else repr(error.get("input"))
        lines.append(f"  SKUFLOW_{name.upper()}={given}: {error['msg']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
