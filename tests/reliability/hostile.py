"""Hostile input, generated: malformed or malicious events that skuflow must refuse, each with why.

`hostile(n, seed)` returns exactly `n` items, seeded (the same `n` and seed give the same items),
cycling through kinds chosen at random. Every item is built so that it cannot be a valid floor
event for a known SKU: a test that sees one accepted has found a bug, not a flaky generator.

Kinds, and what the intake must do with each (the dead-letter reason code, or a ledger rejection
for a well-formed event naming an unknown SKU, which is the engine's documented answer on Kafka):

- `not_json`: a proper prefix of a valid event's JSON, or bytes that are not UTF-8;
- `not_an_event`: valid JSON that is no object (a number, a string, null, a list);
- `wrong_type`: a valid event with one field of the wrong type (a quantity "ten", a time 7);
- `bad_value`: a quantity of zero or below, a naive or impossible time;
- `unknown_type`: a `type` that is no event (including injection strings);
- `injection`: SQL, shell, script and format-string payloads in fields that must refuse them;
- `unresolved`: a scan or RFID read whose barcode or EPC resolves to no SKU;
- `unknown_sku`: a well-formed receipt for a SKU not in the catalog;
- `oversized`: a payload over the dataflow's 256 KiB limit (under the API's 1 MiB body limit);
- and three the ledger could not store, which once stopped the dataflow and which the event
  schema now refuses (`UNSTORABLE`): `enormous_quantity` (past bigint), `nul_text` (a NUL
  character in a text field), `far_future` (year 9999).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from state.intake import MAX_EVENT_BYTES

SKUS = ("RETRO-CLOCK", "TEAL-KETTLE", "PAPER-BIRDIE")
DOCK = "LON/RCV/00/00/0/DOCK"
INJECTIONS = (
    "'; DROP TABLE ledger; --",
    "' OR '1'='1",
    "\"; DELETE FROM dead_letter WHERE ''='",
    "Robert'); DROP TABLE current_stock;--",
    "$(rm -rf /)",
    "`reboot`",
    "<script>alert(document.cookie)</script>",
    "{{7*7}}${7*7}%s%n%x",
    "../../../../etc/passwd",
    "\u202eevil\u202c",
    "FLUSHALL\r\nSET x y\r\n",
    "%00%0d%0aSet-Cookie: a=b",
)
KINDS = (
    "not_json",
    "not_an_event",
    "wrong_type",
    "bad_value",
    "unknown_type",
    "injection",
    "unresolved",
    "unknown_sku",
    "oversized",
    "enormous_quantity",
    "nul_text",
    "far_future",
)
# Rare, because each is 300 KB: 1 in RARE draws.
RARE = {"oversized": 500}
UNSTORABLE = frozenset({"enormous_quantity", "nul_text", "far_future"})
UNKNOWN_SKU_KINDS = frozenset({"unknown_sku"})


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile item: its kind, and its bytes as a producer would send them. `value` is the
    JSON value when the bytes are JSON (the API can batch it), else None."""

    kind: str
    payload: bytes
    value: Any = None

    @property
    def is_json(self) -> bool:
        return self.value is not None or self.payload == b"null"


def receipt(n: int, sku: str = "RETRO-CLOCK", quantity: int = 3) -> dict[str, Any]:
    return {
        "type": "ReceiptPosted",
        "event_id": f"hostile-template-{n}",
        "occurred_at": "2026-11-02T08:30:00Z",
        "source": "dock-scanner-7",
        "location": DOCK,
        "lines": [{"sku": sku, "quantity": quantity}],
    }


def _wrong_type(rng: random.Random, n: int) -> dict[str, Any]:
    event = receipt(n, rng.choice(SKUS))
    field, bad = rng.choice(
        [
            ("event_id", rng.choice([12345, [], {}, None, 1.5])),
            ("occurred_at", rng.choice([[], {}, None, True, "yesterday"])),
            ("source", rng.choice([[], {}, None, 42])),
            ("location", rng.choice([[], {"$ne": 1}, None, 3])),
            ("lines", rng.choice(["abc", {}, [1], [None], [[]], 5])),
            ("quantity", rng.choice(["ten", 1.5, [], {}, None, "1e400", "0x10", "NaN"])),
            ("sku", rng.choice([[], {}, None, 9, True])),
        ]
    )
    if field in ("quantity", "sku"):
        event["lines"][0][field] = bad
    else:
        event[field] = bad
    return event


def _bad_value(rng: random.Random, n: int) -> dict[str, Any]:
    event = receipt(n, rng.choice(SKUS))
    if rng.random() < 0.5:
        event["lines"][0]["quantity"] = rng.choice([0, -1, -(10**30), -(2**63)])
    else:
        event["occurred_at"] = rng.choice(
            ["2026-11-02T08:30:00", "2026-02-30T08:30:00Z", "2026-11-02T25:61:00Z", ""]
        )
    return event


def _injection(rng: random.Random, n: int) -> dict[str, Any]:
    attack = rng.choice(INJECTIONS)
    event = receipt(n, rng.choice(SKUS))
    where = rng.choice(["type", "occurred_at", "quantity", "event_id", "lines"])
    if where == "quantity":
        event["lines"][0]["quantity"] = attack
    elif where == "event_id":
        event["event_id"] = (attack + " ") * (129 // len(attack) + 1)  # over 128 characters
    else:
        event[where] = attack
    return event


def _unresolved(rng: random.Random, n: int) -> dict[str, Any]:
    common = {
        "event_id": f"hostile-sighting-{n}",
        "occurred_at": "2026-11-02T08:30:00Z",
        "source": "scanner-3",
    }
    if rng.random() < 0.5:
        barcode = rng.choice([*INJECTIONS, "".join(rng.choices("0123456789", k=14)), "]C1" + "9"])
        return {
            "type": "ItemScanned",
            **common,
            "barcode": barcode,
            "location": DOCK,
            "device": "scanner-3",
        }
    epc = "".join(rng.choices("0123456789ABCDEF", k=rng.choice([2, 8, 24, 30])))
    return {"type": "RfidObserved", **common, "epc": epc, "zone": "LON/RCV", "reader": "gate-1"}


def _one(kind: str, rng: random.Random, n: int) -> Hostile:
    if kind == "not_json":
        if rng.random() < 0.7:
            text = json.dumps(receipt(n)).encode()
            return Hostile(kind, text[: rng.randrange(len(text))])
        return Hostile(kind, b"\xff\xfe" + rng.randbytes(rng.randrange(1, 200)))
    value: Any
    if kind == "not_an_event":
        value = rng.choice([5, -1.5, "ReceiptPosted", True, [1, 2], ["a"], {}, {"type": None}])
    elif kind == "wrong_type":
        value = _wrong_type(rng, n)
    elif kind == "bad_value":
        value = _bad_value(rng, n)
    elif kind == "unknown_type":
        value = receipt(n) | {"type": rng.choice(["Teleported", "receiptposted", *INJECTIONS])}
    elif kind == "injection":
        value = _injection(rng, n)
    elif kind == "unresolved":
        value = _unresolved(rng, n)
    elif kind == "unknown_sku":
        sku = rng.choice(["NO-SUCH-THING", "85123A-FAKE", *INJECTIONS[:4]])
        value = receipt(n, sku) | {"event_id": f"hostile-unknown-sku-{n}"}
    elif kind == "oversized":
        value = receipt(n) | {"source": "x" * (MAX_EVENT_BYTES + 1000)}
    elif kind == "enormous_quantity":
        value = receipt(n, quantity=rng.choice([10**30, 2**63, 10**400]))
    elif kind == "nul_text":
        value = receipt(n) | {"source": "dock\u0000scanner"}
    elif kind == "far_future":
        value = receipt(n) | {"occurred_at": "9999-12-31T23:59:59Z"}
    else:
        raise ValueError(f"unknown kind {kind!r}; kinds are {KINDS}")
    return Hostile(kind, json.dumps(value).encode(), value)


def hostile(n: int, seed: int = 10, kinds: tuple[str, ...] = KINDS) -> list[Hostile]:
    """Exactly `n` hostile items of `kinds`, the same for the same arguments."""
    rng = random.Random(seed)
    common = [k for k in kinds if k not in RARE]
    items = []
    for i in range(n):
        rare = [k for k in kinds if k in RARE and rng.randrange(RARE[k]) == 0]
        kind = rare[0] if rare else rng.choice(common)
        items.append(_one(kind, rng, i))
    return items
