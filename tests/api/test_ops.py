"""Operations: liveness, readiness with the view's lag, and Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from api.ledger_reader import LedgerReader
from tests.api.conftest import Engine
from tests.api.floor import stock

Headers = Callable[[Role], dict[str, str]]


def test_ready_when_the_view_and_the_ledger_answer_with_the_lag(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 1)

    ready = client.get("/readyz", headers=as_role(Role.DEVICE))

    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["checks"]["live_view"]["ok"]
    assert body["checks"]["ledger"]["ok"]
    assert body["view"]["lag_seconds"] >= 0


def test_not_ready_when_the_ledger_is_unreachable(engine: Engine) -> None:
    nowhere = LedgerReader("postgresql://postgres@127.0.0.1:1/none", "nowhere", timeout=1.0)
    try:
        with TestClient(create_app(engine.deps(ledger=nowhere))) as client:
            answer = client.get("/readyz", headers={"X-API-Key": engine.key_of[Role.ADMIN]})
    finally:
        nowhere.close()
    assert answer.status_code == 503
    assert answer.json()["status"] == "not_ready"
    assert answer.json()["checks"]["ledger"]["ok"] is False


def test_metrics_count_requests_by_route_template_and_report_the_views_lag(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 1)
    for _ in range(3):
        client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL))
    client.get("/v1/atp/NO-SUCH", headers=as_role(Role.CHANNEL))

    text = client.get("/metrics", headers=as_role(Role.ANALYST)).text

    assert (
        'skuflow_http_requests_total{method="GET",route="/v1/atp/{sku}",status="200"} 3.0' in text
    )
    assert (
        'skuflow_http_requests_total{method="GET",route="/v1/atp/{sku}",status="404"} 1.0' in text
    )
    assert 'skuflow_api_events_published_total{type="ReceiptPosted"} 1.0' in text
    assert "skuflow_http_request_duration_seconds_bucket" in text
    assert "skuflow_view_up 1.0" in text
    assert "skuflow_view_lag_seconds " in text
