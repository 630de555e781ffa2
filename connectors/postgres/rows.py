"""What the core emits, as rows of the ledger's tables, in the tables' column order.

Pure conversion, no I/O, so the writer's SQL and these rows are checked against each other by
the integration tests alone. Quantities are base units; times keep their time zone.

- `ledger_line(entry, stamp)`: one `LedgerEntry` as a line of COPY text for `ledger`. The
  columns an analyst filters on (location, lot, order, reference, reason) are lifted out of the
  output; `detail` keeps the whole output as JSON (`detail_json`), so nothing the core said is
  lost to the column list. Lines rather than tuples for psycopg's `write_row`: this runs for
  every ledger row on a thread that competes with the fold for the GIL (`copy_text`).
- `dead_letter_row(letter)`: one `DeadLetter` as a `dead_letter` row.
- `stock_lines`, `supply_line`, `atp_lines`: one `SkuView` as its `current_stock`, `sku_supply`
  and `sku_atp` rows (absolute values), as COPY text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import attrgetter
from typing import Any

import orjson

from connectors.postgres.copy_text import NULL, field, join, json_field
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
SUPPLY_COLUMNS = ("sku", "in_transit", "on_order", "updated_at", "last_event_id", "version")
SUPPLY_TYPES = ("text", "bigint", "bigint", "timestamptz", "text")
ATP_COLUMNS = ("sku", "scope", "name", "atp", "as_of", "updated_at")
ATP_TYPES = ("text", "text", "text", "bigint", "date", "timestamptz")

_NO_BUCKETS = "\t".join([NULL] * (2 * len(ALL_BUCKETS)))
_ALL_BUCKETS = attrgetter(*ALL_BUCKETS)
_ON_HAND_BUCKETS = attrgetter(*ON_HAND_BUCKETS)


# The order `ledger_line` writes the columns in (the COPY names them, so any order will do): the
# five an event's entries for one SKU share first, so they are joined once (`ledger_stamp`).
LEDGER_STAMP_COLUMNS = ("event_id", "sku", "event_type", "occurred_at", "source")
LEDGER_LINE_COLUMNS = (
    *LEDGER_STAMP_COLUMNS,
    *(column for column in LEDGER_COLUMNS if column not in LEDGER_STAMP_COLUMNS),
)


def ledger_stamp(entry: LedgerEntry) -> str:
    """The entry's event stamp as the first fields of its line: the same for every entry of one
    event for one SKU."""
    occurred_at = copy_time(entry.occurred_at)
    return join((entry.event_id, entry.sku, entry.event_type, occurred_at, entry.source))


def ledger_line(entry: LedgerEntry, stamp: str) -> str:
    """`entry` as one line of COPY text, in `LEDGER_LINE_COLUMNS` order; `stamp` is its
    `ledger_stamp`."""
    output = entry.output
    fields = join(
        (
            str(entry.seq),
            type(output).__name__,  # entry.kind
            getattr(output, "location", None),
            getattr(output, "lot", None),
            getattr(output, "order_id", None),
            getattr(output, "reference", None),
            _reason_code(output),
            output.message if isinstance(output, Rejected) else None,
        )
    )
    return f"{stamp}\t{fields}\t{_buckets(output)}\t{json_field(detail_json(output))}\n"


def copy_time(moment: datetime) -> str:
    """A time as COPY text: ISO 8601 with its offset, which PostgreSQL reads back exactly."""
    return moment.isoformat()


def _reason_code(output: Output) -> str | None:
    if isinstance(output, Rejected):
        return output.code.value
    if isinstance(output, Released):
        return output.reason
    return None


def _buckets(output: Output) -> str:
    """The seven deltas and seven resulting quantities of a Movement; NULLs for anything else."""
    if not isinstance(output, Movement):
        return _NO_BUCKETS
    return _numbers(_ALL_BUCKETS(output.deltas) + _ALL_BUCKETS(output.resulting))


def detail_json(output: object) -> str:
    """The output as JSON: dataclasses as objects, tuples as arrays, dates as ISO 8601 strings.

    orjson writes dataclasses, dates, enums and tuples itself, in C: the stdlib encoder called
    back into Python for every dataclass: a third of the writer's CPU per ledger row. Its
    dates are `isoformat()`'s (`+00:00`, not `Z`), so the stored documents are the same."""
    return detail_json_bytes(output).decode()


def detail_json_bytes(output: object) -> bytes:
    """`detail_json` as UTF-8 bytes, for writers that send bytes."""
    return orjson.dumps(output, default=_jsonable, option=orjson.OPT_NON_STR_KEYS)


def _jsonable(value: object) -> object:
    """What orjson cannot write itself: a mapping that is not a dict."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    msg = f"cannot store {type(value).__name__} in the ledger's detail"
    raise TypeError(msg)


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


def stock_lines(view: SkuView, updated_at: str) -> str:
    """The view's `current_stock` rows as COPY text; `updated_at` is `copy_time(view.updated_at)`
    (the same for the view's supply and ATP rows, so formatted once a view). Each text value is
    escaped once a view, not once a row: a view has ~10 rows and this runs for every view."""
    sku, tail = field(view.sku), f"{updated_at}\t{field(view.last_event_id)}\n"
    return "".join(
        f"{sku}\t{field(position.location)}\t{field(position.lot)}\t"
        f"{_numbers(_ON_HAND_BUCKETS(position.quantities))}\t{position.quantities.on_hand}\t{tail}"
        for position in view.positions
    )


def supply_line(view: SkuView, updated_at: str) -> str:
    return (
        f"{field(view.sku)}\t{view.in_transit}\t{view.on_order}\t{updated_at}\t"
        f"{field(view.last_event_id)}\t{view.version}\n"
    )


def atp_lines(view: SkuView, updated_at: str) -> str:
    report = view.atp
    sku, tail = field(view.sku), f"\t{report.as_of.isoformat()}\t{updated_at}\n"
    return "".join(
        [
            f"{sku}\tnetwork\t\t{report.network}{tail}",
            *(f"{sku}\tsite\t{field(site)}\t{atp}{tail}" for site, atp in report.sites.items()),
            *(
                f"{sku}\tchannel\t{field(channel)}\t{atp}{tail}"
                for channel, atp in report.channels.items()
            ),
        ]
    )


def _numbers(values: tuple[int, ...]) -> str:
    return "\t".join(map(str, values))
