"""Fixtures shared by every tier: the real local services, and unique names so tests never meet.

The services come from the same code as `skuflow services up`. When `make test` already started
them they are reused; otherwise this session starts them and stops what it started. A service that
cannot start fails the session loudly: integration tests never skip.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.services import manager
from connectors.services.base import ServiceError, ServiceInfo
from connectors.settings import Settings
from dataflows import gc_tuning


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def services(settings: Settings) -> Iterator[dict[str, ServiceInfo]]:
    services_dir = settings.services_dir
    found = manager.status(services_dir)
    running = {name: info for name, (info, ok) in found.items() if ok and info is not None}
    missing = tuple(name for name in manager.SERVICES if name not in running)
    if missing:
        try:
            started = manager.up(services_dir, settings.cache_dir, missing)
        except ServiceError as exc:
            pytest.fail(
                f"The real services could not start, so the integration tests cannot run.\n{exc}\n"
                "Run `make test` (it installs and starts them) or `skuflow services up`.",
                pytrace=False,
            )
        running |= {item.info.name: item.info for item in started}
    yield running
    if missing:
        _stop_only(services_dir, missing)


def _stop_only(services_dir: Path, names: tuple[str, ...]) -> None:
    """Stop the services this session started, leaving ones someone else started running."""
    keep = {
        n: (services_dir / f"{n}.json").read_text()
        for n in manager.SERVICES
        if n not in names and (services_dir / f"{n}.json").exists()
    }
    manager.down(services_dir)
    for name, raw in keep.items():
        (services_dir / f"{name}.json").write_text(raw)


@pytest.fixture
def unique() -> str:
    """A short name no other test uses: for topics, key prefixes and schemas."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def collector_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The pytest process's garbage collector as it was, whatever the test did to it (or a bench
    it ran in this process, which sets the collector as `skuflow run` does); no sweeping thread
    is started (`dataflows.gc_tuning`)."""
    monkeypatch.setattr(gc_tuning, "_sweeper", [object()])  # as if one were running already
    threshold = gc.get_threshold()
    yield
    ours = (gc_tuning._FreezeSurvivors, gc_tuning._FreezeYoung)
    gc.callbacks[:] = [c for c in gc.callbacks if not isinstance(c, ours)]
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.enable()
