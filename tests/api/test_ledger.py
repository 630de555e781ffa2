"""Analysts page through the ledger: every row once, in time order, filtered as asked."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import Limits, create_app
from api.auth import Role
from tests.api.conftest import Engine
from tests.api.floor import order, stock

Headers = Callable[[Role], dict[str, str]]


def _all_pages(client: TestClient, headers: dict[str, str], **params: object) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/ledger", params=query, headers=headers).json()
        rows.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def test_pages_cover_every_row_once_in_time_order(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    for n in range(5):
        stock(client, engine, "RETRO-CLOCK", n + 1)
    analyst = as_role(Role.ANALYST)

    everything = _all_pages(client, analyst, limit=1000)
    paged = _all_pages(client, analyst, limit=3)

    assert len(everything) == 10  # a Movement and a StockChanged per receipt
    assert paged == everything
    keys = [(r["occurred_at"], r["event_id"], r["sku"], r["seq"]) for r in paged]
    assert keys == sorted(keys)


def test_rows_filter_by_sku_kind_and_time(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 3)
    stock(client, engine, "TEAL-KETTLE", 2)
    client.post(
        "/v1/orders", json=order("WEB-L", ("TEAL-KETTLE", 1)), headers=as_role(Role.CHANNEL)
    )
    analyst = as_role(Role.ANALYST)

    kettles = _all_pages(client, analyst, sku="TEAL-KETTLE")
    allocations = _all_pages(client, analyst, kind="LineAllocated")
    first = kettles[0]["occurred_at"]
    later = _all_pages(
        client, analyst, sku="TEAL-KETTLE", since=first, until="2999-01-01T00:00:00Z"
    )

    assert {r["sku"] for r in kettles} == {"TEAL-KETTLE"}
    assert [(r["order_id"], r["detail"]["allocated"]) for r in allocations] == [("WEB-L", 1)]
    assert later == kettles
    movement = next(r for r in kettles if r["kind"] == "Movement")
    assert movement["deltas"]["available"] == 2


def test_a_cursor_not_given_out_by_the_api_is_422(client: TestClient, as_role: Headers) -> None:
    for bad in ("nope", "W10", "eyJ4IjoxfQ"):
        answer = client.get("/v1/ledger", params={"cursor": bad}, headers=as_role(Role.ANALYST))
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_a_page_over_the_limit_is_422(engine: Engine) -> None:
    analyst = {"X-API-Key": engine.key_of[Role.ANALYST]}
    with TestClient(create_app(engine.deps(limits=Limits(max_page=50)))) as client:
        assert client.get("/v1/ledger", params={"limit": 51}, headers=analyst).status_code == 422
        assert client.get("/v1/ledger", params={"limit": 5000}, headers=analyst).status_code == 422
        assert client.get("/v1/ledger", params={"limit": 50}, headers=analyst).status_code == 200


def test_an_unknown_kind_or_a_naive_time_is_422(client: TestClient, as_role: Headers) -> None:
    analyst = as_role(Role.ANALYST)
    assert client.get("/v1/ledger", params={"kind": "Nope"}, headers=analyst).status_code == 422
    naive = {"since": "2026-01-01T00:00:00"}
    assert client.get("/v1/ledger", params=naive, headers=analyst).status_code == 422
