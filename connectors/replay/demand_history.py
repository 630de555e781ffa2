"""Demand histories from the real data, for the forecast and replenishment benchmarks.

- `online_retail_demand(data_dir)`: daily demand from the Online Retail replay
  (`connectors.replay.online_retail`), exactly as the dataflow sees it: each `OrderPlaced` line
  adds its units on the order's day (Europe/London) at its site, and an `OrderCancelled` takes
  its line back from that day (the replay cancels only lines credited before their pick, within
  two hours). Kept per (SKU, site), per ship-to country, and per (SKU, customer): the CustomerID
  on `OrderPlaced.customer_id`, None for guests (blank CustomerID), so a model can learn each
  customer's order timing. Also each SKU's unit price: the median UnitPrice of its
  positive-quantity rows (pounds sterling).
- `carparts_demand(data_dir)`: the 2,674 monthly car-part series, each cut at its first missing
  month (165 series stop in 1999: the source has no later values for them).

Both read the files in `data_dir` (never copied into the repository) and raise
FileNotFoundError naming the path they looked for.
"""

from __future__ import annotations

import csv
import gzip
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from connectors.replay.online_retail import (
    COLUMNS,
    UK_TIME,
    data_file,
    data_rows,
    is_product,
    replay,
)
from state.events import OrderCancelled, OrderPlaced

CARPARTS_FILE = "carparts_monthly.csv.gz"


@dataclass(frozen=True)
class RetailDemand:
    """Units per day index (0 = `first_day`), per (SKU, site), per country and per (SKU,
    customer); the customer is None for guests."""

    first_day: date
    days: int
    by_sku_site: dict[tuple[str, str], dict[int, float]]
    by_country: dict[str, dict[int, float]]
    unit_price: dict[str, float]
    by_sku_customer: dict[tuple[str, str | None], dict[int, float]] = field(default_factory=dict)

    def customer_orders(self) -> dict[str, dict[int, dict[str | None, float]]]:
        """Each SKU's demand per day index, split by customer (None: guests)."""
        merged: dict[str, dict[int, dict[str | None, float]]] = defaultdict(dict)
        for (sku, customer), held in self.by_sku_customer.items():
            days = merged[sku]
            for day, units in held.items():
                days.setdefault(day, {})[customer] = units
        return dict(merged)

    def by_sku(self) -> dict[str, dict[int, float]]:
        merged: dict[str, dict[int, float]] = defaultdict(dict)
        for (sku, _site), days in self.by_sku_site.items():
            held = merged[sku]
            for day, units in days.items():
                held[day] = held.get(day, 0.0) + units
        return dict(merged)


def online_retail_demand(data_dir: Path, limit_rows: int | None = None) -> RetailDemand:
    """Daily demand per (SKU, site) and per country, and unit prices; see the module doc."""
    path = data_file(data_dir)
    lines: dict[tuple[str, str], tuple[date, int, str, str, str | None]] = {}  # (order, sku)
    per_site: dict[tuple[str, str, date], float] = defaultdict(float)
    per_country: dict[tuple[str, date], float] = defaultdict(float)
    per_customer: dict[tuple[str, str | None, date], float] = defaultdict(float)
    for event in replay(path, limit_rows=limit_rows):
        if isinstance(event, OrderPlaced):
            day = event.occurred_at.astimezone(UK_TIME).date()
            country, customer = event.ship_to.region, event.customer_id
            for line in event.lines:
                site = line.site or "LON"
                lines[(event.order_id, line.sku)] = (day, line.quantity, site, country, customer)
                per_site[(line.sku, site, day)] += line.quantity
                per_country[(country, day)] += line.quantity
                per_customer[(line.sku, customer, day)] += line.quantity
        elif isinstance(event, OrderCancelled):
            for sku in event.skus:
                found = lines.pop((event.order_id, sku), None)
                if found is not None:
                    day, ordered, site, country, customer = found
                    per_site[(sku, site, day)] -= ordered
                    per_country[(country, day)] -= ordered
                    per_customer[(sku, customer, day)] -= ordered
    days = [day for (_, _, day) in per_site] or [date(2010, 12, 1)]
    first, last = min(days), max(days)
    by_sku_site: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for (sku, site, day), held in per_site.items():
        if held > 0:
            by_sku_site[(sku, site)][(day - first).days] = held
    by_country: dict[str, dict[int, float]] = defaultdict(dict)
    for (country, day), total in per_country.items():
        if total > 0:
            by_country[country][(day - first).days] = total
    by_sku_customer: dict[tuple[str, str | None], dict[int, float]] = defaultdict(dict)
    for (sku, customer, day), held in per_customer.items():
        if held > 0:
            by_sku_customer[(sku, customer)][(day - first).days] = held
    return RetailDemand(
        first,
        (last - first).days + 1,
        dict(by_sku_site),
        dict(by_country),
        unit_prices(path, limit_rows),
        dict(by_sku_customer),
    )


def unit_prices(path: Path, limit_rows: int | None = None) -> dict[str, float]:
    """Median UnitPrice per product StockCode over its sales rows (quantity and price > 0)."""
    prices: dict[str, list[float]] = defaultdict(list)
    for number, fields in enumerate(data_rows(path), start=1):
        if limit_rows is not None and number > limit_rows:
            break
        if len(fields) != len(COLUMNS):
            continue
        code = fields[1].strip()
        try:
            quantity, price = int(fields[3]), float(fields[5])
        except ValueError:
            continue
        if is_product(code) and quantity > 0 and price > 0:
            prices[code].append(price)
    return {code: statistics.median(values) for code, values in prices.items()}


@dataclass(frozen=True)
class MonthlyDemand:
    months: tuple[str, ...]  # "1998-01", ...
    series: dict[str, tuple[float, ...]]  # part → demand from the first month, cut at a gap


def carparts_demand(data_dir: Path) -> MonthlyDemand:
    path = data_dir / CARPARTS_FILE
    if not path.is_file():
        msg = (
            f"{CARPARTS_FILE} not found: looked for {path.resolve()}. "
            "SKUFLOW_DATA_DIR sets the folder that holds it (see the README's Data section)."
        )
        raise FileNotFoundError(msg)
    cells: dict[str, dict[str, float | None]] = defaultdict(dict)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            value = row["demand"].strip()
            cells[row["part_id"]][row["month"]] = float(value) if value else None
    months = tuple(sorted({month for by_month in cells.values() for month in by_month}))
    series: dict[str, tuple[float, ...]] = {}
    for part, by_month in cells.items():
        values: list[float] = []
        for month in months:
            value = by_month.get(month)
            if value is None:
                break
            values.append(value)
        series[part] = tuple(values)
    return MonthlyDemand(months, series)
