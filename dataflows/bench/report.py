"""What every benchmark figure shares: the machine, medians and percentiles, JSON + Markdown out."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Why the benches that start the engine beside the services prime them first (session 23: a
# broker a minute old gave freshness p99 3.3 s at 1k/s, 311 ms in the next run, 23 ms warm).
COLD_START = (
    "services just started (a fresh broker's JVM, PostgreSQL's empty caches) can answer slowly "
    "for their first minutes, a cold start's figure, not the steady state's."
)


def machine() -> dict[str, Any]:
    """Where a figure was measured: CPU model and count, memory, Python, OS."""
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory_gib = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        memory_gib = round(int(first[1]) / 1024 / 1024, 1)
    return {
        "cpu": model,
        "cpus": len(os.sched_getaffinity(0)),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def machine_line(info: dict[str, Any] | None = None) -> str:
    info = info or machine()
    return (
        f"{info['cpus']} CPUs ({info['cpu']}), {info['memory_gib']} GiB, "
        f"Python {info['python']}, {info['system']}"
    )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return float(ordered[rank - 1])


@dataclass
class Figure:
    """One benchmark's result: a name, rows of measurements, the Markdown that shows them."""

    name: str
    rows: list[dict[str, Any]]
    markdown: str
    parameters: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=machine)
    measured_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.name,
            "measured_at": self.measured_at,
            "machine": self.machine,
            "parameters": self.parameters,
            "rows": self.rows,
        }


def write(figure: Figure, out: Path) -> tuple[Path, Path]:
    """Store the figure as `<name>.json` and `<name>.md` (the table under a machine line)."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{figure.name}.json"
    md_path = out / f"{figure.name}.md"
    json_path.write_text(json.dumps(figure.as_dict(), indent=2, default=str) + "\n")
    md_path.write_text(
        f"Measured {figure.measured_at} on {machine_line(figure.machine)}.\n\n{figure.markdown}\n"
    )
    return json_path, md_path
