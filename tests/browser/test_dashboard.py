"""The dashboard as a newcomer meets it: `skuflow demo` in headless Chromium, numbers moving, a
reorder proposal approved, a SKU-site's forecast drawn.

The demo runs as a subprocess exactly as a person starts it (simulated floor, a free port), once
for the module, at a day of trading a second: forecasts appear within seconds, reorder proposals
(14 days learnt) within about 20. Debian's `chromium` is driven by Playwright through
`executable_path`, with a fresh profile and nothing that reaches the network. The screenshot stays
in the test's tmp dir; with SKUFLOW_UPDATE_SCREENSHOTS=1 it also replaces the README's
(`docs/dashboard.png`).
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

import httpx
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
# A day of the simulated floor a second (~600 events/s), as `skuflow demo` runs by default:
# proposals (14 days learnt) within about 20 s, and a flow that keeps up even while Chromium
# draws, so the demo's queue stays short and Ctrl-C drains it in seconds (flat out, the queue
# fills and draining it took 20-35 s on a busy 2-core machine).
SPEED = "86400"


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


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    command = [sys.executable, "-m", "api.cli", "demo", "--simulate", "--speed", SPEED]
    process = subprocess.Popen(
        [*command, "--port", str(free_port())],
        cwd=tmp_path_factory.mktemp("demo"),
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


def script_failures(page: Page) -> list[str]:
    """Errors the page's scripts raise or log, from now on (HTTP errors are judged on screen)."""
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    page.on(
        "console",
        lambda m: (
            failures.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    return failures


def sign_in(page: Page, demo: Demo, role: str = "admin") -> None:
    page.goto(demo.dashboard)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#login-key", demo.keys[role])
    page.click("#login-form button[type=submit]")
    expect(page.locator("#who")).to_contain_text(role)


def test_a_newcomer_enters_the_printed_key_and_watches_atp_move(demo: Demo, page: Page) -> None:
    failures = script_failures(page)

    sign_in(page, demo)

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
    expect(page.locator(".state.error")).to_have_count(0)
    assert not failures, failures


def test_a_proposal_approved_on_screen_is_approved_and_its_sku_sites_forecast_is_drawn(
    demo: Demo, page: Page, tmp_path: Path
) -> None:
    failures = script_failures(page)
    sign_in(page, demo)

    approvable = page.locator("#proposals-table tr[data-proposal]:has(button[data-action=approve])")
    expect(approvable.first).to_be_visible(timeout=45_000)
    proposal_id = approvable.first.get_attribute("data-proposal")
    assert proposal_id, "a proposal row names its proposal"
    row = page.locator(f'#proposals-table tr[data-proposal="{proposal_id}"]')
    sku, site = row.locator("td").nth(0).inner_text(), row.locator("td").nth(1).inner_text()
    row.locator("button[data-action=approve]").click()

    expect(row.locator("[data-status]")).to_have_attribute("data-status", "approved")
    expect(row.locator("button[data-action=approve]")).to_have_count(0)
    answer = httpx.get(
        demo.dashboard + "v1/proposals",
        params={"status": "approved", "sku": sku, "site": site},
        headers={"Authorization": f"Bearer {demo.keys['buyer']}"},
    )
    assert answer.status_code == 200, answer.text
    [approved] = [p for p in answer.json()["items"] if p["proposal_id"] == proposal_id]
    assert approved["purchase_order_id"].startswith("PO-")

    # Another SKU's forecast: the approval's purchase order is stamped with the wall-clock time,
    # which takes the approved SKU's event time (and its days) past the simulated floor's.
    listed = page.locator("#proposals-table tbody tr[data-proposal]").evaluate_all(
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])"
    )
    other, other_site = next((s, where) for s, where in listed if s != sku)
    page.fill("#forecast-sku", other)
    page.select_option("#forecast-site", other_site)
    page.click("#forecast-form button[type=submit]")
    chart = page.locator(f'#forecast-chart[data-forecast="{other}:{other_site}"]')
    expect(chart.locator(".main-svg").first).to_be_attached(timeout=10_000)
    # the two bands, the demand, the forecasts made the day before and the days ahead
    expect(chart.locator(".scatterlayer .trace")).to_have_count(7)
    expect(page.locator("#forecast-summary")).to_contain_text(f"{other} at {other_site}")
    expect(page.locator("#forecast-summary")).to_contain_text("days learnt")

    page.locator("#atp-chart .main-svg").first.wait_for(state="attached")
    page.wait_for_timeout(3_000)  # a few seconds of ATP chart history for the picture
    expect(page.locator(".state.error")).to_have_count(0)
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True, animations="disabled")
    if os.environ.get("SKUFLOW_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes((tmp_path / "dashboard.png").read_bytes())
    assert not failures, failures
