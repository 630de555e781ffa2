"""Operations: liveness (no credential), readiness with the dataflow's lag, Prometheus metrics.

`/healthz` answers while the process serves. `/readyz` and `/metrics` need a credential of any
role (a probe or a scraper sends one): readiness is 200 only when the live view and the ledger
both answer, and reports how far behind the view is.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from api.deps import ApiDeps, DepsDep, PrincipalDep
from api.errors import AUTH, described
from api.live import view_status
from api.metrics import ApiMetrics
from api.schemas import CheckPublic, HealthPublic, ReadyPublic, ViewStatus
from connectors.retry import describe

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers (no credential)")
def healthz() -> HealthPublic:
    return HealthPublic()


def _failure(exc: Exception) -> str:
    return describe(exc)[:300]


def _probe(deps: ApiDeps) -> tuple[dict[str, CheckPublic], ViewStatus | None]:
    checks: dict[str, CheckPublic] = {}
    view = None
    try:
        meta = deps.view.meta()
    except Exception as exc:  # any failure means not ready; say which
        checks["live_view"] = CheckPublic(ok=False, detail=_failure(exc))
    else:
        view = view_status(meta, deps.clock())
        detail = "never written" if view.stale else f"{meta.skus} SKUs, {meta.writes} writes"
        checks["live_view"] = CheckPublic(ok=True, detail=detail)
    try:
        deps.ledger.ping()
    except Exception as exc:
        checks["ledger"] = CheckPublic(ok=False, detail=_failure(exc))
    else:
        checks["ledger"] = CheckPublic(ok=True, detail="answers")
    return checks, view


@router.get(
    "/readyz",
    summary="Readiness: the live view and the ledger answer; the view's lag",
    response_model=ReadyPublic,
    responses={503: {"model": ReadyPublic, "description": "Not ready."}, **described(*AUTH)},
)
async def readyz(deps: DepsDep, _: PrincipalDep) -> ReadyPublic | JSONResponse:
    checks, view = await run_in_threadpool(_probe, deps)
    ready = all(check.ok for check in checks.values())
    body = ReadyPublic(
        status="ready" if ready else "not_ready", mode=deps.mode, checks=checks, view=view
    )
    if ready:
        return body
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status.HTTP_503_SERVICE_UNAVAILABLE
    )


def _refresh_view_gauges(deps: ApiDeps, metrics: ApiMetrics) -> None:
    try:
        meta = deps.view.meta()
    except Exception:  # a scrape must still succeed: the gauge says the view is down
        metrics.view_up.set(0)
        return
    view = view_status(meta, deps.clock())
    metrics.view_up.set(1)
    metrics.view_lag.set(view.lag_seconds if view.lag_seconds is not None else float("nan"))
    quiet = view.seconds_since_write
    metrics.view_quiet.set(quiet if quiet is not None else float("nan"))
    metrics.view_skus.set(meta.skus)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics."},
        **described(*AUTH),
    },
)
async def metrics(request: Request, deps: DepsDep, _: PrincipalDep) -> Response:
    registry: ApiMetrics = request.app.state.metrics
    await run_in_threadpool(_refresh_view_gauges, deps, registry)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
