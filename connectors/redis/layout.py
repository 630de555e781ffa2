"""Key names and field encodings of the live view in Redis (pure: no client here).

The layout itself is described in `connectors.redis.live_view`. Writes encode straight from a
`SkuView` (no intermediate `SkuSnapshot`: encoding is a third of a write's cost); reads decode
into a `SkuSnapshot`. Numbers are decimal strings, dates and times ISO 8601, JSON compact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from connectors.compact_json import compact_json
from connectors.view_protocol import AtpChange, PositionSnapshot, SkuSnapshot, stocked_positions
from state.views import SkuView

POSITIONS = "positions"
IN_TRANSIT = "in_transit"
ON_ORDER = "on_order"
AS_OF = "as_of"
UPDATED_AT = "updated_at"
LAST_EVENT_ID = "last_event_id"
VERSION = "version"
ATP_NETWORK = "atp:network"
ATP_SITE = "atp:site:"
ATP_CHANNEL = "atp:channel:"

LAST_WRITE_AT = "last_write_at"
LAST_EVENT_AT = "last_event_at"
WRITES = "writes"
COMPLETE_SINCE = "complete_since"  # set only by a rebuild from the ledger (or a fresh start)

_GLOB_SPECIALS = str.maketrans({c: f"\\{c}" for c in "\\*?[]"})


@dataclass(frozen=True, slots=True)
class Keys:
    """The live view's key names under one prefix."""

    prefix: str

    def sku(self, sku: str) -> str:
        return f"{self.prefix}:sku:{sku}"

    @property
    def sku_pattern(self) -> str:
        """A SCAN pattern matching every SKU hash (the prefix's glob characters escaped)."""
        return f"{self.prefix.translate(_GLOB_SPECIALS)}:sku:*"

    @property
    def skus(self) -> str:
        return f"{self.prefix}:skus"

    @property
    def changes(self) -> str:
        return f"{self.prefix}:changes"

    @property
    def meta(self) -> str:
        return f"{self.prefix}:meta"


# orjson where its text is the standard encoder's (`connectors.compact_json`): 5-10x less CPU
_COMPACT = compact_json


def utc_text(moment: datetime) -> str:
    """Fixed-width UTC ISO text: for years 1000-9999 its string order is its time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def positions_json(view: SkuView) -> str:
    """[[location, lot, available, allocated, on_hold, damaged, quarantined], ...]"""
    return _COMPACT(
        [
            [p.location, p.lot, q.available, q.allocated, q.on_hold, q.damaged, q.quarantined]
            for p in stocked_positions(view)
            for q in (p.quantities,)
        ]
    )


@dataclass(frozen=True, slots=True)
class Encoded:
    """A view as the write script takes it; `fields` and `change` are flat [name, value, ...]."""

    sku: str
    fields: list[str]  # the hash: fixed fields, then the ATP fields (all named "atp:...")
    change: list[str]  # the stream entry
    version: int  # `SkuView.version`: the script keeps a stored view of a higher one

    def document(self) -> str:
        """One JSON array [sku, fields, change, version]: one script argument per SKU."""
        return _COMPACT([self.sku, self.fields, self.change, self.version])


def encode(view: SkuView) -> Encoded:
    """Every hash field and the change entry of one view, each value computed once."""
    atp = view.atp
    sites = dict(sorted(atp.sites.items()))
    channels = dict(sorted(atp.channels.items()))
    network = str(atp.network)
    updated_at = view.updated_at.isoformat()
    fields = [
        POSITIONS, positions_json(view),
        IN_TRANSIT, str(view.in_transit),
        ON_ORDER, str(view.on_order),
        AS_OF, view.as_of.isoformat(),
        UPDATED_AT, updated_at,
        LAST_EVENT_ID, view.last_event_id,
        VERSION, str(view.version),
        ATP_NETWORK, network,
    ]  # fmt: skip
    for site, figure in sites.items():
        fields += (f"{ATP_SITE}{site}", str(figure))
    for code, figure in channels.items():
        fields += (f"{ATP_CHANNEL}{code}", str(figure))
    change = [
        "sku", view.sku,
        "network", network,
        "sites", _COMPACT(sites),
        "channels", _COMPACT(channels),
        "updated_at", updated_at,
        VERSION, str(view.version),
    ]  # fmt: skip
    return Encoded(view.sku, fields, change, view.version)


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def sku_fields(view: SkuView) -> dict[str, str]:
    """Every field of a SKU's hash: absolute values, so writing them twice changes nothing."""
    return _pairs(encode(view).fields)


def change_fields(view: SkuView) -> dict[str, str]:
    """The changes-stream entry of a view whose ATP changed."""
    return _pairs(encode(view).change)


def _atp_by(fields: Mapping[str, str], prefix: str) -> dict[str, int]:
    return {
        name.removeprefix(prefix): int(value)
        for name, value in sorted(fields.items())
        if name.startswith(prefix)
    }


def snapshot_from_fields(sku: str, fields: Mapping[str, str]) -> SkuSnapshot:
    """The inverse of `sku_fields`."""
    return SkuSnapshot(
        sku=sku,
        as_of=date.fromisoformat(fields[AS_OF]),
        updated_at=datetime.fromisoformat(fields[UPDATED_AT]),
        last_event_id=fields[LAST_EVENT_ID],
        version=int(fields.get(VERSION, 0)),  # (a hash written before versions: 0)
        positions=tuple(PositionSnapshot(*row) for row in json.loads(fields[POSITIONS])),
        in_transit=int(fields[IN_TRANSIT]),
        on_order=int(fields[ON_ORDER]),
        atp_network=int(fields[ATP_NETWORK]),
        atp_sites=_atp_by(fields, ATP_SITE),
        atp_channels=_atp_by(fields, ATP_CHANNEL),
    )


def change_from_entry(entry_id: str, fields: Mapping[str, str]) -> AtpChange:
    return AtpChange(
        id=entry_id,
        sku=fields["sku"],
        network=int(fields["network"]),
        sites=json.loads(fields["sites"]),
        channels=json.loads(fields["channels"]),
        updated_at=datetime.fromisoformat(fields["updated_at"]),
        version=int(fields.get(VERSION, 0)),
    )
