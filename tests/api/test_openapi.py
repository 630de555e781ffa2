"""The API keeps its OpenAPI promises: schemathesis drives every operation from the schema.

Generated requests (valid and invalid ones) go to the app in its embedded mode with the real
dataflow and a real PostgreSQL ledger behind it, as an admin. The checks are the ones that make
the schema a contract: no server error, every status code documented, every response matching
its documented schema, content type and headers. (Checks that a *valid-looking* request must
succeed do not apply: a SKU the schema allows may still be unknown to the catalog.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from api.app import ApiDeps, Limits, create_app
from api.auth import ApiKeys, Role
from api.ledger_reader import LedgerReader
from api.publisher import QueuePublisher
from connectors.inprocess import QueueSource
from connectors.memory_view import MemoryLiveView
from tests.api.conftest import CATALOG, Engine, running_engine

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
QUICK = Limits(order_wait_seconds=0.3, stream_max_seconds=0.1, stream_heartbeat_seconds=0.05)


class LateApp:
    """An ASGI app forwarding to whichever app is installed: the schema is read at collection
    from an app with inert dependencies, and the tests run against the engine's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def _inert_app() -> ASGIApp:
    """The same routes over dependencies that connect nowhere (the pool opens on first read)."""
    keys, _ = ApiKeys.generate()
    deps = ApiDeps(
        view=MemoryLiveView(),
        ledger=LedgerReader("postgresql://nobody@127.0.0.1:1/none"),
        publisher=QueuePublisher(QueueSource()),
        catalog=CATALOG,
        auth=keys,
    )
    return create_app(deps)


LATE = LateApp(_inert_app())
schema = schemathesis.openapi.from_asgi("/openapi.json", LATE)


@pytest.fixture(scope="module")
def contract_engine(postgres_dsn: str) -> Iterator[Engine]:
    with running_engine(postgres_dsn, "t" + uuid.uuid4().hex[:12]) as engine:
        inert, LATE.app = LATE.app, create_app(engine.deps(limits=QUICK))
        yield engine
        LATE.app = inert


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_its_documented_contract(
    case: schemathesis.Case, contract_engine: Engine
) -> None:
    case.call_and_validate(headers={"X-API-Key": contract_engine.key_of[Role.ADMIN]}, checks=CHECKS)


def test_the_schema_documents_both_credentials_and_examples(contract_engine: Engine) -> None:
    document = create_app(contract_engine.deps()).openapi()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert "Event" in document["components"]["schemas"]
    assert document["components"]["schemas"]["OrderCreate"]["examples"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path != "/healthz":
                assert operation.get("security"), f"{method.upper()} {path} is unprotected"


PUBLIC_SURFACE = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/atp/stream"),
    ("GET", "/v1/atp/{sku}"),
    ("POST", "/v1/atp:batch"),
    ("GET", "/v1/stock/{sku}"),
    ("POST", "/v1/orders"),
    ("GET", "/v1/orders/{order_id}"),
    ("POST", "/v1/orders/{order_id}:cancel"),
    ("POST", "/v1/events"),
    ("GET", "/v1/ledger"),
    ("GET", "/v1/routing/decisions"),
    ("GET", "/v1/routing/decisions/{order_id}"),
    ("GET", "/v1/dead-letters"),
    ("GET", "/v1/dashboard/busiest"),
    ("GET", "/v1/dashboard/health"),
    ("GET", "/v1/dashboard/me"),
    ("GET", "/v1/proposals"),
    ("GET", "/v1/proposals/{proposal_id}"),
    ("POST", "/v1/proposals/{proposal_id}:approve"),
    ("POST", "/v1/proposals/{proposal_id}:reject"),
    ("GET", "/v1/forecasts/{sku}"),
}


def test_the_public_surface_changes_only_on_purpose(contract_engine: Engine) -> None:
    document = create_app(contract_engine.deps()).openapi()
    found = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert found == PUBLIC_SURFACE
