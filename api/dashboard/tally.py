"""The busiest SKUs: those whose ATP changed most often among the view's latest changes.

`ChangeTally` remembers the last change id it read and the SKUs of the last `window` changes, so
each call reads only what is new since the previous one (the first call reads what the view
retains, once). One tally serves every dashboard of a process; a lock keeps calls from
interleaving. If the view trims changes the tally had not read yet, it simply continues from the
oldest one retained.
"""

from __future__ import annotations

import threading
from collections import Counter, deque

from connectors.view_protocol import LiveView

PAGE = 5_000
WINDOW = 2_000


class ChangeTally:
    def __init__(self, window: int = WINDOW) -> None:
        self._recent: deque[str] = deque(maxlen=window)
        self._after = "0-0"
        self._lock = threading.Lock()

    def busiest(self, view: LiveView, limit: int) -> tuple[list[tuple[str, int]], int]:
        """Up to `limit` (sku, changes) pairs, most changes first (ties by SKU), and how many
        changes were counted."""
        with self._lock:
            self._catch_up(view)
            counts = Counter(self._recent)
            counted = len(self._recent)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit], counted

    def _catch_up(self, view: LiveView) -> None:
        while True:
            page = view.changes(self._after, count=PAGE)
            if not page:
                return
            self._recent.extend(change.sku for change in page)
            self._after = page[-1].id
            if len(page) < PAGE:
                return
