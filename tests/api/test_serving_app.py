"""`skuflow serve`'s app (`api.server.serving_app`) is `create_app`'s, with the start-up heap
frozen for the garbage collector, so a full collection never walks it mid-request."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.auth import Role
from api.server import serving_app
from tests.api.conftest import Engine
from tests.api.floor import stock


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """This test process's collector as it was (serving_app changes it for good)."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_a_serving_app_freezes_its_start_up_heap_and_answers_as_create_apps_does(
    collector_restored: None, client: TestClient, engine: Engine
) -> None:
    stock(client, engine, "RETRO-CLOCK", 5)
    headers = {"X-API-Key": engine.key_of[Role.CHANNEL]}
    expected = client.get("/v1/atp/RETRO-CLOCK", headers=headers)

    app = serving_app(engine.deps())

    assert gc.get_freeze_count() > 10_000  # the app, its schemas, the modules: left alone
    with TestClient(app) as served:
        answer = served.get("/v1/atp/RETRO-CLOCK", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["sites"] == expected.json()["sites"] == {"LON": 5, "MAN": 0}
