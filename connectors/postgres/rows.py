"""What the core emits, as rows of the ledger's tables, in the tables' column order.

Pure conversion, no I/O, so the writer's SQL and these tuples are checked against each other by
the integration tests alone. Quantities are base units; times keep their time zone.

- `ledger_row(entry)`: one `LedgerEntry` as a `ledger` row. The columns an analyst filters on
  (location, lot, order, reference, reason) are lifted out of the output; `detail` keeps the whole
  output as JSON (`detail_json`), so nothing the core said is lost to the column list.
- `dead_letter_row(letter)`: one `DeadLetter` as a `dead_letter` row.
- `stock_rows`, `supply_row`, `atp_rows`: one `SkuView` as its `current_stock`, `sku_supply` and
  `sku_atp` rows (absolute values).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import date
from enum import Enum
from typing import Any

from state.buckets import ALL_BUCKETS, ON_HAND_BUCKETS
from state.intake import DeadLetter
from state.ledger import LedgerEntry
from state.outputs import Movement, Output, Rejected, Released
from state.views import SkuView

Row = tuple[Any, ...]

LEDGER_COLUMNS: tuple[str, ...] = (
    "event_id",
    "sku",
    "seq",
    "kind",
    "event_type",
    "occurred_at",
    "source",
    "location",
    "lot",
    "order_id",
    "reference",
    "reason_code",
    "message",
    *(f"delta_{bucket}" for bucket in ALL_BUCKETS),
    *(f"resulting_{bucket}" for bucket in ALL_BUCKETS),
    "detail",
)
LEDGER_TYPES: tuple[str, ...] = (
    "text",
    "text",
    "integer",
    "text",
    "text",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    "text",
    *("bigint",) * (2 * len(ALL_BUCKETS)),
    "jsonb",
)
DEAD_LETTER_COLUMNS = (
    "origin",
    "received_at",
    "code",
    "reason",
    "payload",
    "payload_size",
    "event_id",
)
DEAD_LETTER_TYPES = ("text", "timestamptz", "text", "text", "bytea", "bigint", "text")
STOCK_COLUMNS = (
    "sku",
    "location",
    "lot",
    *ON_HAND_BUCKETS,
    "on_hand",
    "updated_at",
    "last_event_id",
)
STOCK_TYPES = ("text", "text", "text", *("bigint",) * 6, "timestamptz", "text")
SUPPLY_COLUMNS = ("sku", "in_transit", "on_order", "updated_at", "last_event_id")
SUPPLY_TYPES = ("text", "bigint", "bigint", "timestamptz", "text")
ATP_COLUMNS = ("sku", "scope", "name", "atp", "as_of", "updated_at")
ATP_TYPES = ("text", "text", "text", "bigint", "date", "timestamptz")

_NO_BUCKETS: Row = (None,) * (2 * len(ALL_BUCKETS))


def ledger_row(entry: LedgerEntry) -> Row:
    output = entry.output
    return (
        entry.event_id,
        entry.sku,
        entry.seq,
        entry.kind,
        entry.event_type,
        entry.occurred_at,
        entry.source,
        getattr(output, "location", None),
        getattr(output, "lot", None),
        getattr(output, "order_id", None),
        getattr(output, "reference", None),
        _reason_code(output),
        output.message if isinstance(output, Rejected) else None,
        *_buckets(output),
        detail_json(output),
    )


def _reason_code(output: Output) -> str | None:
    if isinstance(output, Rejected):
        return output.code.value
    if isinstance(output, Released):
        return output.reason
    return None


def _buckets(output: Output) -> Row:
    if not isinstance(output, Movement):
        return _NO_BUCKETS
    deltas, resulting = output.deltas, output.resulting
    return (
        *(getattr(deltas, bucket) for bucket in ALL_BUCKETS),
        *(getattr(resulting, bucket) for bucket in ALL_BUCKETS),
    )


def detail_json(output: Output) -> str:
    """The output as JSON: dataclasses as objects, tuples as arrays, dates as ISO 8601 strings."""
    return _ENCODER.encode(output)


def _jsonable(value: object) -> object:
    """One level of a value json cannot encode itself; the encoder recurses into the result."""
    if is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES.get(type(value))
        if names is None:
            names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
        return {name: getattr(value, name) for name in names}
    if isinstance(value, date):  # and datetime, its subclass
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    msg = f"cannot store {type(value).__name__} in the ledger's detail"
    raise TypeError(msg)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
# Enums the core uses are StrEnums, which json writes as their value; tuples become arrays.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def dead_letter_row(letter: DeadLetter) -> Row:
    return (
        letter.origin,
        letter.received_at,
        letter.code.value,
        letter.reason,
        letter.payload,
        letter.payload_size,
        letter.event_id,
    )


def latest_views(views: Iterable[SkuView]) -> list[SkuView]:
    """The last view of each SKU (a later view of a SKU replaces all of an earlier one)."""
    return list({view.sku: view for view in views}.values())


def stock_rows(view: SkuView) -> list[Row]:
    return [
        (
            view.sku,
            position.location,
            position.lot,
            *(getattr(position.quantities, bucket) for bucket in ON_HAND_BUCKETS),
            position.quantities.on_hand,
            view.updated_at,
            view.last_event_id,
        )
        for position in view.positions
    ]


def supply_row(view: SkuView) -> Row:
    return (view.sku, view.in_transit, view.on_order, view.updated_at, view.last_event_id)


def atp_rows(view: SkuView) -> list[Row]:
    report = view.atp
    figures = [
        ("network", "", report.network),
        *(("site", site, atp) for site, atp in report.sites.items()),
        *(("channel", channel, atp) for channel, atp in report.channels.items()),
    ]
    return [
        (view.sku, scope, name, atp, report.as_of, view.updated_at) for scope, name, atp in figures
    ]
