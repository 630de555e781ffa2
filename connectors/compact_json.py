"""Compact JSON text, byte for byte what `json.dumps(value, separators=(",", ":"))` writes.

orjson writes the same text for what the outputs hold (strings, ints, lists, dicts with string
keys) 5-10 times faster, except that it keeps non-ASCII characters (and DEL) as they are where
the standard encoder escapes them (`\\u00e9`); so its text is used when it is printable ASCII,
and the standard encoder's otherwise (also for anything orjson refuses). The live view's hash
fields and the stock-changes messages are written with it: their text must not depend on it.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_COMPACT = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps would rebuild it


def compact_json(value: Any) -> str:
    return compact_json_bytes(value).decode()


def compact_json_bytes(value: Any) -> bytes:
    try:
        text = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return _COMPACT.encode(value).encode()
    if text.isascii() and b"\x7f" not in text:
        return text
    return _COMPACT.encode(value).encode()
