"""What every local service has in common: a run directory, a free port, a pid, a log, a wait."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service failed to start or answer; the message says what and where its log is."""


@dataclass(frozen=True)
class ServiceInfo:
    """A running service: how to reach it and how to stop it."""

    name: str
    pid: int
    port: int
    url: str
    log: str
    data_dir: str
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> ServiceInfo:
        return cls(**raw)  # type: ignore[arg-type]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# sh starts the server in the background and exits at once, so the server is not our child: it
# outlives the CLI that started it, never lingers as our zombie, and no Popen object is left to
# raise a ResourceWarning when it is collected.
_LAUNCH = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'


def launch_detached(argv: list[str], log: Path, *, cwd: Path | None = None) -> int:
    """Start `argv` in a new session, its output appended to `log`; return its pid."""
    launcher = ["sh", "-c", _LAUNCH, "sh", str(log), *argv]
    return int(subprocess.check_output(launcher, cwd=cwd, text=True, start_new_session=True))


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll `ready` until true; if the process dies or time runs out, fail with its log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if alive is not None and not alive():
            raise ServiceError(f"{what} exited while starting. {tail_hint(log)}")
        time.sleep(0.1)
    raise ServiceError(f"{what} did not answer within {timeout:.0f}s. {tail_hint(log)}")


def tail_hint(log: Path | None, lines: int = 15) -> str:
    if log is None:
        return ""
    if not log.exists():
        return f"Its log {log} does not exist."
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return f"Its log is {log}; last lines:\n" + "\n".join(tail)


def stop_pid(pid: int, *, timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
    """Send `sig`, wait, then SIGKILL: the way a service manager stops what it started."""
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def write_info(path: Path, info: ServiceInfo) -> None:
    path.write_text(json.dumps(info.to_json(), indent=2))


def read_info(path: Path) -> ServiceInfo | None:
    if not path.exists():
        return None
    return ServiceInfo.from_json(json.loads(path.read_text()))
