"""An embedded, real PostgreSQL for `skuflow demo`: the `pgserver` wheel's server, no setup.

It runs in a data directory of its own (kept between demos unless asked to start fresh) and
listens on a Unix socket only, so it never clashes with another server's port. It is stopped when
the process exits.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, fresh: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server; return a libpq connection string to database `postgres`."""
        with warnings.catch_warnings():
            # pgserver keeps a lock file in the user's runtime dir; without XDG_RUNTIME_DIR
            # platformdirs warns and falls back to /tmp, which is fine for a demo.
            warnings.simplefilter("ignore")
            import pgserver

            self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
