"""The dashboard as a newcomer meets it: `skuflow demo` in headless Chromium, numbers moving.

The demo runs as a subprocess exactly as a person starts it (simulated floor, flat out, a free
port); Debian's `chromium` is driven by Playwright through `executable_path`, with a fresh
profile and nothing that reaches the network. The screenshot stays in the test's tmp dir; with
SKUFLOW_UPDATE_SCREENSHOTS=1 it also replaces the README's (`docs/dashboard.png`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from connectors.services.base import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
KEY_LINE = re.compile(r"^\s+(device|channel|buyer|analyst|admin)\s+(sk-\S+)\s*$")
DASHBOARD_LINE = re.compile(r"Dashboard: (http://127\.0\.0\.1:\d+/)")


@dataclass
class Demo:
    dashboard: str
    keys: dict[str, str]
    process: subprocess.Popen[str]
    printed: list[str]


def read_banner(process: subprocess.Popen[str], printed: list[str]) -> tuple[str, dict[str, str]]:
    """The dashboard's address and the keys the demo prints before it starts feeding."""
    assert process.stdout is not None
    keys: dict[str, str] = {}
    dashboard = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        printed.append(line)
        if match := KEY_LINE.match(line):
            keys[match.group(1)] = match.group(2)
        if match := DASHBOARD_LINE.search(line):
            dashboard = match.group(1)
        if not line or "Ctrl-C stops the demo" in line:
            break
    assert dashboard, "the demo printed no dashboard address:\n" + "".join(printed)
    assert "admin" in keys, "the demo printed no admin key:\n" + "".join(printed)
    return dashboard, keys


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    command = [sys.executable, "-m", "api.cli", "demo", "--simulate", "--speed", "0"]
    process = subprocess.Popen(
        [*command, "--port", str(free_port())],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed: list[str] = []
    drain = threading.Thread(target=lambda: printed.extend(process.stdout or ()), daemon=True)
    try:
        dashboard, keys = read_banner(process, printed)
        drain.start()  # keep reading what the demo prints, so a full pipe never stalls it
        yield Demo(dashboard, keys, process, printed)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
            if drain.is_alive():
                drain.join(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
    assert process.returncode == 0, "".join(printed)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is not installed: `make system-packages` installs it (as root), "
            "or `apt-get install chromium`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _atp_figures(page: Page) -> dict[str, str]:
    """Every ATP figure on screen, by "SKU:site" (or "SKU:network"), read in one go."""
    pairs = page.locator("[data-atp]").evaluate_all(
        "cells => cells.map(c => [c.dataset.atp, c.textContent])"
    )
    return dict(pairs)


def test_a_newcomer_enters_the_printed_key_and_watches_atp_move(
    demo: Demo, page: Page, tmp_path: Path
) -> None:
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    # Scripts must not fail; an HTTP error is judged by what the page shows (below), not here.
    page.on(
        "console",
        lambda m: (
            failures.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )

    page.goto(demo.dashboard)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-key", demo.keys["admin"])
    page.click("#login-form button[type=submit]")

    expect(page.locator("#who")).to_contain_text("admin")
    expect(page.locator("#atp-table tbody tr").first).to_be_visible(timeout=20_000)
    expect(page.locator("#h-stream")).to_contain_text("live")
    before = _atp_figures(page)
    moved: dict[str, tuple[str, str]] = {}
    deadline = time.monotonic() + 20
    while not moved and time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now = _atp_figures(page)  # a figure that changed in place, not a SKU ranked in or out
        moved = {k: (before[k], v) for k, v in now.items() if k in before and before[k] != v}
    assert moved, f"no ATP figure changed on screen in 20 s: {before}"

    expect(page.locator("#stock-result table tbody tr").first).to_be_visible()
    expect(page.locator("#dead-table tbody tr").first).to_be_visible(timeout=15_000)
    expect(page.locator("#h-ledger")).to_contain_text("entries")
    expect(page.locator("#atp-chart .main-svg").first).to_be_attached(timeout=10_000)
    page.wait_for_timeout(4_000)  # a few seconds of chart history for the picture

    expect(page.locator(".state.error")).to_have_count(0)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True, animations="disabled")
    if os.environ.get("SKUFLOW_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes((tmp_path / "dashboard.png").read_bytes())
    assert not failures, failures
