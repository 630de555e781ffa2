"""Fixtures for the pure-core unit tests."""

from __future__ import annotations

import pytest
from stock_factories import make_catalog

from state.catalog import Catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return make_catalog()
