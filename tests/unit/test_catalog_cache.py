"""The Online Retail catalog cache: read while the data file is unchanged, rebuilt when not."""

from __future__ import annotations

import csv
import gzip
import logging
import os
from pathlib import Path

import pytest

from connectors.catalog_cache import cache_path, cached_catalog
from connectors.catalog_file import load_catalog
from connectors.replay.online_retail import CATALOG_VERSION, COLUMNS, FILE_NAME, build_catalog
from state.catalog import Catalog

HEART = "85123A"
LANTERN = "71053"
CLOCK = "22726"


def row(code: str, invoice: str = "536365") -> list[str]:
    return [
        invoice,
        code,
        "A THING",
        "6",
        "2010-12-01 08:26:00",
        "2.55",
        "17850.0",
        "United Kingdom",
    ]


def write_retail(data_dir: Path, *codes: str) -> Path:
    """A small online_retail.csv.gz with the real file's columns, one order row per code."""
    data_dir.mkdir(exist_ok=True)
    path = data_dir / FILE_NAME
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(row(code) for code in codes)
    return path


class CountedBuild:
    """`build_catalog`, counting how often the cache had to fall back to it."""

    def __init__(self) -> None:
        self.builds = 0

    def __call__(self, path: Path) -> Catalog:
        self.builds += 1
        return build_catalog(path)


def load(data: Path, cache_dir: Path, build: CountedBuild) -> Catalog:
    return cached_catalog(data, cache_dir, build, name="online-retail", version=CATALOG_VERSION)


def cached_files(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "catalogs").glob("*.json"))


def test_an_unchanged_data_file_is_read_from_the_cache_not_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = write_retail(tmp_path / "data", HEART, LANTERN)
    build = CountedBuild()
    caplog.set_level(logging.INFO, logger="connectors.catalog_cache")

    first = load(data, tmp_path / "cache", build)
    second = load(data, tmp_path / "cache", build)

    assert build.builds == 1
    assert second == first == build_catalog(data)
    assert set(second.skus) == {HEART, LANTERN}
    assert ["built from" in m for m in caplog.messages] == [True, False]
    assert "loaded from the cache" in caplog.messages[1]


def test_a_changed_data_file_is_rebuilt_and_its_stale_cache_removed(tmp_path: Path) -> None:
    data = write_retail(tmp_path / "data", HEART)
    build = CountedBuild()
    load(data, tmp_path / "cache", build)
    [stale] = cached_files(tmp_path / "cache")

    write_retail(tmp_path / "data", HEART, CLOCK)
    catalog = load(data, tmp_path / "cache", build)

    assert build.builds == 2
    assert set(catalog.skus) == {HEART, CLOCK}
    assert cached_files(tmp_path / "cache") == [
        cache_path(data, tmp_path / "cache", "online-retail", CATALOG_VERSION)
    ]
    assert not stale.exists()


def test_a_data_file_touched_without_changing_size_is_rebuilt(tmp_path: Path) -> None:
    data = write_retail(tmp_path / "data", HEART)
    build = CountedBuild()
    load(data, tmp_path / "cache", build)

    stat = data.stat()
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    load(data, tmp_path / "cache", build)

    assert build.builds == 2


def test_a_new_catalog_version_rebuilds_the_cache(tmp_path: Path) -> None:
    data = write_retail(tmp_path / "data", HEART)
    build = CountedBuild()
    load(data, tmp_path / "cache", build)

    cached_catalog(
        data, tmp_path / "cache", build, name="online-retail", version=CATALOG_VERSION + 1
    )

    assert build.builds == 2


def test_a_corrupt_cache_file_is_rebuilt_with_a_warning_not_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = write_retail(tmp_path / "data", HEART)
    build = CountedBuild()
    load(data, tmp_path / "cache", build)
    [cached] = cached_files(tmp_path / "cache")
    cached.write_text('{"skus": [{"code": ')

    catalog = load(data, tmp_path / "cache", build)

    assert build.builds == 2
    assert set(catalog.skus) == {HEART}
    assert any("unreadable" in m and "rebuilding" in m for m in caplog.messages)
    assert load(data, tmp_path / "cache", build) == catalog
    assert build.builds == 2


def test_an_unwritable_cache_still_gives_the_catalog(tmp_path: Path) -> None:
    data = write_retail(tmp_path / "data", HEART)
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("a file where the cache folder should be")

    catalog = load(data, in_the_way, CountedBuild())

    assert set(catalog.skus) == {HEART}


def test_the_cached_file_is_itself_a_catalog_file_the_engine_can_load(tmp_path: Path) -> None:
    data = write_retail(tmp_path / "data", HEART, LANTERN)
    build = CountedBuild()
    built = load(data, tmp_path / "cache", build)
    [cached] = cached_files(tmp_path / "cache")

    assert load_catalog(str(cached), tmp_path / "data") == built


def test_skuflow_run_s_catalog_resolution_goes_through_the_cache(tmp_path: Path) -> None:
    write_retail(tmp_path / "data", HEART)

    first = load_catalog("online-retail", tmp_path / "data", tmp_path / "cache")

    assert len(cached_files(tmp_path / "cache")) == 1
    assert load_catalog("online-retail", tmp_path / "data", tmp_path / "cache") == first
