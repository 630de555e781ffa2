"""`GET /v1/atp/{sku}` answers the same with the fast path as through FastAPI's routing.

The fast path (`api.atp_fast_path`) answers plain reads itself and hands everything else to the
route: each request below goes to two apps on the same engine and the same frozen clock, one
with the fast path and one without, and must get the same status, body and headers.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role
from tests.api.conftest import Engine
from tests.api.floor import stock

Headers = Callable[[Role], dict[str, str]]
NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
COMPARED_HEADERS = ("content-type", "content-length", "www-authenticate", "retry-after")


def answers(engine: Engine, path: str, headers: dict[str, str]) -> list[tuple[int, str, dict]]:
    """What the app with and the app without the fast path answer to one GET."""
    seen = []
    for fast in (True, False):
        app = create_app(engine.deps(clock=lambda: NOON), atp_fast_path=fast)
        with TestClient(app) as client:
            answer = client.get(path, headers=headers)
        kept = {name: answer.headers.get(name) for name in COMPARED_HEADERS}
        seen.append((answer.status_code, answer.text, kept))
    return seen


@pytest.mark.parametrize(
    ("path", "role", "status"),
    [
        ("/v1/atp/RETRO-CLOCK", Role.CHANNEL, 200),  # stocked
        ("/v1/atp/TEAL-KETTLE", Role.BUYER, 200),  # known, never stocked: zeros
        ("/v1/atp/TEA-FOR-TWO", Role.ANALYST, 200),  # a kit, from its components
        ("/v1/atp/RETRO-CLOCK", Role.ADMIN, 200),
        ("/v1/atp/RETRO-CLOCK?ignored=1", Role.CHANNEL, 200),
        ("/v1/atp/NO-SUCH-SKU", Role.CHANNEL, 404),
        ("/v1/atp/RETRO-CLOCK", Role.DEVICE, 403),
        ("/v1/atp/RETRO-CLOCK", None, 401),
        ("/v1/atp/BAD%01SKU", Role.CHANNEL, 422),
    ],
)
def test_the_fast_path_answers_every_atp_read_as_the_route_does(
    client: TestClient,
    engine: Engine,
    as_role: Headers,
    path: str,
    role: Role | None,
    status: int,
) -> None:
    stock(client, engine, "RETRO-CLOCK", 10)
    stock(client, engine, "PAPER-BIRDIE", 4)

    fast, routed = answers(engine, path, {} if role is None else as_role(role))

    assert fast[0] == status
    assert fast == routed


def test_a_key_sent_as_x_api_key_or_with_a_lowercase_bearer_reads_atp_on_the_fast_path(
    client: TestClient, engine: Engine
) -> None:
    stock(client, engine, "RETRO-CLOCK", 3)
    key = engine.key_of[Role.CHANNEL]

    for headers in ({"X-API-Key": key}, {"Authorization": f"bearer {key}"}):
        fast, routed = answers(engine, "/v1/atp/RETRO-CLOCK", headers)
        assert fast[0] == 200
        assert fast == routed


def test_a_wrong_key_is_refused_with_the_routes_own_401(engine: Engine) -> None:
    fast, routed = answers(engine, "/v1/atp/RETRO-CLOCK", {"X-API-Key": "sk-not-a-key"})

    assert fast[0] == 401
    assert fast[2]["www-authenticate"] == "Bearer"
    assert fast == routed
