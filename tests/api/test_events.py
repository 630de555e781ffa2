"""Devices' events: each item accepted into the dataflow or refused with its reason, none lost."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import Limits, create_app
from api.auth import Role
from tests.api.conftest import Engine, now, wait_until
from tests.api.floor import receipt, stock

Headers = Callable[[Role], dict[str, str]]


def _ledger_kinds(client: TestClient, headers: dict[str, str], event_id: str) -> list[str]:
    rows = client.get("/v1/ledger", params={"limit": 1000}, headers=headers).json()["items"]
    return [row["kind"] for row in rows if row["event_id"] == event_id]


def test_one_event_is_accepted_and_shows_in_atp(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    event = receipt("RETRO-CLOCK", 12)

    answer = client.post("/v1/events", json=event, headers=as_role(Role.DEVICE))

    assert answer.status_code == 202
    assert answer.json() == {
        "accepted": 1,
        "rejected": 0,
        "items": [{"index": 0, "event_id": event["event_id"], "status": "accepted", "errors": []}],
    }
    atp = lambda: client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL)).json()  # noqa: E731
    wait_until(lambda: atp()["network"] == 12)


def test_a_batch_reports_each_item_and_sends_only_the_valid_ones(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    good = receipt("TEAL-KETTLE", 2)
    negative = {**receipt("TEAL-KETTLE", 1), "lines": [{"sku": "TEAL-KETTLE", "quantity": -1}]}
    unknown = receipt("NO-SUCH-SKU", 1)
    an_order = {"type": "OrderPlaced", "event_id": "o-1"}

    answer = client.post(
        "/v1/events", json=[good, negative, unknown, an_order, 42], headers=as_role(Role.DEVICE)
    )

    assert answer.status_code == 202
    report = answer.json()
    assert (report["accepted"], report["rejected"]) == (1, 4)
    statuses = [(item["index"], item["status"]) for item in report["items"]]
    assert statuses == [
        (0, "accepted"),
        (1, "rejected"),
        (2, "rejected"),
        (3, "rejected"),
        (4, "rejected"),
    ]
    assert "greater than 0" in report["items"][1]["errors"][0]
    assert "NO-SUCH-SKU" in report["items"][2]["errors"][0]
    assert "/v1/orders" in report["items"][3]["errors"][0]
    assert report["items"][4]["errors"] == ["an event is a JSON object"]
    assert engine.source.queue.qsize() <= 1  # only the good one went in


def test_a_body_with_no_valid_event_is_422_with_each_items_place(
    client: TestClient, as_role: Headers
) -> None:
    answer = client.post(
        "/v1/events", json=[{"type": "Nope"}, receipt("NO-SUCH", 1)], headers=as_role(Role.DEVICE)
    )

    assert answer.status_code == 422
    assert {tuple(error["loc"][:2]) for error in answer.json()["detail"]} == {
        ("body", 0),
        ("body", 1),
    }


def test_a_body_that_is_not_json_or_is_empty_is_422(client: TestClient, as_role: Headers) -> None:
    device = {**as_role(Role.DEVICE), "Content-Type": "application/json"}
    assert client.post("/v1/events", content=b"{not json", headers=device).status_code == 422
    assert client.post("/v1/events", json=[], headers=device).status_code == 422


def test_a_batch_over_the_limit_is_422_and_a_body_over_the_limit_413(engine: Engine) -> None:
    app = create_app(engine.deps(limits=Limits(max_batch=2, max_body_bytes=4096)))
    device = {"X-API-Key": engine.key_of[Role.DEVICE]}
    with TestClient(app) as client:
        batch = client.post("/v1/events", json=[receipt("RETRO-CLOCK", 1)] * 3, headers=device)
        body = json.dumps(receipt("RETRO-CLOCK", 1, lot="x" * 5000))
        huge = client.post(
            "/v1/events", content=body, headers={**device, "Content-Type": "application/json"}
        )

    assert batch.status_code == 422
    assert "at most 2 events" in batch.json()["detail"][0]["msg"]
    assert huge.status_code == 413
    assert "4096 bytes" in huge.json()["detail"]


def test_a_chunked_body_over_the_limit_is_413_too(engine: Engine) -> None:
    app = create_app(engine.deps(limits=Limits(max_body_bytes=2048)))
    device = {"X-API-Key": engine.key_of[Role.DEVICE], "Content-Type": "application/json"}

    def chunks() -> object:
        yield b"["
        for _ in range(40):
            yield json.dumps(receipt("RETRO-CLOCK", 1)).encode() + b","
        yield b"{}]"

    with TestClient(app) as client:
        answer = client.post("/v1/events", content=chunks(), headers=device)  # type: ignore[arg-type]
    assert answer.status_code == 413


def test_an_event_the_dataflow_refuses_is_recorded_in_the_ledger_not_dropped(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 1)
    over_pick = {
        "type": "StockAdjusted",
        "event_id": "adj-too-many",
        "occurred_at": now().isoformat(),
        "source": "handheld-3",
        "sku": "RETRO-CLOCK",
        "quantity": 5,
        "location": "LON/A/01/01/1/PICK",
        "reason": "lost",
    }

    assert (
        client.post("/v1/events", json=over_pick, headers=as_role(Role.DEVICE)).status_code == 202
    )

    analyst = as_role(Role.ANALYST)
    wait_until(lambda: _ledger_kinds(client, analyst, "adj-too-many") == ["Rejected"])
