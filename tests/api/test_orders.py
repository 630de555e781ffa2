"""Orders: placed through the API, decided by the dataflow, read back from the ledger."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import Limits, create_app
from api.auth import Role
from api.publisher import QueuePublisher
from connectors.inprocess import QueueSource
from tests.api.conftest import Engine
from tests.api.floor import order, stock

Headers = Callable[[Role], dict[str, str]]


def test_an_order_is_answered_with_its_allocation(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 10)

    answer = client.post(
        "/v1/orders", json=order("WEB-1", ("RETRO-CLOCK", 3)), headers=as_role(Role.CHANNEL)
    )

    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == "/v1/orders/WEB-1"
    decision = answer.json()
    assert decision["status"] == "allocated"
    assert decision["allocated"] == 3
    assert decision["lines"][0]["reservations"] == [
        {"location": "LON/A/01/01/1/PICK", "lot": "", "quantity": 3}
    ]
    atp = client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL)).json()
    assert atp["network"] == 7


def test_a_short_web_order_is_backordered_and_a_short_marketplace_one_rejected(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "TEAL-KETTLE", 4)
    channel = as_role(Role.CHANNEL)

    web = client.post("/v1/orders", json=order("WEB-2", ("TEAL-KETTLE", 3)), headers=channel)
    market = client.post(
        "/v1/orders",
        json=order("MKT-2", ("TEAL-KETTLE", 3), channel="marketplace"),
        headers=channel,
    )

    assert web.json()["status"] == "allocated"
    # One unit is left, and web's buffer of 2 holds it back from the marketplace.
    assert market.json()["status"] == "rejected"
    assert market.json()["lines"][0]["rejected"] == 3
    short = client.post("/v1/orders", json=order("WEB-3", ("TEAL-KETTLE", 2)), headers=channel)
    assert short.json()["status"] == "partially_allocated"
    assert (short.json()["allocated"], short.json()["backordered"]) == (1, 1)


def test_a_kit_order_reserves_its_components(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "TEAL-KETTLE", 2)
    stock(client, engine, "PAPER-BIRDIE", 4)

    answer = client.post(
        "/v1/orders", json=order("KIT-1", ("TEA-FOR-TWO", 2)), headers=as_role(Role.CHANNEL)
    )

    lines = {line["sku"]: line["allocated"] for line in answer.json()["lines"]}
    assert lines == {"TEAL-KETTLE": 2, "PAPER-BIRDIE": 4}
    assert answer.json()["status"] == "allocated"


def test_a_retry_with_the_same_idempotency_key_never_allocates_twice(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 10)
    headers = {**as_role(Role.CHANNEL), "Idempotency-Key": "retry-me-7"}
    body = order("WEB-7", ("RETRO-CLOCK", 4))

    first = client.post("/v1/orders", json=body, headers=headers)
    again = client.post("/v1/orders", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["event_id"].startswith("order:WEB-7:")
    atp = client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL)).json()
    assert atp["network"] == 6


def test_placing_an_order_id_another_request_placed_is_409(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 10)
    body = order("WEB-8", ("RETRO-CLOCK", 1))
    first = client.post("/v1/orders", json=body, headers=as_role(Role.CHANNEL))
    other = client.post(
        "/v1/orders", json=body, headers={**as_role(Role.CHANNEL), "Idempotency-Key": "k2"}
    )

    assert first.status_code == 201
    assert other.status_code == 409
    assert other.headers["Location"] == "/v1/orders/WEB-8"


def test_an_order_naming_what_the_catalog_does_not_know_is_422_and_not_sent(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    channel = as_role(Role.CHANNEL)
    bad_sku = client.post("/v1/orders", json=order("BAD-1", ("NO-SUCH", 1)), headers=channel)
    bad_channel = client.post(
        "/v1/orders", json=order("BAD-2", ("RETRO-CLOCK", 1), channel="fax"), headers=channel
    )
    bad_unit = order("BAD-3", ("RETRO-CLOCK", 1))
    bad_unit["lines"][0]["unit"] = "pallet"

    assert bad_sku.status_code == 422
    assert "NO-SUCH" in bad_sku.json()["detail"][0]["msg"]
    assert "fax" in bad_channel.json()["detail"][0]["msg"]
    assert client.post("/v1/orders", json=bad_unit, headers=channel).status_code == 422
    assert engine.source.queue.empty()


def test_an_order_is_read_back_by_its_id(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 2)
    placed = client.post(
        "/v1/orders", json=order("WEB-9", ("RETRO-CLOCK", 2)), headers=as_role(Role.CHANNEL)
    ).json()

    read = client.get("/v1/orders/WEB-9", headers=as_role(Role.CHANNEL))

    assert read.status_code == 200
    assert read.json() == placed
    assert client.get("/v1/orders/NEVER", headers=as_role(Role.CHANNEL)).status_code == 404


def test_cancelling_releases_the_reserved_units(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 5)
    channel = as_role(Role.CHANNEL)
    client.post("/v1/orders", json=order("WEB-10", ("RETRO-CLOCK", 5)), headers=channel)
    assert client.get("/v1/atp/RETRO-CLOCK", headers=channel).json()["network"] == 0

    cancelled = client.post(
        "/v1/orders/WEB-10:cancel", json={"reason": "customer asked"}, headers=channel
    )

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["released"][0]["quantity"] == 5
    assert client.get("/v1/atp/RETRO-CLOCK", headers=channel).json()["network"] == 5
    again = client.post("/v1/orders/WEB-10:cancel", headers=channel)
    assert again.status_code == 200
    assert len(again.json()["released"]) == 1  # the same cancellation, not a second one


def test_cancelling_an_order_the_ledger_does_not_hold_is_404(
    client: TestClient, as_role: Headers
) -> None:
    answer = client.post("/v1/orders/NEVER-PLACED:cancel", headers=as_role(Role.CHANNEL))
    assert answer.status_code == 404


def test_an_order_the_dataflow_has_not_decided_yet_is_202_with_a_location(
    engine: Engine,
) -> None:
    stalled = QueueSource()  # no flow drains it
    deps = engine.deps(publisher=QueuePublisher(stalled), limits=Limits(order_wait_seconds=0.2))
    with TestClient(create_app(deps)) as client:
        answer = client.post(
            "/v1/orders",
            json=order("WEB-11", ("RETRO-CLOCK", 1)),
            headers={"X-API-Key": engine.key_of[Role.CHANNEL]},
        )
    assert answer.status_code == 202
    assert answer.headers["Location"] == "/v1/orders/WEB-11"
    assert answer.json() == {
        "order_id": "WEB-11",
        "event_id": "order:WEB-11",
        "status": "pending",
        "location": "/v1/orders/WEB-11",
    }
    assert stalled.queue.qsize() == 1  # it is in the dataflow's input, not lost
