"""The web app's speed, as a planner feels it, in a real browser (Playwright + the system's Chromium).

    python benchmarks/app_speed.py                 # demo: 5 runs; district: 1 run
    python benchmarks/app_speed.py --repeats 3 --no-district

Starts ``simsampling app`` on a free local port and measures:

* **Run to first chart** on the demo point (``scenarios/one-point-demo.yaml``), once the app
  is warm: a fresh page each time (a new session, so no chart is on it), the Run button
  clicked, the clock stopped when the first chart's canvas is on the page; then, untimed,
  the results folder's zip is awaited before the next run. Target: under 1.5 s on two
  cores. Baselines in the same run: ``run_scenario`` on the same scenario in this process
  (the engine and metrics alone), and the same click through Streamlit's AppTest (the
  server's share: the page's script until the figures are drawn, no browser).
* **A district in the background**: ``scenarios/beibei-district.yaml`` (326 points), Run
  clicked; while it runs, every 2 s the replications in the form are changed and the clock
  measures until the page says the scenario is valid with the new number (a round trip
  to the server, while the run goes on); progress updates seen; time until
  the district's first chart. Baseline: ``run_scenario(jobs=2)`` on the district here.

Prints figures only; nothing is asserted (speed targets are not unit tests).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 300_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def engine_baseline(path: Path, jobs: int, repeats: int) -> float:
    """Median seconds of run_scenario on the scenario in this process (after one untimed run)."""
    import simsampling

    scenario = simsampling.load_scenario(path)
    simsampling.run_scenario(scenario, jobs=jobs)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        simsampling.run_scenario(scenario, jobs=jobs)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def first_chart(page, url: str) -> float:
    """Open a fresh page, press Run, and time until the first chart is drawn."""
    page.goto(url)
    run = page.get_by_role("button", name="Run", exact=True)
    run.wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Valid: ").wait_for(timeout=TIMEOUT_MS)
    started = time.perf_counter()
    run.click()
    page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=TIMEOUT_MS)
    elapsed = time.perf_counter() - started
    page.get_by_text("Download the results folder (zip)").wait_for(timeout=TIMEOUT_MS)  # not timed: the next
    return elapsed  # run starts on a quiet machine, as a planner's would after reading the figures


def server_side(path: Path, repeats: int) -> list[float]:
    """Seconds from a Run click to the page's script having drawn the figures, without a browser (AppTest)."""
    from streamlit.testing.v1 import AppTest

    from simsampling.app import SCRIPT

    # AppTest runs the page outside a server: Streamlit warns about it on every element.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)

    app = AppTest.from_file(str(SCRIPT), default_timeout=TIMEOUT_MS / 1000)
    app.run()
    times = []
    for index in range(repeats + 1):
        started = time.perf_counter()
        app.button(key="run_button").click().run()
        elapsed = time.perf_counter() - started
        while app.session_state["job"] is not None or not app.get("vega_lite_chart"):
            time.sleep(0.1)
            app.run()
            elapsed = time.perf_counter() - started
        if index:  # the first waits for the runner to warm up
            times.append(elapsed)
        time.sleep(3)  # the results folder is written meanwhile
    return times


def district(page, url: str) -> dict:
    """Run the district; meanwhile change the replications in the form every 2 s and time the page's answer."""
    page.goto(url)
    page.get_by_label("shipped scenarios").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("shipped scenarios").click()
    page.get_by_role("option", name="beibei-district.yaml").click()
    page.get_by_role("button", name="Open the scenario").click()
    page.get_by_text("Valid: 326 point(s)").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("Round", exact=True).click()  # the expander holding the replications
    replications = page.get_by_label("replications", exact=True)
    replications.wait_for(timeout=TIMEOUT_MS)
    first = int(replications.input_value())
    started = time.perf_counter()
    page.get_by_role("button", name="Run", exact=True).click()
    answers, progress = [], set()
    chart = page.locator(".vega-embed canvas, .vega-embed svg").first
    value = first
    while not chart.is_visible() and time.perf_counter() - started < TIMEOUT_MS / 1000:
        bar = page.locator("[data-testid='stProgress']")
        if bar.count():
            progress.add(bar.first.inner_text())
        value = first + 1 if value == first else first  # the run goes on with the scenario it started with
        asked = time.perf_counter()
        replications.fill(str(value))
        replications.press("Enter")
        page.get_by_text(f"stations, {value} replications.").wait_for(timeout=TIMEOUT_MS)
        answers.append(time.perf_counter() - asked)
        page.wait_for_timeout(2000)
    return {"first_chart_s": time.perf_counter() - started, "answers": answers, "progress_seen": len(progress)}


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a plain kill still stops the app (finally below)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-district", action="store_true")
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; cores: {os.cpu_count()}")
    demo = ROOT / "scenarios" / "one-point-demo.yaml"
    engine_s = engine_baseline(demo, jobs=1, repeats=args.repeats)
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="app-speed-"))
    server = subprocess.Popen([sys.executable, "-m", "simsampling", "app", "--port", str(port), "--workdir", str(work)],
                              stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        server.stdout.readline()
        server.stdout.readline()  # "ready"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            warm = first_chart(page, url)  # the runner's first job waits for it to warm up
            times = [first_chart(page, url) for _ in range(args.repeats)]
            print(f"demo, Run to first chart (warm app): median {statistics.median(times):.2f} s, "
                  f"min {min(times):.2f}, max {max(times):.2f} over {len(times)} (first, cold: {warm:.2f} s)")
            print(f"  baseline, run_scenario alone in one process: median {engine_s:.3f} s; "
                  f"app / baseline {statistics.median(times) / engine_s:.1f}x")
            os.environ["SIMSAMPLING_APP_WORKDIR"] = str(work / "apptest")
            scripted = server_side(demo, args.repeats)
            print(f"  the same click without a browser (AppTest, the server alone): median {statistics.median(scripted):.2f} s, "
                  f"min {min(scripted):.2f}, max {max(scripted):.2f}")
            if not args.no_district:
                beibei = ROOT / "scenarios" / "beibei-district.yaml"
                measured = district(page, url)
                answers = measured["answers"]
                print(f"district (326 points), Run to first chart: {measured['first_chart_s']:.1f} s; "
                      f"{measured['progress_seen']} distinct progress texts seen")
                if answers:
                    print(f"  page answers to a form change while it runs: median {statistics.median(answers):.2f} s, "
                          f"max {max(answers):.2f} over {len(answers)}")
                district_s = engine_baseline(beibei, jobs=2, repeats=1)
                print(f"  baseline, run_scenario(jobs=2) alone: {district_s:.1f} s; "
                      f"app / baseline {measured['first_chart_s'] / district_s:.2f}x")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
