"""`skuflow serve --workers N`: every worker process accepts the same development keys."""

from __future__ import annotations

import os

import pytest

from api.auth import Role
from api.server import api_keys, share_keys
from connectors.settings import Settings


def test_generated_keys_shared_with_the_workers_are_the_keys_each_worker_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SKUFLOW_API_KEYS", raising=False)
    _keys, generated = api_keys(Settings(mode="development"))
    assert generated

    share_keys(generated)  # what the parent process does before starting its workers
    try:
        in_a_worker, printed = api_keys(Settings(mode="development"))
    finally:
        os.environ.pop("SKUFLOW_API_KEYS", None)

    assert printed == {}  # a worker generates none of its own
    for role, key in generated.items():
        principal = in_a_worker.identify(key)
        assert principal is not None
        assert principal.role == role
    assert in_a_worker.identify("sk-someone-else") is None
    assert set(generated) == set(Role)
