"""`PositionMap`: a SKU's positions by (location path, lot), held in two tuples (memory, issue 9).

A dict per SKU cost 184-360 bytes for the few positions most SKUs hold, most of it the hash table.
Here a SKU holds its keys and its positions as two tuples in the same order, the keys sorted:

    keys   = (("LON/A/01/01/1/PICK", ""), ("LON/RCV/00/00/0/DOCK", ""), ...)    sorted
    values = (Position, Position, ...)                         the position at keys[i]

SKUs stocked in the same bins have the same sorted keys, and that tuple, with a dict from key
to place, is shared among them (`layout`, a bounded cache like `state.shared.position_key`):
what is left per SKU is the values tuple and this object (8 positions: 160 bytes instead of a
dict's 272-360). Up to `INDEXED` keys there is no dict: a scan of four keys costs what hashing
the key does. The price is paid by a SKU whose bins or lots are its own (nothing to share):
past four positions it holds its own keys and index, about 250 bytes more than a dict would.

Iterating gives the keys sorted, which the live view wants anyway (it sorted them per view
before). The map is immutable: `with_position` returns a new one sharing all but the values.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, overload

from state.shared import position_key

if TYPE_CHECKING:
    from state.stock import Position

PositionKey = tuple[str, str]  # (location path, lot)
T = TypeVar("T")
SHARED_LAYOUTS = 1 << 14  # distinct key sets kept shared
INDEXED = 4  # more keys than this: look them up in a shared dict rather than scan


@lru_cache(maxsize=SHARED_LAYOUTS)
def layout(keys: tuple[PositionKey, ...]) -> tuple[tuple[PositionKey, ...], dict[PositionKey, int]]:
    """The shared (keys, index) for these sorted keys; the index is empty up to `INDEXED` keys."""
    index = {key: n for n, key in enumerate(keys)} if len(keys) > INDEXED else {}
    return keys, index


class PositionMap(Mapping[PositionKey, "Position"]):
    """A SKU's positions (see the module doc): read it as a `Mapping`, change it with
    `with_position`."""

    __slots__ = ("_index", "_keys", "_values")

    def __init__(
        self,
        keys: tuple[PositionKey, ...],
        values: tuple[Position, ...],
        index: dict[PositionKey, int],
    ) -> None:
        self._keys = keys
        self._values = values
        self._index = index  # empty up to `INDEXED` keys

    @classmethod
    def of(cls, positions: Mapping[PositionKey, Position]) -> PositionMap:
        """The map of these positions, on the shared layout of their keys."""
        if isinstance(positions, PositionMap):
            return positions
        ordered = sorted(positions.items())
        keys, index = layout(tuple(key for key, _ in ordered))
        return cls(keys, tuple(position for _, position in ordered), index)

    # Lookups are spelled out in each method: they run several times per event, and a call to a
    # shared helper cost more than the scan itself.
    def __getitem__(self, key: PositionKey) -> Position:
        if self._index:
            return self._values[self._index[key]]
        keys = self._keys
        if key in keys:
            return self._values[keys.index(key)]
        raise KeyError(key)

    @overload
    def get(self, key: PositionKey, /) -> Position | None: ...
    @overload
    def get(self, key: PositionKey, default: Position | T, /) -> Position | T: ...
    def get(self, key: PositionKey, default: Any = None, /) -> Any:
        if self._index:
            place = self._index.get(key)
            return default if place is None else self._values[place]
        keys = self._keys
        return self._values[keys.index(key)] if key in keys else default

    def __contains__(self, key: object) -> bool:
        return key in self._index if self._index else key in self._keys

    def __iter__(self) -> Iterator[PositionKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def items(self) -> ItemsView[PositionKey, Position]:
        return _Items(self)

    def values(self) -> ValuesView[Position]:
        return _Values(self)

    # What the rules iterate for every event: the pairs and the positions without a view object
    # around them, whose construction cost more than the loop over a few positions.
    def pairs(self) -> Iterator[tuple[PositionKey, Position]]:
        """(key, position) in key order: `items()` for the hot path."""
        return zip(self._keys, self._values)  # noqa: B905 (same length by construction)

    def held(self) -> tuple[Position, ...]:
        """The positions in key order: `values()` for the hot path."""
        return self._values

    def __repr__(self) -> str:
        return f"PositionMap({dict(self.items())!r})"

    def with_position(self, key: PositionKey, position: Position) -> PositionMap:
        """This map with `position` at `key` (added in its sorted place if new)."""
        keys, values, index = self._keys, self._values, self._index
        # (`keys.index` alone would raise on a miss, which costs more than a second scan)
        place = index.get(key, -1) if index else keys.index(key) if key in keys else -1
        # Tuples concatenated (RUF005 would unpack them): half the cost, measured.
        if place >= 0:
            changed = values[:place] + (position,) + values[place + 1 :]  # noqa: RUF005
            return PositionMap(keys, changed, index)
        shared = position_key(*key)
        place = bisect_left(keys, shared)
        keys, index = layout((*keys[:place], shared, *keys[place:]))
        return PositionMap(keys, values[:place] + (position,) + values[place:], index)  # noqa: RUF005

    # Pickled as a plain dict, the shape `SkuStock` snapshots always had.
    def __reduce__(self) -> tuple[Any, ...]:
        return (_restored, (dict(self.pairs()),))


def _restored(positions: dict[PositionKey, Position]) -> PositionMap:
    return PositionMap.of(positions)


class _Items(ItemsView[PositionKey, "Position"]):
    __slots__ = ()

    def __iter__(self) -> Iterator[tuple[PositionKey, Position]]:
        held: PositionMap = self._mapping  # type: ignore[attr-defined]
        return zip(held._keys, held._values)  # noqa: B905 (same length by construction)


class _Values(ValuesView["Position"]):
    __slots__ = ()

    def __iter__(self) -> Iterator[Position]:
        held: PositionMap = self._mapping  # type: ignore[attr-defined]
        return iter(held._values)


NO_POSITIONS = PositionMap((), (), {})
