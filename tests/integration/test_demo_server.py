"""`skuflow demo` as a newcomer runs it: it serves the API with a working key and stops cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from connectors.services.base import free_port


def test_the_demo_serves_live_atp_with_the_key_it_prints_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "demo",
            "--simulate",
            "--speed",
            "0",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    printed = ""
    key = None
    deadline = time.monotonic() + 90
    while key is None and time.monotonic() < deadline:
        line = demo.stdout.readline()
        printed += line
        if match := re.search(r"channel\s+(sk-channel-\S+)", line):
            key = match.group(1)
    assert key, f"the demo printed no channel key:\n{printed}"
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}"}
    network = 0
    while time.monotonic() < deadline and network == 0:
        try:
            answer = httpx.get(f"{base}/v1/atp/RETRO-CLOCK", headers=headers, timeout=5)
            if answer.status_code == 200:
                network = answer.json()["network"]
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    assert network > 0, "the simulated floor never put RETRO-CLOCK in stock"
    assert httpx.get(f"{base}/v1/atp/RETRO-CLOCK", timeout=5).status_code == 401
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=90)
    assert demo.returncode == 0, printed + rest
    assert "Stopped." in rest
    assert (tmp_path / ".demo" / "postgres" / "PG_VERSION").exists()  # the ledger is left intact
