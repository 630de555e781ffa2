"""The dashboard's page and endpoints: dead letters for analysts, the busiest SKUs, stream health.

Bad input goes into the real dataflow as raw bytes (as a broken scanner would send them), so the
dead letters read here are the ones the flow wrote to the PostgreSQL ledger.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.auth import Role
from state.intake import RawEvent
from tests.api.conftest import Engine, now, wait_until
from tests.api.floor import receipt, stock

Headers = Callable[[Role], dict[str, str]]
_origins = itertools.count(1)


def send_raw(engine: Engine, payload: bytes) -> None:
    engine.source.put_raw(RawEvent(payload, f"scanner-7/{next(_origins)}", now()))


def dead_letters(client: TestClient, headers: dict[str, str], **params: object) -> list[dict]:
    found: list[dict] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/v1/dead-letters", params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        found.extend(answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return found


def wait_for_dead_letters(client: TestClient, headers: dict[str, str], count: int) -> None:
    wait_until(lambda: len(dead_letters(client, headers, limit=500)) >= count)


def test_dead_letters_come_newest_first_page_by_page_with_their_reasons(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    for n in range(5):
        send_raw(engine, f"not json {n}".encode())
    send_raw(engine, b'{"type": "ReceiptPosted"}')
    analyst = as_role(Role.ANALYST)
    wait_for_dead_letters(client, analyst, 6)

    everything = dead_letters(client, analyst, limit=500)
    paged = dead_letters(client, analyst, limit=2)

    assert paged == everything
    assert [d["id"] for d in everything] == sorted((d["id"] for d in everything), reverse=True)
    assert [d["payload_preview"] for d in everything[1:]] == [
        f"not json {n}" for n in (4, 3, 2, 1, 0)
    ]
    assert {d["code"] for d in everything} == {"not_json", "invalid_event"}
    assert all(d["reason"] and d["origin"].startswith("scanner-7/") for d in everything)


def test_dead_letters_filter_by_code(client: TestClient, engine: Engine, as_role: Headers) -> None:
    send_raw(engine, b"\x00\x01 garbage")
    send_raw(engine, b'{"type": "NoSuchEvent", "event_id": "x-1"}')
    send_raw(engine, json.dumps(receipt("RETRO-CLOCK", 1)).encode()[:-9])
    analyst = as_role(Role.ANALYST)
    wait_for_dead_letters(client, analyst, 3)

    codes = ("not_json", "invalid_event")
    found = {code: [d["code"] for d in dead_letters(client, analyst, code=code)] for code in codes}

    assert found == {"not_json": ["not_json", "not_json"], "invalid_event": ["invalid_event"]}
    answer = client.get("/v1/dead-letters", params={"code": "nonsense"}, headers=analyst)
    assert answer.status_code == 422


def test_a_long_payload_that_is_not_text_is_previewed_never_parsed(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    payload = b"\xff\xfe" + b"<script>alert(1)</script>" * 200
    send_raw(engine, payload)
    analyst = as_role(Role.ANALYST)
    wait_for_dead_letters(client, analyst, 1)

    [letter] = dead_letters(client, analyst)

    assert letter["payload_size"] == len(payload)
    assert letter["preview_truncated"]
    assert letter["payload_preview"].startswith("\ufffd\ufffd<script>")
    assert len(letter["payload_preview"].encode()) <= 1024 + 4  # two bytes became two U+FFFD


def test_only_analysts_and_admins_read_dead_letters(client: TestClient, as_role: Headers) -> None:
    assert client.get("/v1/dead-letters").status_code == 401
    assert client.get("/v1/dead-letters", headers=as_role(Role.CHANNEL)).status_code == 403
    assert client.get("/v1/dead-letters", headers=as_role(Role.BUYER)).status_code == 403
    assert client.get("/v1/dead-letters", headers=as_role(Role.ANALYST)).status_code == 200
    assert client.get("/v1/dead-letters", headers=as_role(Role.ADMIN)).status_code == 200


def test_a_dead_letter_cursor_not_given_out_by_the_api_is_422(
    client: TestClient, as_role: Headers
) -> None:
    for bad in ("nope", "ZGw6", "ZGw6LTE", "eDox"):
        answer = client.get(
            "/v1/dead-letters", params={"cursor": bad}, headers=as_role(Role.ANALYST)
        )
        assert answer.status_code == 422, bad
        assert answer.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_the_busiest_skus_are_those_whose_atp_changed_most_often(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    for quantity in (1, 2, 3):
        stock(client, engine, "RETRO-CLOCK", quantity)
    stock(client, engine, "TEAL-KETTLE", 5)

    answer = client.get("/v1/dashboard/busiest", params={"limit": 5}, headers=as_role(Role.BUYER))

    assert answer.status_code == 200, answer.text
    busiest = answer.json()
    assert busiest["counted"] == 4
    assert busiest["sites"] == ["LON", "MAN"]
    ranked = [(item["sku"], item["changes"], item["network"]) for item in busiest["items"]]
    assert ranked == [("RETRO-CLOCK", 3, 6), ("TEAL-KETTLE", 1, 5)]
    assert busiest["items"][0]["sites"] == {"LON": 6, "MAN": 0}

    stock(client, engine, "TEAL-KETTLE", 1)
    again = client.get("/v1/dashboard/busiest", headers=as_role(Role.CHANNEL)).json()
    assert again["counted"] == 5
    assert [(i["sku"], i["network"]) for i in again["items"]][1] == ("TEAL-KETTLE", 6)
    assert client.get("/v1/dashboard/busiest", headers=as_role(Role.DEVICE)).status_code == 403


def test_stream_health_reports_the_views_freshness_and_the_ledgers_size(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 2)
    send_raw(engine, b"not json")
    device = as_role(Role.DEVICE)  # any role may see whether the stream is healthy

    def health() -> dict:
        answer = client.get("/v1/dashboard/health", headers=device)
        assert answer.status_code == 200, answer.text
        return answer.json()

    wait_until(lambda: health()["dead_letters"] == {"not_json": 1})
    # The entry count comes from PostgreSQL's statistics, which a writer reports within seconds.
    wait_until(lambda: health()["ledger_entries"] >= 2, timeout=20)
    body = health()
    assert body["view_skus"] == 1
    assert body["view_writes"] >= 1
    assert body["view"]["stale"] is False
    assert body["view"]["seconds_since_write"] >= 0
    assert client.get("/v1/dashboard/health").status_code == 401


def test_me_names_the_role_of_the_key_never_the_key(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    answer = client.get("/v1/dashboard/me", headers=as_role(Role.BUYER))

    assert answer.status_code == 200
    assert answer.json()["role"] == "buyer"
    assert answer.json()["name"].startswith("buyer:")
    assert engine.key_of[Role.BUYER] not in answer.text
    assert client.get("/v1/dashboard/me").status_code == 401


def test_the_page_is_served_without_a_key_under_a_strict_content_policy(
    client: TestClient,
) -> None:
    for path in ("/", "/dashboard/"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert '<script type="module" src="/dashboard/main.js">' in page.text

    script = client.get("/dashboard/main.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "streamAtp" in script.text
    assert client.get("/dashboard/style.css").headers["content-type"].startswith("text/css")
    redirect = client.get("/dashboard", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/dashboard/")
    for missing in ("/dashboard/nope.js", "/dashboard/..%2Fapp.py", "/dashboard/__init__.py"):
        assert client.get(missing).status_code == 404, missing


def test_the_chart_library_comes_from_the_plotly_package_not_a_cdn(client: TestClient) -> None:
    library = client.get("/dashboard/vendor/plotly.min.js")

    assert library.status_code == 200
    assert library.headers["content-type"].startswith("text/javascript")
    assert library.text.lstrip().startswith("/**\n* plotly.js v")
    page = client.get("/").text
    assert "http://" not in page
    assert "https://" not in page
