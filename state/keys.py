"""`key64(text)`: an id's 64-bit key, the same in every process.

State that must recognise ids it has seen (the fold's event ids, a day's order ids) keeps these
8-byte keys instead of the ids (19-37 characters, 60-90 bytes as `str` objects). BLAKE2b, not
Python's `hash`, which is salted per process: the keys are in the recovery snapshots. Two ids
of one SKU sharing a key is a chance of about n² / 2^65 among n ids (10^-11 for 10^4).
"""

from __future__ import annotations

from hashlib import blake2b


def key64(text: str) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")
