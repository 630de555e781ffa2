"""The intake edge: raw bytes from a source become a validated event or a dead letter.

Nothing that enters is lost: `decode` returns either the `Event` or a `DeadLetter` that keeps the
reason, a machine-readable reason code and the raw payload (cut to `KEPT_PAYLOAD_BYTES`, with the
original size recorded). Bad input is data here, never an exception.

Limits: a payload over `MAX_EVENT_BYTES` is refused unread (a producer bug or an attack, never a
real floor event: the largest legitimate event, an order of a few hundred lines, is ~50 KB).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import ValidationError

from state.events import Event, parse_event
from state.values import quick_init

MAX_EVENT_BYTES = 256 * 1024
KEPT_PAYLOAD_BYTES = 64 * 1024


class DeadLetterReason(StrEnum):
    OVERSIZED = "oversized"
    NOT_JSON = "not_json"
    INVALID_EVENT = "invalid_event"
    UNRESOLVED_SKU = "unresolved_sku"


@quick_init
@dataclass(frozen=True, slots=True)
class RawEvent:
    """Bytes as a source received them; `origin` says where from (topic/partition/offset, ...).

    `key` is the SKU when the bytes come from the sequenced log, whose events are already
    addressed to one SKU each (see `dataflows.inventory`).
    """

    payload: bytes
    origin: str
    received_at: datetime
    key: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input that could not become a ledger entry, with why and what it was."""

    origin: str
    received_at: datetime
    code: DeadLetterReason
    reason: str
    payload: bytes  # the first KEPT_PAYLOAD_BYTES of it
    payload_size: int
    event_id: str | None = None  # when the payload was an event, but one no SKU could take


def dead_letter(
    raw: RawEvent, code: DeadLetterReason, reason: str, event_id: str | None = None
) -> DeadLetter:
    return DeadLetter(
        origin=raw.origin,
        received_at=raw.received_at,
        code=code,
        reason=reason,
        payload=raw.payload[:KEPT_PAYLOAD_BYTES],
        payload_size=len(raw.payload),
        event_id=event_id,
    )


def decode(raw: RawEvent) -> Event | DeadLetter:
    """Validate one payload against the event vocabulary."""
    if len(raw.payload) > MAX_EVENT_BYTES:
        reason = f"payload of {len(raw.payload)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit"
        return dead_letter(raw, DeadLetterReason.OVERSIZED, reason)
    try:
        return parse_event(raw.payload)
    except ValidationError as exc:
        json_broken = any(error["type"] == "json_invalid" for error in exc.errors())
        code = DeadLetterReason.NOT_JSON if json_broken else DeadLetterReason.INVALID_EVENT
        return dead_letter(raw, code, _summary(exc))


def _summary(exc: ValidationError, limit: int = 5) -> str:
    """pydantic's errors as one readable line each: `lines.0.quantity: Input should be > 0`."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
