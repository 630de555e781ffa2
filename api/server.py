"""Production wiring of the API from `Settings`: Redis, PostgreSQL and Kafka behind the routes.

`production_deps(settings)` builds the `ApiDeps` that `skuflow serve` hands to `serving_app`; it
connects to nothing (the clients connect on first use). `api_keys(settings)` reads the keys, or,
in development only, generates one per role for the caller to print.

`serving_app` is `create_app` for a server process: it also freezes what start-up built for the
garbage collector. The app, its routes, their pydantic schemas and the catalog are about 120,000
objects that live as long as the process, and CPython's full collections walked all of them:
in a server reading ATP at 2,000/s one ran every few seconds and took 80-330 ms on a busy
machine (2 s once), every request meanwhile waiting, which alone is more than a p99 of 5 ms
allows. Frozen, a full collection takes under 1 ms (`dataflows.gc_tuning`, which the engine
uses for the same reason).
"""

from __future__ import annotations

import json

from fastapi import FastAPI

from api.app import create_app
from api.auth import ApiKeys, AuthConfigError, Role
from api.deps import ApiDeps, Limits
from api.ledger_reader import LedgerReader
from api.publisher import KafkaPublisher
from api.refusals import LedgerRefusals
from connectors.catalog_file import load_catalog
from connectors.kafka.producer import EventProducer
from connectors.kafka.topics import Topics
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from connectors.settings import Settings, export_api_keys
from dataflows.gc_tuning import tune_for_streaming


def api_keys(settings: Settings) -> tuple[ApiKeys, dict[Role, str]]:
    """The configured keys (nothing to print), or fresh ones per role in development."""
    if settings.api_keys is not None:
        keys = ApiKeys.parse(settings.api_keys.get_secret_value())
        if settings.mode == "production":
            keys.check_production()
        return keys, {}
    if settings.mode == "production":
        msg = "production mode needs API keys: set SKUFLOW_API_KEYS to {key: role} JSON"
        raise AuthConfigError(msg)
    return ApiKeys.generate()


def keys_banner(key_of: dict[Role, str]) -> str:
    """The development keys as lines for a console (`skuflow serve` and `skuflow demo` print
    it; it is never logged)."""
    lines = ["Development API keys (new at every start; set SKUFLOW_API_KEYS to keep some):"]
    lines += [f"  {role.value:8} {key}" for role, key in key_of.items()]
    example = key_of.get(Role.CHANNEL) or next(iter(key_of.values()), "<key>")
    lines.append(f'  e.g. curl -H "Authorization: Bearer {example}" .../v1/atp/<SKU>')
    return "\n".join(lines)


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_body_bytes=settings.api_max_body_bytes,
        max_batch=settings.api_max_batch,
        max_page=settings.api_max_page,
        order_wait_seconds=settings.api_order_wait_seconds,
    )


def production_deps(settings: Settings, keys: ApiKeys) -> ApiDeps:
    # A request waits for Redis at most ~0.5 s of retries, then answers 503: never a guess.
    view = RedisLiveView(
        settings.redis_url,
        settings.redis_prefix,
        backoff=Backoff(attempts=3, base=0.05, cap=0.25),
        socket_timeout=2.0,
    )
    dsn = settings.postgres_dsn.get_secret_value()
    ledger = LedgerReader(dsn, settings.postgres_schema)
    producer = EventProducer(settings.kafka_brokers, Topics(settings.kafka_topic_prefix))
    return ApiDeps(
        view=view,
        ledger=ledger,
        publisher=KafkaPublisher(producer),
        catalog=load_catalog(settings.catalog, settings.data_dir, settings.cache_dir),
        auth=keys,
        mode=settings.mode,
        limits=limits_of(settings),
        refusals=LedgerRefusals(dsn, settings.postgres_schema),
    )


def serving_app(deps: ApiDeps) -> FastAPI:
    """`create_app(deps)` for a server process, its start-up heap frozen (see the module
    docstring). Not for tests: freezing is for a process that then serves until it stops."""
    app = create_app(deps)
    tune_for_streaming()
    return app


def share_keys(generated: dict[Role, str]) -> None:
    """Put generated development keys where `skuflow serve --workers N`'s worker processes read
    them (their environment, inherited from this process): every worker accepts the same keys."""
    if generated:
        keys = {key: role.value for role, key in generated.items()}
        export_api_keys(json.dumps(keys))


def app_from_environment() -> FastAPI:
    """The app as each worker process of `skuflow serve --workers N` builds it (a uvicorn
    factory): settings and keys from the environment, its own Redis, PostgreSQL and Kafka
    clients."""
    settings = Settings()
    keys, _generated = api_keys(settings)
    return serving_app(production_deps(settings, keys))
