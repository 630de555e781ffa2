"""PostgreSQL's COPY text format, written by hand for the ledger's hot rows.

    join(("RETRO-CLOCK", None, "LON/A/01")) == "RETRO-CLOCK\\t\\\\N\\tLON/A/01"

Why not psycopg's `Copy.write_row`: it takes each row as a tuple and dumps it value by value;
the ledger writer had to build that tuple first (28 columns a ledger row), and the two together
were about half of the writer thread's CPU, which competes with the fold for the GIL. A line of
text joined in one call from strings the row builder already has costs a fraction of that.

The format (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"): fields
separated by a tab, rows ended by a newline, NULL written `\\N`; inside a field, a backslash,
tab, newline and carriage return are written as `\\\\`, `\\t`, `\\n` and `\\r`. Escaping the
backslash also disarms `\\.` (the end-of-data marker) and a literal `\\N`. NUL cannot be stored
in PostgreSQL text at all: it is refused here with a DataError, as psycopg's own dumper refuses
it (the event schema refuses it long before; this is the last guard).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import psycopg

NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r\x00]")


def escape(value: str) -> str:
    """`value` as one field of COPY text; a NUL is refused (PostgreSQL text cannot hold one)."""
    if "\x00" in value:
        msg = (
            f"PostgreSQL text cannot hold NUL (0x00), found in {value!r}: refuse such input"
            " before it reaches the ledger (the event schema does)"
        )
        raise psycopg.DataError(msg)
    return value.translate(_ESCAPES)


def field(value: str | None) -> str:
    """One value as a COPY text field: None as NULL, escaped only when it needs it."""
    if value is None:
        return NULL
    return value if _SPECIAL.search(value) is None else escape(value)


def join(values: Sequence[str | None]) -> str:
    """The values as tab-separated COPY text fields (no newline), None as NULL.

    Most values need no escaping, so the line is joined as it is and then checked in C: exactly
    one tab between fields, one backslash per NULL and no newline, carriage return or NUL mean
    no value held a character to escape. Otherwise every field is escaped one by one."""
    nulls = values.count(None)
    if nulls:
        line = "\t".join([NULL if value is None else value for value in values])
    else:
        line = "\t".join(values)  # type: ignore[arg-type]  # no None among them
    if (
        line.count("\t") == len(values) - 1
        and line.count("\\") == nulls
        and "\n" not in line
        and "\r" not in line
        and "\x00" not in line
    ):
        return line
    return "\t".join([NULL if value is None else escape(value) for value in values])


def json_field(document: str) -> str:
    """A JSON document (as `json` or orjson writes it: control characters escaped, so no raw tab,
    newline or carriage return) as one COPY text field: only its backslashes are doubled."""
    if "\\" in document:
        return document.replace("\\", "\\\\")
    return document
