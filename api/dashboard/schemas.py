"""What the dashboard's read-only endpoints answer (`api.routes.dashboard`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import ViewStatus


class _Public(BaseModel):
    model_config = ConfigDict(frozen=True)


class DeadLetterPublic(_Public):
    """An input that could not become a ledger entry, and why."""

    id: int = Field(description="Recording order: a later dead letter has a larger id.")
    origin: str = Field(description="Where the input came from (topic/partition/offset, ...).")
    received_at: datetime
    recorded_at: datetime
    code: str = Field(examples=["invalid_event"])
    reason: str
    event_id: str | None = Field(description="The event's id, when it could be read.")
    payload_size: int = Field(description="Bytes the source sent.")
    payload_preview: str = Field(
        description="The payload's first 1 KiB as UTF-8 (bytes that are not UTF-8 as U+FFFD)."
    )
    preview_truncated: bool = Field(description="True when the payload is longer than the preview.")


class DeadLetterPagePublic(_Public):
    items: list[DeadLetterPublic] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for older ones; null: the end.")


class BusySkuPublic(_Public):
    sku: str
    changes: int = Field(description="ATP changes of this SKU among the ones counted.")
    network: int
    sites: dict[str, int]
    updated_at: datetime | None = Field(description="Event time of the SKU's last event.")


class BusiestPublic(_Public):
    counted: int = Field(description="How many of the view's latest ATP changes were counted.")
    sites: list[str] = Field(description="Every site of the catalog, in order.")
    items: list[BusySkuPublic] = Field(description="Most changes first.")
    view: ViewStatus


class StreamHealthPublic(_Public):
    view: ViewStatus
    view_skus: int = Field(description="SKUs the live view holds.")
    view_writes: int = Field(description="Batches the dataflow has written to the view.")
    ledger_entries: int = Field(
        description="Entries in the ledger, from PostgreSQL's statistics (within about a second "
        "of writes: an exact count would scan the whole ledger)."
    )
    dead_letters: dict[str, int] = Field(description="Dead letters per code.")


class SessionPublic(_Public):
    """Who the presented key belongs to: its role and a loggable name (never the key)."""

    role: Literal["device", "channel", "buyer", "analyst", "admin"]
    name: str = Field(examples=["admin:3f2a9c1e"])
