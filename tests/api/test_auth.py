"""Every route but /healthz needs a key; each role reaches its routes and is refused the others."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ApiKeys, AuthConfigError, Role, credential_of
from tests.api.conftest import Engine, running_engine
from tests.api.floor import order, receipt

ALL = frozenset(Role)
ATP_READERS = frozenset({Role.CHANNEL, Role.BUYER, Role.ANALYST})

# (method, path, body, roles allowed besides admin)
ENDPOINTS: list[tuple[str, str, Any, frozenset[Role]]] = [
    ("GET", "/v1/atp/RETRO-CLOCK", None, ATP_READERS),
    ("POST", "/v1/atp:batch", {"skus": ["RETRO-CLOCK"]}, ATP_READERS),
    ("GET", "/v1/atp/stream?limit=1&max_seconds=0.2", None, ATP_READERS),
    ("GET", "/v1/stock/RETRO-CLOCK", None, ATP_READERS),
    ("GET", "/v1/stock/RETRO-CLOCK?as_of=2026-01-01T00:00:00Z", None, frozenset({Role.ANALYST})),
    ("POST", "/v1/orders", order("AUTH-1", ("RETRO-CLOCK", 1)), frozenset({Role.CHANNEL})),
    ("GET", "/v1/orders/AUTH-404", None, frozenset({Role.CHANNEL})),
    ("POST", "/v1/orders/AUTH-404:cancel", None, frozenset({Role.CHANNEL})),
    ("POST", "/v1/events", receipt("RETRO-CLOCK", 1), frozenset({Role.DEVICE})),
    ("GET", "/v1/ledger", None, frozenset({Role.ANALYST})),
    ("GET", "/readyz", None, ALL),
    ("GET", "/metrics", None, ALL),
]
IDS = [
    f"{method} {path.split('?')[0]}{'?as_of' if 'as_of' in path else ''}"
    for method, path, *_ in ENDPOINTS
]


@pytest.fixture(scope="module")
def shared(postgres_dsn: str) -> Iterator[tuple[Engine, TestClient]]:
    """One engine for the whole matrix: these tests look at status codes, not at stock."""
    with (
        running_engine(postgres_dsn, "t" + uuid.uuid4().hex[:12]) as engine,
        TestClient(create_app(engine.deps())) as client,
    ):
        yield engine, client


def _call(client: TestClient, endpoint: tuple[str, str, Any, frozenset[Role]], **kw: Any) -> Any:
    method, path, body, _roles = endpoint
    return client.request(method, path, json=body, **kw)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_a_request_without_a_credential_is_401_with_a_bearer_challenge(
    shared: tuple[Engine, TestClient], endpoint: tuple[str, str, Any, frozenset[Role]]
) -> None:
    _engine, client = shared
    answer = _call(client, endpoint)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_an_unknown_key_is_401_in_either_header(
    shared: tuple[Engine, TestClient], endpoint: tuple[str, str, Any, frozenset[Role]]
) -> None:
    _engine, client = shared
    assert _call(client, endpoint, headers={"X-API-Key": "not-a-key"}).status_code == 401
    assert _call(client, endpoint, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert _call(client, endpoint, headers={"Authorization": "Basic dXNlcg=="}).status_code == 401


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=IDS)
def test_each_role_reaches_its_routes_and_gets_403_elsewhere(
    shared: tuple[Engine, TestClient],
    endpoint: tuple[str, str, Any, frozenset[Role]],
    role: Role,
) -> None:
    engine, client = shared
    answer = _call(client, endpoint, headers={"X-API-Key": engine.key_of[role]})
    if role is Role.ADMIN or role in endpoint[3]:
        assert answer.status_code not in (401, 403), answer.text
    else:
        assert answer.status_code == 403, answer.text
        assert role.value in answer.json()["detail"]


def test_healthz_needs_no_credential(shared: tuple[Engine, TestClient]) -> None:
    _engine, client = shared
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_key_never_reaches_the_logs(
    shared: tuple[Engine, TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    engine, client = shared
    caplog.set_level(logging.DEBUG)
    for role, key in engine.key_of.items():
        client.get("/v1/ledger", headers={"Authorization": f"Bearer {key}"})
        client.get("/v1/atp/RETRO-CLOCK", headers={"X-API-Key": key})
        assert key not in caplog.text, role


def test_keys_are_read_from_json_with_known_roles_only() -> None:
    keys = ApiKeys.parse('{"k-1": "device", "k-2": "admin"}')
    device = keys.identify("k-1")
    assert device is not None
    assert device.role is Role.DEVICE
    assert "k-1" not in device.name
    assert keys.identify("k-3") is None
    for bad in ("[]", "not json", '{"k": "root"}', '{"": "admin"}'):
        with pytest.raises(AuthConfigError):
            ApiKeys.parse(bad)


def test_a_bearer_token_wins_over_an_api_key_header() -> None:
    assert credential_of("Bearer abc", "xyz") == "abc"
    assert credential_of("Basic abc", "xyz") == "xyz"
    assert credential_of(None, "  ") is None


def test_production_refuses_no_keys_default_keys_and_short_keys(engine: Engine) -> None:
    for keys in (
        ApiKeys({}),
        ApiKeys({"changeme": Role.ADMIN}),
        ApiKeys({"demo": Role.CHANNEL}),
        ApiKeys({"a-fine-looking-but-short-key": Role.DEVICE}),
    ):
        with pytest.raises(AuthConfigError):
            create_app(engine.deps(auth=keys, mode="production"))
    strong = ApiKeys({"x" * 8 + uuid.uuid4().hex: Role.ADMIN})
    assert create_app(engine.deps(auth=strong, mode="production")).title == "skuflow"


def test_development_generates_a_distinct_key_per_role() -> None:
    keys, key_of = ApiKeys.generate()
    assert set(key_of) == set(Role)
    assert len(set(key_of.values())) == len(Role)
    for role, key in key_of.items():
        principal = keys.identify(key)
        assert principal is not None
        assert principal.role is role
