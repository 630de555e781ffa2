"""The dashboard's files: the page's own (package data) and the charting library's.

Only files that exist in `static/` when the process starts can be served, looked up by bare name
in a fixed table, so no request path ever reaches the file system. The chart library is
`plotly.min.js` from the installed `plotly` package (found without importing it): MIT-licensed,
pinned in `requirements.lock` like every other dependency, and served from this origin.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    body: bytes
    media_type: str


@cache
def page_assets() -> dict[str, Asset]:
    """The files of `static/` by name (read once: they are small and never change at run time)."""
    folder = resources.files(__package__).joinpath("static")
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        suffix = Path(entry.name).suffix
        if entry.is_file() and suffix in MEDIA_TYPES:
            found[entry.name] = Asset(entry.name, entry.read_bytes(), MEDIA_TYPES[suffix])
    return found


@cache
def chart_library() -> Path | None:
    """`plotly.min.js` of the installed plotly package, or None when it is not installed."""
    spec = importlib.util.find_spec("plotly")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    return None
