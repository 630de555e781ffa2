"""The hot read, answered before FastAPI sees it: `GET /v1/atp/{sku}` by a caller who may read it.

Channels ask for one SKU's ATP thousands of times a second. Through FastAPI each ask walks the
route table, solves seven dependency nodes and runs the exception and exit-stack layers, which
together cost more than reading Redis. This ASGI layer answers the plain case itself,
with the same functions the route uses (`api.auth.credential_of`, `ApiKeys.identify`,
`Principal.may`, `api.live.read_with_meta`, `api.live.atp_from`), so the body is the route's:

- the path is `/v1/atp/<code>`, `<code>` a valid `Sku` that the catalog knows and that no other
  route claims (`/v1/atp/stream`);
- the key is known and its role may read ATP (`api.deps.ATP_READERS`, or admin).

Everything else goes on to the app unchanged, so each refusal (401, 403, 404, 422) is FastAPI's
own, word for word. A Redis failure answers what the app's handler answers (503, `Retry-After`).
The route stays declared (it documents the schema and answers every other case).

It wraps the whole middleware stack (`install`), not only the router: the six layers around
the router (Starlette's error and exception layers, FastAPI's telemetry and body-limit layers,
ours) cost a tenth of a read's CPU and do nothing for it. So it counts and times its answers in
the app's metrics itself, under the route's template, as `RequestMetrics` counts the rest, and
an unexpected error is counted as the 500 the server then answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import RouteContext, iter_route_contexts
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import credential_of
from api.deps import ATP_READERS, ApiDeps
from api.live import atp_codes, atp_from, read_with_meta, view_status
from api.metrics import ApiMetrics
from api.schemas import Sku
from state.catalog import Sku as CatalogSku

PREFIX = "/v1/atp/"
JSON_HEADERS = [(b"content-type", b"application/json")]

_SKU = TypeAdapter(Sku)


class AtpFastPath:
    def __init__(
        self,
        app: ASGIApp,
        deps: ApiDeps,
        route: RouteContext,
        claimed: frozenset[str],
        on_redis_error: Callable[[Request, Exception], Awaitable[Response]],
        metrics: ApiMetrics,
    ) -> None:
        self.app = app
        self.deps = deps
        self.route = route  # `/v1/atp/{sku}`: its template labels the logs and the metrics
        self.template = route.path or f"{PREFIX}{{sku}}"
        self.claimed = claimed  # codes other routes own under the prefix ("stream")
        self.on_redis_error = on_redis_error
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sku = self._plain_read(scope)
        if sku is None:
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # what the server answers if this raises
        try:
            status = await self._answer(sku, scope, receive, send)
        finally:
            self.metrics.answered("GET", self.template, status, time.perf_counter() - began)

    async def _answer(self, sku: CatalogSku, scope: Scope, receive: Receive, send: Send) -> int:
        deps = self.deps
        scope["route"] = self.route
        try:
            reader = scope["app"].state.view_reader
            found, meta = await read_with_meta(reader, deps.view, atp_codes([sku]))
        except RedisError as exc:
            response = await self.on_redis_error(Request(scope), exc)
            await response(scope, receive, send)
            return response.status_code
        atp = atp_from(sku, found, deps.catalog, view_status(meta, deps.clock()))
        body = atp.model_dump_json().encode()
        headers = [*JSON_HEADERS, (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return 200

    def _plain_read(self, scope: Scope) -> CatalogSku | None:
        """The catalog's SKU when this request is the plain case (see the module docstring)."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        path: str = scope["path"]
        if not path.startswith(PREFIX):
            return None
        code = path[len(PREFIX) :]
        sku = self.deps.catalog.skus.get(code)
        if sku is None or code in self.claimed or "/" in code or not self._may_read(scope):
            return None
        try:
            _SKU.validate_python(code)
        except ValidationError:
            return None
        return sku

    def _may_read(self, scope: Scope) -> bool:
        authorization = api_key = None
        for name, value in scope["headers"]:
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"x-api-key" and api_key is None:
                api_key = value.decode("latin-1")
        key = credential_of(authorization, api_key)
        principal = None if key is None else self.deps.auth.identify(key)
        return principal is not None and principal.may(ATP_READERS)


def install(
    app: FastAPI,
    deps: ApiDeps,
    on_redis_error: Callable[[Request, Exception], Awaitable[Response]],
    metrics: ApiMetrics,
) -> None:
    """Put the fast path around `app`'s whole middleware stack. Call it last in `create_app`:
    the stack is built here, and Starlette refuses middleware added after that."""
    routes = list(iter_route_contexts(app.routes))
    app.middleware_stack = AtpFastPath(
        app.build_middleware_stack(),
        deps=deps,
        route=next(route for route in routes if route.path == "/v1/atp/{sku}"),
        claimed=frozenset(
            path.removeprefix(PREFIX)
            for path in (route.path or "" for route in routes)
            if path.startswith(PREFIX) and "{" not in path
        ),
        on_redis_error=on_redis_error,
        metrics=metrics,
    )
