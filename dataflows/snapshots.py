"""Snapshots of per-key state pickled by skuflow itself, restored only when a key needs them.

Bytewax recovery pickles whatever a stateful step's `snapshot()` returns, and on a restart
unpickles every key's last snapshot before the first event flows. At a million SKU-locations
that was a quarter of a million `SkuStock` values, and as many `SkuReplenishment` values, rebuilt
(each of their frozen dataclasses through `__setstate__`) while the backlog waited, though a
backlog touches few SKUs (issue 9).

So the fold and the replenishment step snapshot `pack(state)`: the state's own pickle, as bytes.
Bytewax pickles bytes for next to nothing and hands them back as bytes on a restart; `restore`
unpickles them when the key's first event arrives. A snapshot written before this (Bytewax's
pickle of the state itself) reaches the step already unpickled, and `restore` takes it as it is:
old recovery directories resume unchanged, and their keys are packed from their next snapshot on.

A step's `snapshot()` returns `when_written(state)`: packed lazily (`PackedWhenWritten`) until
this process has seen Bytewax write a snapshot, and packed at once from then on. Both read back
as the same bytes, but a lazy one is stored as a call of `bytes` (`__reduce__`), which a restart
unpickles through `pickle`'s `find_class` at 1.2 µs a key against 0.15 µs for plain bytes (a
quarter of a million keys per step at a million SKU-locations, issue 9).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import TypeAlias, TypeVar

T = TypeVar("T")

Packed: TypeAlias = bytes  # pickle.dumps(state), as a step's `snapshot()` returns it
# What a restart hands a step: the new form, or the older one (the state itself).
Snapshot: TypeAlias = Packed | T


def pack(state: object) -> Packed:
    """The state's pickle: it shares nothing with `state`, which may go on changing (a river
    forecaster learns in place), so no copy is needed."""
    return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


class PackedWhenWritten:
    """A state that becomes its pack when Bytewax writes it to the recovery partitions, and a
    restart reads back as plain `Packed` bytes.

    Bytewax asks every key an epoch touched for a snapshot whether or not the flow has
    recovery, but pickles them only when it has: packing in `snapshot()` cost the replenishment
    step 18 → 42 µs per SKU part without recovery (an epoch every 1,000 parts) and nothing with
    it (53 → 55 µs). `state` must not change in place after this is made (copy what would)."""

    __slots__ = ("state",)
    written = False  # whether Bytewax has written one in this process: it runs with recovery

    def __init__(self, state: object) -> None:
        self.state = state

    def __reduce__(self) -> tuple[type[bytes], tuple[Packed]]:
        PackedWhenWritten.written = True
        return bytes, (pack(self.state),)  # unpickled as bytes(packed): the pack itself


def when_written(state: T, keep: Callable[[T], T] | None = None) -> Packed | PackedWhenWritten:
    """A step's snapshot of `state`: its pack once Bytewax is known to write snapshots (so a
    restart reads plain bytes back), else packed only if written, holding `keep(state)` (a copy
    safe to hold while `state` changes in place; `state` itself without `keep`)."""
    if PackedWhenWritten.written:
        return pack(state)
    return PackedWhenWritten(state if keep is None else keep(state))


def restore(snapshot: Snapshot[T], kind: type[T], step: str) -> T:
    """The `kind` a snapshot holds, in either form; raises TypeError on anything else (a
    recovery directory written by another flow under the same step name). `step` names the
    step in that error ("the fold")."""
    # Our own recovery partitions, not input (S301); the older form is already unpickled.
    state = pickle.loads(snapshot) if isinstance(snapshot, bytes) else snapshot  # noqa: S301
    if not isinstance(state, kind):
        msg = (
            f"{step}'s snapshot holds a {type(state).__name__}, not a {kind.__name__}: the "
            "recovery directory belongs to another flow; point --recovery-dir at an empty "
            "directory"
        )
        raise TypeError(msg)
    return state
