"""`key64(text)`: an id's 64-bit key, the same in every process; `key_offset`: where a key is in
packed records.

State that must recognise ids it has seen (the fold's event ids, a day's order ids) keeps these
8-byte keys instead of the ids (19-37 characters, 60-90 bytes as `str` objects). BLAKE2b, not
Python's `hash`, which is salted per process: the keys are in the recovery snapshots. Two ids
of one SKU sharing a key is a chance of about n² / 2^65 among n ids (10^-11 for 10^4).
"""

from __future__ import annotations

from hashlib import blake2b
from struct import Struct

PACKED_KEY = Struct("=Q")  # a key as packed records hold it: 8 bytes, native order (`array("Q")`)


def key64(text: str) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")


def key_offset(packed: bytes, key: int, stride: int = 8) -> int:
    """The byte offset of the record starting with `key` in `packed` (records of `stride` bytes,
    each starting with its key), or -1. `bytes.find` in C; a match must start on a record's
    boundary, since the bytes straddling two records (or a record's other fields) can spell a
    key."""
    wanted = PACKED_KEY.pack(key)
    at = packed.find(wanted)
    while at >= 0 and at % stride:
        at = packed.find(wanted, at + 1)
    return at
