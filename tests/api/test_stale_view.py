"""A live view that lost its data is reported stale until it is rebuilt: never zeros as fresh."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.auth import Role
from tests.api.conftest import Engine
from tests.api.floor import stock

Headers = Callable[[Role], dict[str, str]]


def test_a_flushed_view_is_stale_until_it_is_marked_complete_again(
    client: TestClient, engine: Engine, as_role: Headers
) -> None:
    stock(client, engine, "RETRO-CLOCK", 10)
    assert (
        client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL)).json()["view"]["stale"]
        is False
    )

    engine.view.clear()  # what FLUSHALL or a Redis restart does to the view
    stock(client, engine, "TEAL-KETTLE", 3)  # the flow goes on writing other SKUs

    lost = client.get("/v1/atp/RETRO-CLOCK", headers=as_role(Role.CHANNEL)).json()
    assert lost["network"] == 0
    assert lost["view"]["stale"] is True  # the zero is flagged, not presented as fresh

    engine.view.mark_complete()  # what `skuflow rebuild-view` does once it has refilled it
    assert (
        client.get("/v1/atp/TEAL-KETTLE", headers=as_role(Role.CHANNEL)).json()["view"]["stale"]
        is False
    )
