"""The HTTP API's composition: `create_app(deps)` returns the FastAPI application.

    app = create_app(ApiDeps(view=..., ledger=..., publisher=..., catalog=..., auth=...))

The same routes serve both modes; only `deps` differ. Embedded: a `MemoryLiveView`, a
PostgreSQL ledger (embedded or not) and a `QueuePublisher` into the in-process flow. Production:
a `RedisLiveView`, PostgreSQL, and a `KafkaPublisher` (`api.server.production_deps`).

In production mode the app refuses to be built with no API keys, or with a key that is short or a
well-known default (`api.auth.ApiKeys.check_production`). A dependency that fails while a request
is answered (Redis, PostgreSQL, Kafka) becomes 503 with the reason and `Retry-After`; the error
is logged with the route, never with a credential.

The hot read, `GET /v1/atp/{sku}`, is answered by `api.atp_fast_path` before FastAPI routes it
whenever the caller may read ATP and the SKU is known (everything else reaches the route), from
the Redis view in one round trip on the event loop: the lifespan opens that reader when the
server starts and closes it when the server stops.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
import psycopg_pool
import redis
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from api.atp_fast_path import install as atp_fast_path_around
from api.auth import AuthConfigError
from api.deps import ApiDeps, Limits
from api.errors import Unavailable
from api.live import HasViewReader
from api.metrics import ApiMetrics
from api.middleware import BodyLimit, RequestMetrics
from api.publisher import PublishError
from api.routes import (
    atp,
    dashboard,
    events,
    forecasts,
    ledger,
    ops,
    orders,
    proposals,
    routing,
    stock,
)
from state.events import EVENT_ADAPTER

__all__ = ["ApiDeps", "Limits", "create_app"]

log = logging.getLogger(__name__)

DESCRIPTION = """\
Live stock and available-to-promise per SKU and location, orders allocated by the dataflow, and
the durable ledger behind them. Reads come from the live view (Redis) and the ledger
(PostgreSQL); every write becomes an input to the dataflow, the single writer of stock.

Every route but `/healthz` needs an API key, as `Authorization: Bearer <key>` or `X-API-Key`.
Roles: **device** (send events), **channel** (read ATP, place orders), **buyer** (read ATP,
decide reorder proposals), **analyst** (read ATP and history), **admin** (everything).
"""

_UNAVAILABLE: dict[type[Exception], str] = {
    redis.RedisError: "the live view (Redis) did not answer",
    psycopg.Error: "the ledger (PostgreSQL) did not answer",
    psycopg_pool.PoolTimeout: "no ledger (PostgreSQL) connection was free in time",
    PublishError: "the event could not be handed to the dataflow",
    Unavailable: "a dependency did not answer",
}


def _unavailable_handler(reason: str) -> Any:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", request.url.path)
        log.warning("%s %s: %s (%s: %s)", request.method, route, reason, type(exc).__name__, exc)
        return JSONResponse(
            {"detail": f"{reason}; retry shortly"}, status_code=503, headers={"Retry-After": "1"}
        )

    return handle


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the event vocabulary that `POST /v1/events` reads by hand."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        event = EVENT_ADAPTER.json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in event.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components["Event"] = {"title": "Event", **event}
        app.openapi_schema = schema
    return app.openapi_schema


def _lifespan(deps: ApiDeps) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Opens the view's event-loop reader (`api.live.ViewReader`) when the server starts, on the
    server's loop, and closes it when the server stops. A view without one (the in-memory view)
    is read from worker threads."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not isinstance(deps.view, HasViewReader):
            yield
            return
        reader = deps.view.async_reader()
        app.state.view_reader = reader
        try:
            yield
        finally:
            app.state.view_reader = None
            await reader.aclose()

    return lifespan


def create_app(deps: ApiDeps, *, atp_fast_path: bool = True) -> FastAPI:
    """The app on `deps`; `atp_fast_path=False` sends even plain ATP reads through FastAPI's
    routing (`api.atp_fast_path`), which tests use to compare the two."""
    if deps.mode == "production":
        deps.auth.check_production()
    elif len(deps.auth) == 0:
        msg = "the API needs at least one key (ApiKeys.generate() makes one per role)"
        raise AuthConfigError(msg)
    app = FastAPI(
        title="skuflow",
        version="1",
        description=DESCRIPTION,
        lifespan=_lifespan(deps),
        openapi_tags=[
            {"name": "atp", "description": "Available to promise, for channels."},
            {"name": "stock", "description": "Positions by location, lot and bucket."},
            {"name": "orders", "description": "Orders allocated by the dataflow."},
            {"name": "routing", "description": "Which site fulfils each order, and why."},
            {"name": "proposals", "description": "Reorder proposals, for buyers to decide."},
            {"name": "forecasts", "description": "Daily demand per SKU and site, forecast."},
            {"name": "events", "description": "Floor events from devices."},
            {"name": "ledger", "description": "History, for analysts."},
            {"name": "operations", "description": "Health, readiness, metrics."},
            {"name": "dashboard", "description": "What the dashboard at `/` reads."},
        ],
    )
    app.state.deps = deps
    app.state.view_reader = None  # until the lifespan opens one
    app.state.metrics = ApiMetrics()
    for router in (atp.router, stock.router, orders.router, events.router, ledger.router):
        app.include_router(router)
    app.include_router(routing.router)
    app.include_router(proposals.router)
    app.include_router(forecasts.router)
    app.include_router(ops.router)
    app.include_router(dashboard.router)
    app.include_router(dashboard.pages)  # the page at `/` and `/dashboard/*`
    for error, reason in _UNAVAILABLE.items():
        app.add_exception_handler(error, _unavailable_handler(reason))
    # The last added runs first: metrics see every answer, 413s included; the body cap runs
    # before anything reads a body. The ATP fast path runs before all of them (it counts its
    # own answers), so it is installed last.
    app.add_middleware(BodyLimit, max_bytes=deps.limits.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    if atp_fast_path:
        on_redis_error = _unavailable_handler(_UNAVAILABLE[redis.RedisError])
        atp_fast_path_around(app, deps, on_redis_error, app.state.metrics)
    return app
