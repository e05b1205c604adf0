"""Machine-readable results: summary.json, the tables (CSV, or Parquet for persons and time series) and the resolved scenario.

Tables are written a column at a time (``simsampling.tables``). Schemas are
documented in docs/outputs.md; change both together.
"""

from __future__ import annotations

import math
import operator
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from ..experiment import RunResult
from ..flow import flow_document
from ..log import clock_text
from ..metrics import HOUR, Band, SeriesBands, estimate, flatten, station_spells
from ..model.chain import ChainLog
from ..persons import PersonsWriter
from ..scenario.schema import Scenario
from ..tables import write_csv as write_csv_columns
from ..tables import ROWS_AT_ONCE, write_pieces, write_rows, write_table
from .json_text import json_bytes
from .scenario_yaml import scenario_files

FINE_TABLES_UP_TO = 100
"""Points up to which timeseries.csv lists every point; beyond, queue_by_point.csv does."""


def write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    """A small table built row by row, as CSV (``tables.write_rows``)."""
    write_rows(path, header, rows)


def write_summary(summary: dict[str, Any], folder: Path) -> None:
    (folder / "summary.json").write_bytes(json_bytes(summary) + b"\n")


KPIS_HEADER = ["scope", "point", "kpi", "mean", "ci95_low", "ci95_high", "n"]


_MEAN, _CI95, _N = operator.itemgetter("mean"), operator.itemgetter("ci95"), operator.itemgetter("n")


def kpis_pieces(summary: dict[str, Any], rows_at_once: int = ROWS_AT_ONCE) -> Iterator[list[list[Any]]]:
    """kpis.csv's columns (``KPIS_HEADER``), a piece of whole scopes of at least ``rows_at_once`` rows at a time (the
    last, fewer): built a scope's column at a time (a city's 395,000 rows: 0.6 s of CPU instead of 1.5), not row by
    row and then turned into columns."""
    scopes = [("run", "", summary["kpis"])] + [("point", p["id"], p["kpis"]) for p in summary["points"]]
    columns: list[list[Any]] = [[] for _ in KPIS_HEADER]
    scope_cells, point_cells, names, means, lows, highs, counts = columns
    for scope, point, tree in scopes:
        leaves = flatten(tree)
        scope_cells += [scope] * len(leaves)
        point_cells += [point] * len(leaves)
        names += leaves
        means += map(_MEAN, leaves.values())  # the loops in C: a city's 395,000 leaves
        intervals = list(map(_CI95, leaves.values()))
        if intervals.count(None) == len(intervals):  # one replication: no interval anywhere
            lows += [None] * len(intervals)
            highs += [None] * len(intervals)
        else:
            lows += [interval[0] if interval else None for interval in intervals]
            highs += [interval[1] if interval else None for interval in intervals]
        counts += map(_N, leaves.values())
        if len(names) >= rows_at_once:
            yield columns
            columns = [[] for _ in KPIS_HEADER]
            scope_cells, point_cells, names, means, lows, highs, counts = columns
    if names:
        yield columns


def write_kpis(summary: dict[str, Any], folder: Path) -> None:
    """kpis.csv: one row per KPI leaf and scope (the whole run, then each point)."""
    write_pieces(folder / "kpis.csv", KPIS_HEADER, kpis_pieces(summary))


POINT_COLUMNS = [
    ("finish_h", "finish_h"),
    ("sampled", "sampled"),
    ("home_sampled", "home_sampled"),
    ("unserved", "unserved"),
    ("diverted", "diverted"),
    ("sampled_by_deadline_share", "sampled_by_deadline_share"),
    ("finished_by_deadline", "points_finished_by_deadline_share"),
    ("wait_p90_min", "wait_min.total.p90"),
    ("time_in_system_p90_min", "time_in_system_min.p90"),
    ("queue_peak", "queue_max.total"),
    ("swab_utilization", "utilization.swab"),
    ("staff_hours", "staff_hours"),
]


def write_points(summary: dict[str, Any], folder: Path) -> None:
    """points.csv: one row per point, slowest first (means, with the CI of the finish time)."""

    points = sorted(summary["points"], key=lambda p: -(p["kpis"]["finish_h"]["mean"] or 0.0))
    header = ["rank", "point", "name", "population", "tents", "stations", "finish_h_ci95_low", "finish_h_ci95_high"]
    header += [name for name, _ in POINT_COLUMNS]

    advice = {entry["id"]: entry for entry in summary.get("advice", {}).get("points", [])}
    header += ADVICE_COLUMNS

    paths = [path.split(".") for _, path in POINT_COLUMNS]

    def rows():
        for rank, point in enumerate(points, start=1):
            finish = point["kpis"]["finish_h"]["ci95"] or (None, None)
            leaves = [leaf_at(point["kpis"], path) for path in paths]
            yield (rank, point["id"], point["name"], point["population"], point["tents"], point["stations"], *finish,
                   *(leaf["mean"] if leaf else None for leaf in leaves), *_advice_cells(advice.get(point["id"])))

    write_csv(folder / "points.csv", header, rows())


def leaf_at(tree: dict[str, Any], path: list[str]) -> Any:
    """The KPI leaf at ``path`` (``["wait_min", "total", "p90"]``), as ``flatten(tree).get(".".join(path))`` finds it
    (None where it has none), without flattening a point's 200 leaves for the dozen points.csv shows."""
    for key in path:
        if not isinstance(tree, dict) or ("mean" in tree and "n" in tree):
            return None
        tree = tree.get(key)
    return tree if isinstance(tree, dict) and "mean" in tree and "n" in tree else None


ADVICE_COLUMNS = ["limited_by", "bottleneck", "bottleneck_wait_share", "headroom_h", "walk_in_headroom_factor",
                  "action_rank", "concern", "idle_stations"]
"""points.csv's columns from summary.json's ``advice.points`` (docs/outputs.md)."""


def _advice_cells(entry: Any) -> tuple:
    if entry is None:
        return (None,) * len(ADVICE_COLUMNS)
    bottleneck, headroom = entry["bottleneck"] or {}, entry["headroom"] or {}
    return (entry["limited_by"], bottleneck.get("stage"), bottleneck.get("wait_share"), headroom.get("hours"),
            headroom.get("factor"), entry["rank"], entry["concern"], entry["idle_stations"])


def write_persons(result: RunResult, folder: Path, table_format: str = "csv") -> bool:
    """persons.csv (or .parquet): every resident of the first replication, if the run kept or wrote them."""
    if result.persons_file is not None:
        shutil.move(str(result.persons_file), folder / f"persons{result.persons_file.suffix}")
        return True
    if not result.first_logs:
        return False
    writer = PersonsWriter(folder / "persons", result.persons_stages, table_format,
                           expected_rows=sum(log.resident.size for log in result.first_logs))
    for log in result.first_logs:
        writer.append(log)
    writer.close()
    return True


def active_window(bands: SeriesBands) -> tuple[int, int]:
    """First and last step worth tabulating: whole hours around all arrivals and samplings."""
    per_hour = max(1, int(round(HOUR / bands.step_s)))
    arrived = np.flatnonzero(np.diff(np.concatenate([[0.0], bands.arrived.high])) > 0)
    sampled = bands.sampled.mean  # reaches its last value only when every replication is done
    unfinished = np.flatnonzero(sampled < sampled[-1]) if sampled.size else np.empty(0, dtype=int)
    if not arrived.size:
        return 0, 0
    first = int(arrived[0])
    last = int(unfinished[-1]) + 1 if unfinished.size else first
    start = first // per_hour * per_hour
    end = min(bands.steps, -(-(last + 1) // per_hour) * per_hour)
    return start, end


TIMESERIES_HEADER = ["point", "stage", "minute", "clock", "queue_mean", "queue_min", "queue_max", "busy_mean", "busy_min", "busy_max", "servers"]


def timeseries_columns(result: RunResult) -> dict[str, Any]:
    """timeseries' columns: per point (or for the run), stage and step, the line and busy servers."""
    scopes = [(p.id, result.point_bands[p.id], {s: p.servers(s) for s in result.point_bands[p.id].queue})
              for p in result.scenario.points] if len(result.scenario.points) <= FINE_TABLES_UP_TO else []
    if len(result.scenario.points) > 1:
        servers = {}
        for point in result.scenario.points:
            for stage in result.point_bands[point.id].queue:
                servers[stage] = servers.get(stage, 0) + point.servers(stage)
        scopes.insert(0, ("", result.run_bands, servers))
    step_min = result.step_s / 60.0
    clocks: dict[float, str] = {}
    parts: dict[str, list] = {name: [] for name in TIMESERIES_HEADER}
    for point_id, bands, servers in scopes:
        start, end = active_window(bands)
        for stage, queue in bands.queue.items():
            busy = bands.busy[stage]
            steps = np.arange(start, max(start, min(end, queue.total.size)))
            minutes = steps * step_min
            cells = {"queue_mean": queue.mean, "queue_min": queue.low, "queue_max": queue.high,
                     "busy_mean": busy.mean, "busy_min": busy.low, "busy_max": busy.high}
            parts["point"].append(np.full(steps.size, point_id, dtype=object))
            parts["stage"].append(np.full(steps.size, stage, dtype=object))
            parts["minute"].append(minutes.astype(np.int64))
            parts["clock"].append(np.array([clocks.get(m) or clocks.setdefault(m, clock_text(m * 60.0)[:-3])
                                            for m in minutes.tolist()], dtype=object))
            for name, values in cells.items():
                parts[name].append(np.asarray(values, dtype=float)[steps])
            parts["servers"].append(np.full(steps.size, servers[stage], dtype=np.int64))
    return {name: np.concatenate(chunks) if chunks else np.empty(0, dtype=object if name in ("point", "stage", "clock") else float)
            for name, chunks in parts.items()}


def write_timeseries(result: RunResult, folder: Path, table_format: str = "csv") -> None:
    """timeseries.csv (or .parquet): per point (or for the run), stage and step, the line and busy servers."""
    write_table(folder, "timeseries", timeseries_columns(result), table_format)


def write_queue_by_point(result: RunResult, folder: Path) -> None:
    """queue_by_point.csv: people waiting at each point (all stages) per step, mean over replications."""
    start, end = active_window(result.run_bands)
    step_min = result.step_s / 60.0
    header = ["point"] + [clock_text(step * step_min * 60.0)[:-3] for step in range(start, end)]
    # Each point's mean line over the window, its last value held after its series ends (a row filled in place:
    # ``np.pad`` a point took a third of the table's CPU).
    table = np.zeros((len(result.scenario.points), end - start))
    for row, point in zip(table, result.scenario.points):
        mean = result.point_bands[point.id].queue_total.mean
        if mean.size:
            kept = mean[start:end]
            row[:kept.size] = kept
            row[kept.size:] = mean[-1]
    write_csv_columns(folder / "queue_by_point.csv", header, [[point.id for point in result.scenario.points], *table.T])


def write_throughput(result: RunResult, folder: Path) -> None:
    """throughput.csv: residents sampled per clock hour, whole run and per point."""
    header = ["point", "hour", "clock", "sampled_mean", "sampled_ci95_low", "sampled_ci95_high", "cumulative_sampled_mean", "cumulative_arrived_mean"]
    points = result.scenario.points
    scopes = [("", result.run_bands)] if len(points) > 1 else []
    if len(points) <= FINE_TABLES_UP_TO:
        scopes += [(p.id, result.point_bands[p.id]) for p in points]
    per_hour = max(1, int(round(HOUR / result.step_s)))
    hours_per_row = max(1, int(round(result.step_s / HOUR)))  # a row per step when steps are longer (steps.py)

    def rows():
        for point_id, bands in scopes:
            length = max(h.size for h in bands.hourly_sampled)
            padded = [np.pad(h, (0, length - h.size)) for h in bands.hourly_sampled]
            cumulative = bands.sampled.mean[per_hour - 1 :: per_hour]
            arrived = bands.arrived.mean[per_hour - 1 :: per_hour]
            start, end = active_window(bands)
            for hour in range(start // per_hour, min(length, -(-end // per_hour))):
                leaf = estimate([float(p[hour]) for p in padded])
                low, high = leaf["ci95"] or (None, None)
                clock_hour = hour * hours_per_row
                yield point_id, clock_hour, f"{clock_hour:02d}:00", leaf["mean"], low, high, cumulative[hour], arrived[hour]

    write_csv(folder / "throughput.csv", header, rows())


# ---------------------------------------------------------------- sample chain

NOISE = 1e-6
"""Time averages below this are rounding left by differences of cumulative sums: no tube waiting."""


def step_clock(seconds: float) -> str:
    """"HH:MM" of seconds since midnight of day 0, hours past 24 on later days (and past 99: "100:00")."""
    return clock_text(seconds).rsplit(":", 1)[0]


def _extended(band: Band, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max of a chain band over ``length`` steps; past its end each stays at its last value."""
    def pad(values: np.ndarray) -> np.ndarray:
        if values.size >= length:
            return values[:length]
        return np.pad(values, (0, length - values.size), mode="edge") if values.size else np.zeros(length)

    return pad(band.mean), pad(band.low), pad(band.high)


def chain_window(result: RunResult) -> tuple[int, int]:
    """Steps of the chain's active window: whole hours from the first tube reaching a laboratory
    (in any replication) to the last result released, results of recalled residents included.

    (0, 0) when no tube reached a laboratory.
    """
    bands = result.chain_bands
    if "lab_backlog" not in bands or "results" not in bands:
        return 0, 0
    step = result.step_s
    per_hour = max(1, int(round(HOUR / step)))
    backlog, results = bands["lab_backlog"], bands["results"]
    firsts, lasts = [], []
    waiting = np.flatnonzero(backlog.high > NOISE)
    released = np.flatnonzero(np.diff(np.concatenate([[0.0], results.mean])) > 0)
    if waiting.size:
        firsts.append(int(waiting[0]))
        lasts.append(int(waiting[-1]) + 1)
    if released.size:
        lasts.append(int(released[-1]) + 1)
    chain = result.first_chain
    if chain is not None and chain.arrived_s.size and np.isfinite(chain.arrived_s).any():
        firsts.append(int(np.nanmin(chain.arrived_s) // step))
    # Each replication's last result, recall results included (the results band counts pooled tubes only).
    opens = result.scenario.hours[0][0]
    for kpis in result.run_kpis:
        last_h = kpis.get("chain", {}).get("last_result_h", math.nan)
        if math.isfinite(last_h):
            lasts.append(int(np.ceil((opens + last_h * HOUR) / step)))
    if not firsts:
        return 0, 0
    start = min(firsts) // per_hour * per_hour
    end = -(-max(max(lasts, default=start + 1), start + 1) // per_hour) * per_hour
    return start, end


def write_chain(result: RunResult, folder: Path) -> None:
    """chain.csv: tubes waiting at the laboratories and residents with a result, per step of the chain's window."""
    header = ["minute", "clock", "lab_backlog_mean", "lab_backlog_min", "lab_backlog_max",
              "results_mean", "results_min", "results_max"]
    start, end = chain_window(result)
    step_min = result.step_s / 60.0

    def rows():
        if end <= start:
            return
        backlog = [np.where(np.abs(b) < NOISE, 0.0, b) for b in _extended(result.chain_bands["lab_backlog"], end)]
        results = _extended(result.chain_bands["results"], end)
        for step in range(start, end):
            minute = step * step_min
            yield (int(minute), step_clock(minute * 60.0), *(b[step] for b in backlog), *(r[step] for r in results))

    write_csv(folder / "chain.csv", header, rows())


LABS_HEADER = [
    "lab", "name", "instruments", "runs", "tubes_run", "busy_instrument_h", "utilization",
    "first_run_start_s", "first_run_start_clock", "last_release_s", "last_release_clock",
    "tubes_delivered", "recall_tubes", "tubes_without_result",
]


def lab_rows(chain: ChainLog) -> list[list[Any]]:
    """One row per laboratory of a replication's chain, in scenario order (columns: LABS_HEADER).

    Tubes delivered count pooled tubes that reached the laboratory and the single tubes of
    recalled residents (``recall_tubes`` of them); every delivered tube was either run or is
    without result. Utilisation: busy instrument time / (instruments x the span from the first
    tube's arrival to the last release at this laboratory, recall tubes included): the same measure
    as the run KPI ``lab_utilization``, but over this laboratory's own span.
    """
    recall_lab = chain.tube_lab[chain.recall_positive_tube] if chain.recall_positive_tube.size else np.zeros(0, dtype=np.int32)
    recall_arrived = ~np.isnan(chain.recall_arrived_s)
    rows = []
    for index, lab in enumerate(chain.labs):
        runs = [(start, end, size) for number, start, end, size in chain.runs if number == index]
        tubes = chain.tube_lab == index
        arrived = tubes & ~np.isnan(chain.arrived_s)
        recalls = (recall_lab == index) & recall_arrived
        busy_s = sum(end - start for start, end, _ in runs)
        first_start = min((start for start, _, _ in runs), default=math.nan)
        last_release = max((end for _, end, _ in runs), default=math.nan)
        arrivals = np.concatenate([chain.arrived_s[arrived], chain.recall_arrived_s[recalls]])
        first_arrival = float(arrivals.min()) if arrivals.size else math.nan
        span = last_release - first_arrival
        utilization = busy_s / (lab.instruments * span) if math.isfinite(span) and span > 0 else math.nan
        unreleased = int(np.count_nonzero(arrived & np.isnan(chain.released_s)))
        unreleased += int(np.count_nonzero(recalls & np.isnan(chain.recall_released_s)))
        rows.append([
            lab.id, lab.name or lab.id, lab.instruments, len(runs), sum(size for _, _, size in runs),
            busy_s / HOUR, utilization, first_start, clock_text(first_start), last_release, clock_text(last_release),
            int(np.count_nonzero(arrived)) + int(np.count_nonzero(recalls)), int(np.count_nonzero(recalls)), unreleased,
        ])
    return rows


def write_labs(result: RunResult, folder: Path) -> None:
    """labs.csv: per laboratory, its runs, load and timing in the first replication."""
    write_csv(folder / "labs.csv", LABS_HEADER, lab_rows(result.first_chain) if result.first_chain is not None else [])


def write_scenario(scenario: Scenario, folder: Path, stem: str = "scenario") -> None:
    """``<stem>.yaml``, the resolved scenario (with ``<stem>-points.csv`` for a city: scenario_yaml.scenario_files)."""
    for name, text in scenario_files(scenario, stem).items():
        (folder / name).write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- what a drawing of a point needs

STATIONS_HEADER = ["point", "station", "state", "start_s", "end_s", "reason"]
SPELL_STATES = ("sealing", "disinfection")
"""Spells of a sampling station busy without a resident, from the first replication's logs."""


def flow_extra(result: RunResult) -> dict[str, dict[str, Any]]:
    """Per point, what flow.json adds to the scenario's flow: the longest line of the first replication."""
    return {point_id: {"queue_peak_first_replication": kpis[0]["queue_max"]["total"]}
            for point_id, kpis in result.point_kpis.items() if kpis}


def write_flow(result: RunResult, folder: Path) -> None:
    """flow.json: each point's stages in walking order, servers, lines, waiting area and hours (flow.py)."""
    (folder / "flow.json").write_bytes(json_bytes(flow_document(result.scenario, flow_extra(result))) + b"\n")


def station_rows(result: RunResult) -> Iterable[tuple]:
    """The rows of stations.csv: the sampling stations' timelines of the first replication, at exact times.

    Per point its staffed spans, then every spell a station was closed for lack of staff
    (the rota chart's hatching; end infinite: to the end), then, when the run kept its
    residents, every spell a station was busy without a resident (tube sealing, hand disinfection).
    """
    logs = {log.point_id: log for log in result.first_logs}
    for point in result.scenario.points:
        timeline = result.timelines.get(point.id)
        if timeline is None:
            continue
        for begin, end in timeline.staffed:
            yield point.id, None, "staffed", begin, end, None
        closures = timeline.closures
        for slot, begin, end, reason in zip(closures.slot.tolist(), closures.start_s.tolist(),
                                            closures.end_s.tolist(), closures.reason.tolist()):
            yield point.id, slot, "closed", begin, end, reason
        if point.id in logs:
            spells = station_spells(logs[point.id])
            for state in SPELL_STATES:
                if state in spells:
                    station, begin, end = spells[state]
                    busy = end > begin
                    for k, a, b in zip(station[busy].tolist(), begin[busy].tolist(), end[busy].tolist()):
                        yield point.id, k, state, a, b, None


def write_stations(result: RunResult, folder: Path) -> None:
    """stations.csv: see ``station_rows``."""
    write_csv(folder / "stations.csv", STATIONS_HEADER, station_rows(result))
