"""The web app end to end in a real browser: Playwright for Python driving the system's Chromium.

``simsampling app`` starts on a free local port; the test opens the demo, changes the tents,
runs, and checks that the key figures on the page are those of ``simsampling run``'s
summary.json for the same scenario and seed. It takes screenshots (checked not blank; with
SIMSAMPLING_APP_SCREENSHOTS=DIR they are also saved there: docs/app.md shows them).
Skipped only when Chromium is not installed (.ci/run installs it with apt-get).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simsampling.report.html import summary_kpi_rows

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"
CHROMIUM = shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if Path(p).exists()), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def not_blank(png: Path) -> None:
    """A screenshot of a page with something on it: many colours, and far from all white."""
    from PIL import Image

    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    white = sum(count for count, colour in colours if min(colour) > 245)
    assert image.width >= 1000 and len(colours) > 200, f"{png.name}: {len(colours)} colours"
    assert white < 0.95 * image.width * image.height, f"{png.name}: almost all white"


def test_a_planner_changes_the_tents_runs_and_sees_the_run_commands_figures(tmp_path):
    from playwright.sync_api import sync_playwright

    # The same scenario and seed through the command line.
    data = yaml.safe_load(DEMO.read_text())
    data["points"][0]["tents"] = 5
    (tmp_path / "five-tents.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    run = subprocess.Popen([sys.executable, "-m", "simsampling", "run", str(tmp_path / "five-tents.yaml"), "--out",
                            str(tmp_path / "cli"), "--quiet"], stdout=subprocess.DEVNULL)

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "simsampling", "app", "--port", str(port), "--workdir",
                               str(tmp_path / "work")], stdout=subprocess.PIPE, text=True)
    shots = tmp_path / "shots"
    shots.mkdir()
    dialogs = []
    try:
        first = server.stdout.readline()
        assert first.startswith(f"simsampling app: http://localhost:{port} (this machine only; --host to change)")
        assert server.stdout.readline().startswith("ready: ")  # the server answers its health check
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)  # a fresh profile each launch
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(f"http://127.0.0.1:{port}", timeout=TIMEOUT_MS)
            tents = page.get_by_label("tents", exact=True)
            tents.wait_for(timeout=TIMEOUT_MS)
            tents.fill("5")
            tents.press("Enter")
            page.get_by_text("Valid: 1 point(s), 2,600 residents, 5 stations").wait_for(timeout=TIMEOUT_MS)
            page.screenshot(path=shots / "app-edit.png")
            page.get_by_role("button", name="Run", exact=True).click()
            figures = page.locator("table").filter(has_text="residents sampled (points and home)")
            figures.wait_for(timeout=TIMEOUT_MS)
            page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=TIMEOUT_MS)
            shown = [[cell.strip() for cell in row.locator("th, td").all_inner_texts()]
                     for row in figures.locator("tbody tr").all()]
            page.get_by_text("Download the results folder (zip)").wait_for(timeout=TIMEOUT_MS)
            page.get_by_text("What to do").first.wait_for(timeout=TIMEOUT_MS)  # the run's diagnosis, over the figures
            page.screenshot(path=shots / "app-results.png")
            page.locator(".vega-embed").first.scroll_into_view_if_needed()
            page.wait_for_timeout(500)  # the charts' transitions
            page.screenshot(path=shots / "app-charts.png")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert run.wait(timeout=300) == 0
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    expected = [[row.label.strip(), row.mean, row.ci95, str(row.leaf["n"])] for row in summary_kpi_rows(summary, 1)]
    assert shown == expected
    assert dialogs == []
    for png in sorted(shots.iterdir()):
        not_blank(png)
    keep = os.environ.get("SIMSAMPLING_APP_SCREENSHOTS")
    if keep:
        for png in shots.iterdir():
            shutil.copyfile(png, Path(keep) / png.name)
