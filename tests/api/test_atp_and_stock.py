"""ATP and positions as channels read them: from the live view, with its freshness, no guess."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from api.app import Limits, create_app
from api.auth import Role
from connectors.redis.live_view import RedisLiveView
from connectors.redis.retry import Backoff
from tests.api.conftest import LON_DOCK, MAN_PICK, Engine, now, wait_until
from tests.api.floor import receipt, recorded, stock

Headers = Callable[[Role], dict[str, str]]


def test_atp_of_a_stocked_sku_per_site_and_channel_with_the_views_freshness(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 10)
    stock(client, engine, "RETRO-CLOCK", 4, MAN_PICK)

    atp = client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL)).json()

    assert atp["network"] == 14
    assert atp["sites"] == {"LON": 10, "MAN": 4}
    assert atp["channels"] == {"web": 14, "marketplace": 12}  # web holds a buffer of 2
    assert atp["kit"] is False
    view = atp["view"]
    assert view["stale"] is False
    assert view["written_at"] is not None
    assert 0 <= view["lag_seconds"] < 60
    assert 0 <= view["seconds_since_write"] < 60


def test_a_known_sku_never_stocked_reads_as_zeros_and_an_unknown_one_is_404(
    client: TestClient, as_role: Headers
) -> None:
    never = client.get("/v1/atp/TEAL-KETTLE", headers=as_role(Role.CHANNEL))
    assert never.status_code == 200
    assert never.json()["network"] == 0
    assert never.json()["sites"] == {"LON": 0, "MAN": 0}
    assert never.json()["view"]["stale"] is True  # nothing was ever written

    unknown = client.get("/v1/atp/NO-SUCH-SKU", headers=as_role(Role.CHANNEL))
    assert unknown.status_code == 404
    assert "NO-SUCH-SKU" in unknown.json()["detail"]


def test_stock_on_the_receiving_dock_is_on_hand_but_not_promised(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "PAPER-BIRDIE", 5, LON_DOCK)
    assert client.get("/v1/atp/PAPER-BIRDIE", headers=as_role(Role.CHANNEL)).json()["network"] == 0
    positions = client.get("/v1/stock/PAPER-BIRDIE", headers=as_role(Role.CHANNEL)).json()
    assert positions["on_hand"] == 5
    assert positions["positions"][0]["location"] == LON_DOCK


def test_a_kits_atp_is_what_its_components_can_make(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "TEAL-KETTLE", 3)
    stock(client, engine, "PAPER-BIRDIE", 5)  # two per kit: enough for two kits

    kit = client.get("/v1/atp/TEA-FOR-TWO", headers=as_role(Role.CHANNEL)).json()

    assert kit["kit"] is True
    assert kit["network"] == 2
    assert kit["sites"]["LON"] == 2


def test_every_answer_carries_the_skus_version_and_a_later_one_is_higher(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    def read(path: str) -> int:
        version: int = client.get(path, headers=as_role(Role.CHANNEL)).json()["version"]
        return version

    assert read("/v1/atp/RETRO-CLOCK") == 0  # never written
    stock(client, engine, "RETRO-CLOCK", 10)
    first = read("/v1/atp/RETRO-CLOCK")
    stock(client, engine, "RETRO-CLOCK", 4, MAN_PICK)
    later = read("/v1/atp/RETRO-CLOCK")
    stock(client, engine, "TEAL-KETTLE", 3)
    stock(client, engine, "PAPER-BIRDIE", 5)

    assert 0 < first < later
    assert read("/v1/stock/RETRO-CLOCK") == later
    kettle, birdie = read("/v1/atp/TEAL-KETTLE"), read("/v1/atp/PAPER-BIRDIE")
    assert read("/v1/atp/TEA-FOR-TWO") == kettle + birdie  # a kit: its components' sum


def test_a_batch_reads_many_skus_and_lists_the_unknown_ones(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 7)
    body = {"skus": ["RETRO-CLOCK", "TEAL-KETTLE", "NOPE", "RETRO-CLOCK"]}

    batch = client.post("/v1/atp:batch", json=body, headers=as_role(Role.BUYER)).json()

    assert [(item["sku"], item["network"]) for item in batch["items"]] == [
        ("RETRO-CLOCK", 7),
        ("TEAL-KETTLE", 0),
    ]
    assert batch["unknown"] == ["NOPE"]


def test_a_batch_over_the_limit_is_422_saying_the_limit(engine: Engine) -> None:
    app = create_app(engine.deps(limits=Limits(max_batch=3)))
    with TestClient(app) as client:
        key = {"X-API-Key": engine.key_of[Role.CHANNEL]}
        answer = client.post("/v1/atp:batch", json={"skus": ["A", "B", "C", "D"]}, headers=key)
    assert answer.status_code == 422
    assert "at most 3 SKUs" in answer.json()["detail"][0]["msg"]


def test_live_positions_by_location_lot_and_bucket(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    device = as_role(Role.DEVICE)
    for lot in ("L1", "L2"):
        answer = client.post("/v1/events", json=receipt("FRESH-MILK", 6, lot=lot), headers=device)
        assert answer.status_code == 202
    wait_until(lambda: len(getattr(engine.view.read("FRESH-MILK"), "positions", ())) == 2)

    live = client.get("/v1/stock/FRESH-MILK", headers=as_role(Role.ANALYST)).json()

    assert live["source"] == "live_view"
    assert [(p["lot"], p["available"], p["on_hand"]) for p in live["positions"]] == [
        ("L1", 6, 6),
        ("L2", 6, 6),
    ]
    assert live["on_hand"] == 12


def test_stock_as_of_a_past_time_is_rebuilt_from_the_ledger(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    device = as_role(Role.DEVICE)
    earlier = receipt("RETRO-CLOCK", 5)
    earlier["occurred_at"] = (now() - timedelta(hours=2)).isoformat()
    assert client.post("/v1/events", json=earlier, headers=device).status_code == 202
    wait_until(lambda: recorded(engine, "RETRO-CLOCK", earlier["event_id"]))
    stock(client, engine, "RETRO-CLOCK", 3)
    an_hour_ago = (now() - timedelta(hours=1)).isoformat()

    past = client.get(
        "/v1/stock/RETRO-CLOCK", params={"as_of": an_hour_ago}, headers=as_role(Role.ANALYST)
    ).json()
    live = client.get("/v1/stock/RETRO-CLOCK", headers=as_role(Role.ANALYST)).json()

    assert past["source"] == "ledger"
    assert past["on_hand"] == 5
    assert live["on_hand"] == 8


def test_an_unknown_sku_has_no_stock_page(client: TestClient, as_role: Headers) -> None:
    assert client.get("/v1/stock/NO-SUCH-SKU", headers=as_role(Role.CHANNEL)).status_code == 404


def test_an_unreachable_live_view_is_503_never_a_number(engine: Engine) -> None:
    closed = RedisLiveView(
        "redis://127.0.0.1:1/0", "nowhere", backoff=Backoff(attempts=1), socket_timeout=0.5
    )
    with TestClient(create_app(engine.deps(view=closed))) as client:
        key = {"X-API-Key": engine.key_of[Role.CHANNEL]}
        for path in ("/v1/atp/RETRO-CLOCK", "/v1/stock/RETRO-CLOCK"):
            answer = client.get(path, headers=key)
            assert answer.status_code == 503
            assert "live view" in answer.json()["detail"]
            assert answer.headers["Retry-After"] == "1"
