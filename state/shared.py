"""Values every SKU's state shares instead of holding its own copy (memory, issue 9).

The dataflow holds one `SkuStock` per SKU, and most of what is in one is also in the others:
the same bin paths, the same (bin, lot) keys, empty mappings, the same bucket snapshots (an
emptied bin holds all zeros, a stocked one a few units available). Held once per SKU, these
copies were a third of the state's bytes; shared, they cost nothing per SKU. Everything here is
immutable, so sharing is invisible to the rules: a shared value is equal to the copy it
replaces, only not a separate object.

- `EMPTY`: the one empty mapping, read-only (`MappingProxyType`), so no rule can fill it by
  mistake. It cannot be pickled: `SkuStock` snapshots it as `{}` and restores it as `EMPTY`.
- `shared_quantities(quantities)`: one bucket snapshot per value among the recent ones: most bins
  hold a few units, all of them available, so the same few values recur across SKUs.
- `position_key(location, lot)`: the one tuple for a (bin path, lot) key, and with it one string
  per bin path and lot. A bounded cache (`functools.lru_cache`) rather than `sys.intern`, which
  the core may not import: a key that fell out of it is merely not shared.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from state.buckets import ZERO, Quantities

EMPTY: Mapping[Any, Any] = MappingProxyType({})

SHARED_KEYS = 1 << 16  # distinct (bin, lot) keys kept shared; lots unique to a SKU churn out
SHARED_QUANTITIES = 1 << 12  # distinct bucket snapshots kept shared


@lru_cache(maxsize=SHARED_KEYS)
def position_key(location: str, lot: str) -> tuple[str, str]:
    """The shared (location, lot) tuple equal to this one (the first one asked for)."""
    return (location, lot)


@lru_cache(maxsize=SHARED_QUANTITIES)
def shared_quantities(quantities: Quantities) -> Quantities:
    """The shared snapshot equal to this one (all zeros: `ZERO`)."""
    return quantities if quantities else ZERO


@lru_cache(maxsize=256)
def shared_value(value: Hashable) -> Any:
    """The shared copy equal to `value`: for the few configuration values (a lateness, a time
    zone) that every restored SKU would otherwise hold a copy of."""
    return value


def shared_mapping(mapping: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """`EMPTY` for an empty mapping, else the mapping itself."""
    return mapping if mapping else EMPTY
