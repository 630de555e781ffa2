"""Server-sent ATP changes: filtered, resumable, kept alive, and always ending when asked."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import Limits, create_app
from api.auth import Role
from tests.api.conftest import MAN_PICK, Engine
from tests.api.floor import stock

Headers = Callable[[Role], dict[str, str]]


def _events(text: str) -> list[tuple[str, dict]]:
    found = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if not line.startswith(":") and ": " in line
        )
        if fields.get("event") == "atp":
            found.append((fields["id"], json.loads(fields["data"])))
    return found


def test_a_replay_streams_every_change_in_order_and_ends_at_the_limit(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 2)
    stock(client, engine, "TEAL-KETTLE", 3)
    stock(client, engine, "RETRO-CLOCK", 1)

    answer = client.get(
        "/v1/atp/stream", params={"after": "0-0", "limit": 3}, headers=as_role(Role.CHANNEL)
    )

    assert answer.headers["content-type"].startswith("text/event-stream")
    events = _events(answer.text)
    assert [(data["sku"], data["network"]) for _id, data in events] == [
        ("RETRO-CLOCK", 2),
        ("TEAL-KETTLE", 3),
        ("RETRO-CLOCK", 3),
    ]
    clock_versions = [data["version"] for _id, data in events if data["sku"] == "RETRO-CLOCK"]
    assert 0 < clock_versions[0] < clock_versions[1]  # each notice says which state it is of


def test_filters_by_sku_and_by_site(client: TestClient, engine: Engine, as_role: Headers) -> None:
    stock(client, engine, "RETRO-CLOCK", 2)
    stock(client, engine, "TEAL-KETTLE", 3)
    stock(client, engine, "RETRO-CLOCK", 4, MAN_PICK)
    channel = as_role(Role.CHANNEL)

    clocks = client.get(
        "/v1/atp/stream",
        params={"after": "0-0", "sku": "RETRO-CLOCK", "max_seconds": 0.5},
        headers=channel,
    )
    london = client.get(
        "/v1/atp/stream",
        params={"after": "0-0", "site": "LON", "max_seconds": 0.5},
        headers=channel,
    )

    assert [d["network"] for _i, d in _events(clocks.text)] == [2, 6]
    # The MAN receipt moved no London figure, so the site stream leaves it out.
    assert [(d["sku"], d["sites"]) for _i, d in _events(london.text)] == [
        ("RETRO-CLOCK", {"LON": 2}),
        ("TEAL-KETTLE", {"LON": 3}),
    ]
    unknown_site = client.get("/v1/atp/stream", params={"site": "XYZ"}, headers=channel)
    assert unknown_site.status_code == 404


def test_last_event_id_resumes_after_the_last_change_seen(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 2)
    stock(client, engine, "RETRO-CLOCK", 1)
    channel = as_role(Role.CHANNEL)
    first = _events(
        client.get("/v1/atp/stream", params={"after": "0-0", "limit": 1}, headers=channel).text
    )

    rest = client.get(
        "/v1/atp/stream",
        params={"max_seconds": 0.3},
        headers={**channel, "Last-Event-ID": first[0][0]},
    )

    assert [d["network"] for _i, d in _events(rest.text)] == [3]


def test_without_a_starting_point_the_stream_begins_at_the_newest_change(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 2)
    answer = client.get(
        "/v1/atp/stream", params={"max_seconds": 0.3}, headers=as_role(Role.CHANNEL)
    )
    assert _events(answer.text) == []


def test_a_quiet_stream_sends_heartbeats_and_ends_at_the_servers_cap(engine: Engine) -> None:
    # Room for a loaded machine: about 20 heartbeats are due, 3 are asked for.
    limits = Limits(stream_heartbeat_seconds=0.05, stream_max_seconds=1.0)
    with TestClient(create_app(engine.deps(limits=limits))) as client:
        answer = client.get(
            "/v1/atp/stream",
            params={"max_seconds": 60},
            headers={"X-API-Key": engine.key_of[Role.CHANNEL]},
        )
    assert answer.text.count(": heartbeat") >= 3


def test_an_id_that_is_not_a_change_id_is_422(client: TestClient, as_role: Headers) -> None:
    channel = as_role(Role.CHANNEL)
    assert client.get("/v1/atp/stream", params={"after": "x"}, headers=channel).status_code == 422
    resumed = client.get("/v1/atp/stream", headers={**channel, "Last-Event-ID": "soon"})
    assert resumed.status_code == 422
