"""ABC/XYZ classes of the Online Retail SKUs, from the year's sales (and cached).

A buyer classifies SKUs from last year's sales; the Online Retail file is the only history there
is, so its year stands in for "last year" (a replay of that same year therefore runs with
classes that know its whole year: a look-ahead a live deployment would not have). Per SKU, over
its sales rows (not a credit note, quantity > 0, UnitPrice > 0):

    value  = Σ quantity × UnitPrice                   (£ a year)         → ABC (`abc_classes`)
    weeks  = units per 7-day week, from the SKU's first sale to the file's last day (weeks
             without a sale count as 0)                                  → XYZ: CV = σ / μ

The classes are kept as a small JSON file under `<cache_dir>/classes`, named by a hash of the
data file's path, size and mtime and `CLASSES_VERSION` (`connectors.catalog_cache` keys and
writes it as it does catalogs), so a restart does not read the year again. They are not in the
catalog cache: a catalog file (what `SKUFLOW_CATALOG=<path>` reads) has no classes, and classes
are a buyer's setting that the master file overrides, not part of what a SKU is.
"""

from __future__ import annotations

import json
import logging
import statistics
from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from connectors.catalog_cache import cache_path, store
from connectors.replay.online_retail import COLUMNS, data_rows, is_product
from state.demand.policy import abc_classes, xyz_class

log = logging.getLogger(__name__)

CLASSES_VERSION = 1  # bump when the classes made from the same file would change


def retail_classes(path: Path, cache_dir: Path | None = None) -> dict[str, str]:
    """SKU → "AX" ... "CZ" for every SKU sold in `path`; read from the cache while it is fresh."""
    cached = (
        None
        if cache_dir is None
        else cache_path(path, cache_dir, "online-retail", CLASSES_VERSION, folder="classes")
    )
    if cached is not None and cached.exists():
        try:
            found = json.loads(cached.read_text())
        except (OSError, ValueError) as exc:
            log.warning("classes cache %s is unreadable (%s); computing them again", cached, exc)
        else:
            if isinstance(found, dict) and all(isinstance(v, str) for v in found.values()):
                return found
    value, daily = _sales(path)
    classes = classes_from(value, daily)
    if cached is not None:
        try:
            store(cached, json.dumps(classes, sort_keys=True).encode(), path, "online-retail")
        except OSError as exc:
            log.warning("could not cache the ABC/XYZ classes at %s: %s", cached, exc)
    return classes


def classes_from(
    value: Mapping[str, float], daily: Mapping[str, Mapping[date, float]]
) -> dict[str, str]:
    """ABC by `value`, XYZ by the CV of weekly units from each SKU's first sale to the last day
    any SKU sold (see the module doc)."""
    days = [day for by_day in daily.values() for day in by_day]
    if not days:
        return {}
    last = max(days)
    abc = abc_classes(value)
    classes: dict[str, str] = {}
    for sku, by_day in daily.items():
        first = min(by_day)
        weeks = [0.0] * ((last - first).days // 7 + 1)
        for day, units in by_day.items():
            weeks[(day - first).days // 7] += units
        classes[sku] = abc[sku] + xyz_class(statistics.fmean(weeks), statistics.pstdev(weeks))
    return classes


def _sales(path: Path) -> tuple[dict[str, float], dict[str, dict[date, float]]]:
    """(SKU → value of its sales, SKU → units sold per day) over the file's sales rows."""
    value: dict[str, float] = defaultdict(float)
    daily: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    days: dict[str, date | None] = {}
    for fields in data_rows(path):
        if len(fields) != len(COLUMNS) or fields[0].strip().startswith("C"):
            continue
        code, when = fields[1].strip(), fields[4].strip()[:10]
        try:
            quantity, price = int(fields[3]), float(fields[5])
        except ValueError:
            continue
        if when not in days:
            days[when] = _day(when)
        day = days[when]
        if day is None or quantity <= 0 or price <= 0 or not is_product(code):
            continue
        value[code] += quantity * price
        daily[code][day] += quantity
    return dict(value), {sku: dict(by_day) for sku, by_day in daily.items()}


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
