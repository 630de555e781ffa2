"""Daily demand forecasts in PostgreSQL: written by the dataflow, read by the API.

    DemandForecastSink(dsn, schema)            # Bytewax sink: DemandForecast -> demand_forecast
    forecast_days(conn, sku, site, days=56)    # the newest `days` rows, oldest first
    forecast_sites(conn, sku)                  # the sites the SKU has forecasts at

Writes are idempotent (migration 0006: keyed by (sku, site, day), ON CONFLICT DO NOTHING, so a
replayed day adds nothing), one statement and one transaction a batch, retried whole on
transient errors on a fresh connection (`row_writer.RowWriter`, handed the batch as a single
row of column arrays). Nothing connects at construction. Reads use
parameterised SQL on the primary key's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from connectors.postgres.retry import Backoff
from connectors.postgres.row_writer import Row, RowSink, RowWriter
from state.demand.published import DemandForecast

COLUMNS = (
    ("sku", "text"),
    ("site", "text"),
    ("day", "date"),
    ("actual", "float8"),
    ("forecast_mean", "float8"),
    ("forecast_std", "float8"),
    ("next_mean", "float8"),
    ("next_std", "float8"),
    ("method", "text"),
    ("pattern", "text"),
    ("days_learnt", "int4"),
    ("horizon_mean", "text"),  # array literals, '{1.5,2.25}': unnest cannot take arrays of arrays
    ("horizon_std", "text"),
)
ARRAYS = frozenset({"horizon_mean", "horizon_std"})
# The whole batch in one statement, one array per column (`unnest` turns them back into rows):
# executemany would make a round of the protocol per row, which costs the dataflow's worker
# about 100 µs a row; this costs a few.
INSERT = sql.SQL(
    "INSERT INTO demand_forecast ({columns}) SELECT {values} FROM unnest({params}) AS b({columns})"
    " ON CONFLICT DO NOTHING"
).format(
    columns=sql.SQL(", ").join(sql.Identifier(name) for name, _ in COLUMNS),
    values=sql.SQL(", ").join(
        sql.SQL("{}::float8[]").format(sql.Identifier(name))
        if name in ARRAYS
        else sql.Identifier(name)
        for name, _ in COLUMNS
    ),
    params=sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(kind)) for _, kind in COLUMNS),
)
MAX_DAYS = 366


def _array(values: Iterable[float]) -> str:
    return "{" + ",".join(map(repr, values)) + "}"


def forecast_row(forecast: DemandForecast, *, horizon: bool = True) -> Row:
    """The row's values, in `COLUMNS` order; without `horizon`, its arrays are empty."""
    made = forecast.forecast
    steps = forecast.horizon if horizon else ()
    return (
        forecast.sku,
        forecast.site,
        forecast.day,
        forecast.actual,
        None if made is None else made.mean,
        None if made is None else made.std,
        forecast.next_day.mean,
        forecast.next_day.std,
        forecast.method,
        forecast.pattern,
        forecast.days_learnt,
        _array(step.mean for step in steps),
        _array(step.std for step in steps),
    )


def _forecast_rows(forecasts: Sequence[DemandForecast]) -> list[Row]:
    """One parameter row for the whole batch: each column's values as one array.

    One row per (sku, site, day), the first, as the table keeps it. Only the newest day of each
    SKU-site in the batch keeps its horizon: the older ones were superseded before they were
    written (catching up, a batch holds many days of a SKU-site; live, one).
    """
    first: dict[tuple[str, str, date], DemandForecast] = {}
    newest: dict[tuple[str, str], date] = {}
    for forecast in forecasts:
        first.setdefault((forecast.sku, forecast.site, forecast.day), forecast)
        site = (forecast.sku, forecast.site)
        newest[site] = max(forecast.day, newest.get(site, forecast.day))
    rows = [forecast_row(f, horizon=newest[(f.sku, f.site)] == f.day) for f in first.values()]
    return [tuple(list(column) for column in zip(*rows, strict=True))]


class DemandForecastWriter(RowWriter[DemandForecast]):
    def __init__(
        self, dsn: str, schema: str | None = None, *, backoff: Backoff | None = None
    ) -> None:
        super().__init__(
            dsn,
            schema,
            what="demand forecasts",
            insert=INSERT,
            rows_of=_forecast_rows,
            backoff=backoff,
        )


class DemandForecastSink(RowSink[DemandForecast]):
    def __init__(self, dsn: str, schema: str | None = None) -> None:
        # Not merged: a batch's rows depend on its bounds (only each SKU-site's newest day keeps
        # its horizon), so batches sent one closed day at a time are written one at a time.
        super().__init__(lambda: DemandForecastWriter(dsn, schema), merge_batches=False)


# ---- reads --------------------------------------------------------------------------------

_DAYS = sql.SQL(
    "SELECT * FROM (SELECT * FROM demand_forecast WHERE sku = %s AND site = %s"
    " ORDER BY day DESC LIMIT %s) AS newest ORDER BY day"
)
_SITES = sql.SQL("SELECT DISTINCT site FROM demand_forecast WHERE sku = %s ORDER BY site")


def forecast_days(
    conn: psycopg.Connection, sku: str, site: str, days: int = 56
) -> list[dict[str, Any]]:
    """The newest `days` rows of the SKU at the site, oldest first ([] when none)."""
    if not 1 <= days <= MAX_DAYS:
        msg = f"ask for 1 to {MAX_DAYS} days of forecasts, not {days}"
        raise ValueError(msg)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_DAYS, [sku, site, days]).fetchall()


def forecast_sites(conn: psycopg.Connection, sku: str) -> list[str]:
    """The sites at which the SKU has at least one forecast, in name order."""
    with conn.cursor() as cur:
        return [site for (site,) in cur.execute(_SITES, [sku]).fetchall()]
