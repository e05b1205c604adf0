"""Machine-readable results: summary.json, the CSV tables and the resolved scenario.

Schemas are documented in docs/outputs.md; change both together.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import yaml

from ..experiment import RunResult
from ..metrics import band, estimate, flatten
from ..scenario.schema import Scenario

MINUTES_PER_HOUR = 60


def clock_text(seconds: float) -> str:
    """"HH:MM:SS" of seconds since midnight (hours go past 24 for overtime)."""
    if not math.isfinite(seconds):
        return ""
    whole = int(round(seconds))
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "" if not math.isfinite(value) else f"{value:.6g}" if abs(value) < 1e5 else f"{value:.3f}"
    return str(value)


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_number(v) for v in row])


def write_summary(result: RunResult, folder: Path) -> dict[str, Any]:
    summary = result.summary
    text = json.dumps(summary, indent=2, allow_nan=False, ensure_ascii=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
    return summary


def write_kpis(summary: dict[str, Any], folder: Path) -> None:
    """kpis.csv: one row per KPI leaf and scope (the whole run, then each point)."""
    scopes = [("run", "", summary["kpis"])] + [("point", p["id"], p["kpis"]) for p in summary["points"]]

    def rows():
        for scope, point, tree in scopes:
            for name, leaf in flatten(tree).items():
                low, high = leaf["ci95"] if leaf["ci95"] else (None, None)
                yield scope, point, name, leaf["mean"], low, high, leaf["n"]

    _write_csv(folder / "kpis.csv", ["scope", "point", "kpi", "mean", "ci95_low", "ci95_high", "n"], rows())


def write_persons(result: RunResult, folder: Path) -> None:
    """persons.csv: every resident of the first replication with every timestamp."""
    table = result.persons()
    names = list(table)
    columns = [table[name].tolist() for name in names]
    arrival = table["arrival_s"].tolist()
    clock = [clock_text(t) for t in arrival]
    with (folder / "persons.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names[:6] + ["arrival_clock"] + names[6:])
        for index in range(len(arrival)):
            row = [_seconds(column[index]) for column in columns]
            writer.writerow(row[:6] + [clock[index]] + row[6:])


def _seconds(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def active_window(series_list, minutes: int) -> tuple[int, int]:
    """First and last minute worth tabulating: whole hours around all activity."""
    first, last = minutes, 0
    for series in series_list:
        arrived = np.flatnonzero(np.diff(np.concatenate([[0.0], series.arrived])) > 0)
        if arrived.size:
            first = min(first, int(arrived[0]))
        done = np.flatnonzero(series.sampled < series.sampled[-1]) if series.sampled.size else np.empty(0)
        last = max(last, int(done[-1]) + 1 if done.size else 0)
    if first > last:
        return 0, 0
    start = first // MINUTES_PER_HOUR * MINUTES_PER_HOUR
    end = min(minutes, -(-(last + 1) // MINUTES_PER_HOUR) * MINUTES_PER_HOUR)
    return start, end


def write_timeseries(result: RunResult, folder: Path) -> None:
    """timeseries.csv: per point, stage and minute, the line length and busy servers."""
    header = ["point", "stage", "minute", "clock", "queue_mean", "queue_min", "queue_max", "busy_mean", "busy_min", "busy_max", "servers"]

    def rows():
        for point in result.scenario.points:
            series_list = result.point_series[point.id]
            minutes = max(s.minutes for s in series_list)
            start, end = active_window(series_list, minutes)
            for stage in series_list[0].queue:
                queue = band([s.queue[stage] for s in series_list])
                busy = band([s.busy[stage] for s in series_list])
                servers = point.servers(stage)
                for minute in range(start, end):
                    yield (point.id, stage, minute, clock_text(minute * 60.0)[:5],
                           *(q[minute] for q in queue), *(b[minute] for b in busy), servers)

    _write_csv(folder / "timeseries.csv", header, rows())


def hourly_sampled(series_list) -> list[np.ndarray]:
    """Residents sampled in each clock hour, per replication."""
    out = []
    for series in series_list:
        cumulative = series.sampled[MINUTES_PER_HOUR - 1 :: MINUTES_PER_HOUR]
        out.append(np.diff(np.concatenate([[0.0], cumulative])))
    return out


def write_throughput(result: RunResult, folder: Path) -> None:
    """throughput.csv: residents sampled per clock hour, whole run and per point."""
    header = ["point", "hour", "clock", "sampled_mean", "sampled_ci95_low", "sampled_ci95_high", "cumulative_sampled_mean", "cumulative_arrived_mean"]
    scopes = [("", result.run_series)] + [(p.id, result.point_series[p.id]) for p in result.scenario.points]
    if len(result.scenario.points) == 1:
        scopes = scopes[1:]

    def rows():
        for point_id, series_list in scopes:
            hours = hourly_sampled(series_list)
            length = max(h.size for h in hours)
            padded = [np.pad(h, (0, length - h.size)) for h in hours]
            cumulative = band([s.sampled[MINUTES_PER_HOUR - 1 :: MINUTES_PER_HOUR] for s in series_list])[0]
            arrived = band([s.arrived[MINUTES_PER_HOUR - 1 :: MINUTES_PER_HOUR] for s in series_list])[0]
            start, end = active_window(series_list, max(s.minutes for s in series_list))
            for hour in range(start // MINUTES_PER_HOUR, -(-end // MINUTES_PER_HOUR)):
                leaf = estimate([float(p[hour]) for p in padded])
                low, high = leaf["ci95"] or (None, None)
                yield point_id, hour, f"{hour:02d}:00", leaf["mean"], low, high, cumulative[hour], arrived[hour]

    _write_csv(folder / "throughput.csv", header, rows())


def scenario_text(scenario: Scenario) -> str:
    """The resolved scenario (every default spelled out) as YAML that loads back."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    return "# Resolved by simsampling: every default written out; rerun with `simsampling run` on this file.\n" + yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True
    )


def write_scenario(scenario: Scenario, folder: Path) -> None:
    (folder / "scenario.yaml").write_text(scenario_text(scenario), encoding="utf-8")
