"""The fold's snapshots: each SKU's state pickled by skuflow itself, restored only when needed.

Bytewax recovery pickles whatever a stateful step's `snapshot()` returns, and on a restart
unpickles every key's last snapshot before the first event flows. At a million SKU-locations
that was a quarter of a million `SkuStock` values rebuilt (each of its frozen dataclasses through
`__setstate__`) while the backlog waited, though a backlog touches few SKUs (issue 9).

So the fold snapshots `pack(stock)`: the state's own pickle, as bytes. Bytewax pickles bytes for
next to nothing and hands them back as bytes on a restart; `restore` unpickles them when the
key's first event arrives. A snapshot written before this (Bytewax's pickle of the `SkuStock`
itself) reaches the fold already unpickled, and `restore` takes it as it is: old recovery
directories resume unchanged, and their keys are packed from their next snapshot on.
"""

from __future__ import annotations

import pickle

from state.stock import SkuStock

Packed = bytes  # pickle.dumps(SkuStock), as the fold's `snapshot()` returns it
Snapshot = Packed | SkuStock  # what a restart hands the fold: new form or older form


def pack(stock: SkuStock) -> Packed:
    return pickle.dumps(stock, protocol=pickle.HIGHEST_PROTOCOL)


def restore(snapshot: Snapshot) -> SkuStock:
    """The state a snapshot holds, in either form; raises TypeError on anything else (a
    recovery directory written by another flow under the same step name)."""
    if isinstance(snapshot, SkuStock):
        return snapshot
    stock = pickle.loads(snapshot)  # noqa: S301 - our own recovery partitions, not input
    if not isinstance(stock, SkuStock):
        msg = (
            f"the fold's snapshot holds a {type(stock).__name__}, not a SkuStock: the recovery "
            "directory belongs to another flow; point --recovery-dir at an empty directory"
        )
        raise TypeError(msg)
    return stock
