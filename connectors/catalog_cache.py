"""A catalog built from a data file, cached as a catalog JSON file so a restart need not rebuild it.

Building the Online Retail catalog reads the whole year (seconds at every start of `skuflow run`,
which a restart after SIGKILL pays again: it dominated the recovery time). The cache keeps the
built catalog under `Settings().cache_dir / "catalogs"` as a `CatalogFile` document (the format
`SKUFLOW_CATALOG=<path>` reads, so a cached file can also be handed to the engine directly).

The file's name carries its key: a hash of the data file's resolved path, and a hash of that path
with the file's size, its modification time (ns) and the versions (`CACHE_FORMAT`, the builder's
own `version`). A matching file is loaded; otherwise the catalog is built, written to a temporary
file and renamed into place (atomic: a reader never sees half a file, and two processes
starting together both end with a whole one), and the stale files of the same data path are
removed. Every start logs which of the two happened. A cache that cannot be read or written
never stops start-up: the catalog is then built as if there were no cache.

Like `make`, it trusts size and mtime rather than reading the file (which is what costs the
seconds): a different file copied over it with the same size and mtime (`cp -p`) would go
unnoticed; remove `<cache_dir>/catalogs` then.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from connectors.catalog_file import CatalogFile, parse_catalog
from state.catalog import Catalog

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when what is written here changes shape


def cache_path(
    data: Path, cache_dir: Path, name: str, version: int, folder: str = "catalogs"
) -> Path:
    """Where what was built from `data` as it is now (size, mtime) is cached: a catalog, or
    under another `folder` anything else derived from a data file (`retail_classes`)."""
    resolved = data.resolve()
    stat = resolved.stat()
    stamp = f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{CACHE_FORMAT}|{version}"
    return cache_dir / folder / f"{_prefix(resolved, name)}{_digest(stamp)}.json"


def store(path: Path, content: bytes, data: Path, name: str) -> None:
    """Write `content` at `path` (from `cache_path`) atomically, then remove the older caches of
    the same data file; raises OSError if it cannot be written."""
    _write_atomically(path, content)
    _remove_stale(path, data.resolve(), name)


def cached_catalog(
    data: Path, cache_dir: Path, build: Callable[[Path], Catalog], *, name: str, version: int
) -> Catalog:
    """The catalog `build(data)` returns, read from the cache when `data` is unchanged.

    `name` labels the files and the log lines; `version` is the builder's: bump it when the
    builder would make a different catalog from the same file, and every cache is rebuilt.
    """
    path = cache_path(data, cache_dir, name, version)
    if path.exists():
        try:
            catalog = parse_catalog(path.read_bytes())
        except (OSError, ValidationError, ValueError) as exc:
            log.warning("catalog cache %s is unreadable (%s); rebuilding it", path, exc)
        else:
            log.info("%s catalog: loaded from the cache %s (%s unchanged)", name, path, data)
            return catalog
    started = time.perf_counter()
    catalog = build(data)
    built = time.perf_counter() - started
    try:
        store(path, CatalogFile.from_catalog(catalog).model_dump_json().encode(), data, name)
    except OSError as exc:
        log.warning(
            "%s catalog: built in %.1f s; could not cache it at %s: %s", name, built, path, exc
        )
        return catalog
    log.info(
        "%s catalog: built from %s in %.1f s (no cache for this file as it is now); cached at %s",
        name,
        data,
        built,
        path,
    )
    return catalog


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_stale(current: Path, data: Path, name: str) -> None:
    """Older caches of the same data file (it changed since): they can never match again."""
    for stale in current.parent.glob(f"{_prefix(data, name)}*.json"):
        if stale != current:
            stale.unlink(missing_ok=True)


def _prefix(resolved: Path, name: str) -> str:
    return f"{name}-{_digest(str(resolved))}-"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
