"""The same window of a results folder animated with vidigi, for the build-or-reuse decision (docs/architecture.md).

vidigi needs plotly below 7, ipywidgets and graphviz, which simsampling does not install, so run
this in a virtual environment of its own (it imports nothing of simsampling):

    python3 -m venv /tmp/vidigi-venv && /tmp/vidigi-venv/bin/pip install vidigi
    /tmp/vidigi-venv/bin/python benchmarks/vidigi_compare.py results/demo --from 07:00 --to 09:00 --step-s 10

It turns the point's rows of persons.csv into vidigi's event log (arrival, a queue and a resource
use per stage, departure; stage columns read from the header in walking order), builds the
animation with ``animate_activity_log`` and writes it as a self-contained HTML file (plotly.js
inline, as animation.html has its player inline). Printed: the time to build and to write, the
file's size and the packages the environment needed. Compare with benchmarks/animation_speed.py.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import math
import tempfile
import time
from pathlib import Path


def clock(text: str) -> float:
    hours, minutes = text.split(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0


def event_log(persons: Path, start_s: float, end_s: float):
    """vidigi's event log of the first point of persons.csv: times in seconds from ``start_s``."""
    import pandas as pd

    with persons.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        stages = [name[: -len("_start_s")] for name in reader.fieldnames if name.endswith("_start_s")]
        rows = [row for row in reader if row["arrival_s"] and not row["status"].startswith("home")]
    point = rows[0]["point"]
    events = []
    for row in rows:
        if row["point"] != point:
            continue
        arrival = float(row["arrival_s"])
        times = [float(row[f"{s}_end_s"]) for s in stages if row[f"{s}_end_s"]]
        leave = max(times) if times else (float(row["left_s"]) if row["left_s"] else arrival)
        if leave < start_s or arrival > end_s:
            continue
        who = int(row["resident"])
        events.append((who, "arrival_departure", "arrival", arrival, None))
        previous = arrival
        for stage in stages:
            begin, end = row[f"{stage}_start_s"], row[f"{stage}_end_s"]
            if not begin:
                break
            events.append((who, "queue", f"{stage}_wait", previous, None))
            server = int(row["station"]) + 1 if stage == "swab" else 1
            events.append((who, "resource_use", f"{stage}_begin", float(begin), server))
            events.append((who, "resource_use_end", f"{stage}_end", float(end), server))
            previous = float(end)
        events.append((who, "arrival_departure", "depart", leave, None))
    log = pd.DataFrame(events, columns=["entity_id", "event_type", "event", "time", "resource_id"])
    log["time"] = log["time"] - start_s
    return log, stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--from", dest="start", default="07:00")
    parser.add_argument("--to", dest="end", default="09:00")
    parser.add_argument("--step-s", type=int, default=10)
    args = parser.parse_args()
    start_s, end_s = clock(args.start), clock(args.end)

    started = time.perf_counter()
    from vidigi.animation import animate_activity_log
    import pandas as pd

    imported = time.perf_counter() - started
    log, stages = event_log(args.results / "persons.csv", start_s, end_s)
    positions = [{"event": "arrival", "x": 50, "y": 450, "label": "Entrance"}]
    for k, stage in enumerate(stages):
        positions.append({"event": f"{stage}_wait", "x": 250 + 300 * k, "y": 350, "label": f"{stage}: line"})
        positions.append({"event": f"{stage}_begin", "x": 250 + 300 * k, "y": 150, "label": stage, "resource": f"n_{stage}"})
    positions.append({"event": "depart", "x": 250 + 300 * len(stages), "y": 50, "label": "Exit"})
    servers = {f"n_{stage}": int(log.loc[log["event"] == f"{stage}_begin", "resource_id"].max()) for stage in stages}
    built = time.perf_counter()
    figure = animate_activity_log(event_log=log, event_position_df=pd.DataFrame(positions), scenario=servers,
                                  simulation_time_unit="seconds", every_x_time_units=args.step_s,
                                  limit_duration=int(end_s - start_s), step_snapshot_max=200, plotly_height=700,
                                  plotly_width=1280)
    build_s = time.perf_counter() - built
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(scratch) / "vidigi.html"
        written = time.perf_counter()
        figure.write_html(page, include_plotlyjs=True, auto_play=False)
        write_s = time.perf_counter() - written
        size = page.stat().st_size
    frames = math.floor((end_s - start_s) / args.step_s) + 1
    installed = sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions())
    print(f"vidigi {importlib.metadata.version('vidigi')}, plotly {importlib.metadata.version('plotly')}: "
          f"{args.start}-{args.end} every {args.step_s} s ({frames:,} frames), {log['entity_id'].nunique():,} residents")
    print(f"  import {imported:.1f} s, build {build_s:.1f} s, write {write_s:.1f} s, total {imported + build_s + write_s:.1f} s")
    print(f"  HTML {size / 1e6:.1f} MB (plotly.js inline)")
    print(f"  environment: {len(installed)} distributions: {', '.join(installed)}")


if __name__ == "__main__":
    main()
