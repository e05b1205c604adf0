"""Charts of a run (matplotlib, written as PNG): made to be looked at, not read.

Every chart shows the mean over replications and, where it varies, the range
across replications (band) or the 95% confidence interval (error bars).

Runs with several points get three more charts (points_finish, queue_heatmap,
slowest_points) that compare the points. Scenario and point names are user
text: they go through :func:`plain` so that matplotlib prints them literally.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import PowerNorm  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter  # noqa: E402

from ..experiment import RunResult  # noqa: E402
from ..metrics import HOUR, WAIT_BINS, estimate  # noqa: E402
from .files import active_window  # noqa: E402

STAGE_COLOURS = {"temperature": "#e07b39", "registration": "#3a7ebf", "swab": "#2a9d8f"}
STAGE_LABELS = {"temperature": "Temperature check", "registration": "Registration", "swab": "Swab"}
MAIN = "#264653"
DEADLINE = "#c1121f"
LATE = "#e76f51"
DPI = 130

FEW_POINTS = 20
"""Up to this many points, points_finish.png draws one labelled bar per point."""
SLOWEST_BARS = 15
"""Beyond FEW_POINTS: the slowest points drawn as labelled bars under the ranked curve."""
HEATMAP_ROWS = 400
"""Beyond this many points, queue_heatmap.png shows groups of points (one row each)."""
DRILL_DOWN = 4
"""Points drawn in slowest_points.png."""
LEGEND_ROWS = 0.8
"""Headroom (in bars) above the slowest bar of points_finish.png, for its legend."""


def plain(text: object) -> str:
    """User text for matplotlib: a ``$`` is escaped so it prints as itself, never as mathtext."""
    return str(text).replace("$", r"\$")


def clock_label(hours: float) -> str:
    """"HH:MM" on day 0, "+1d HH:MM" on the next (hours since midnight of day 0; seconds cut, as on a clock)."""
    day, minute = divmod(int(math.floor(hours * 60 + 1e-6)), 24 * 60)
    return f"{minute // 60:02d}:{minute % 60:02d}" if day == 0 else f"+{day}d {minute // 60:02d}:{minute % 60:02d}"


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _clock_axis(ax, start_h: float, end_h: float) -> None:
    ax.set_xlim(start_h, end_h)
    span = end_h - start_h
    # Up to a day: every hour to three; longer rounds: at most about 9 labels ("d2 06:00" is wide).
    step = 1 if span <= 12 else 2 if span <= 20 else 3 if span <= 27 else next((s for s in (6, 12, 24, 48) if span / s <= 9), 72)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda h, _: hour_label(h) if h >= 0 else ""))


def hour_label(hours: float) -> str:
    """"HH:00" on day 0, "+1d HH:00" on the next (days count from 0, as in scenario files)."""
    day, hour = divmod(int(round(hours)), 24)
    return f"{hour:02d}:00" if day == 0 else f"+{day}d {hour:02d}:00"


def _open_close(ax, result: RunResult, deadline: bool = False) -> None:
    marks = [(when, label) for open_s, close_s in result.scenario.hours for when, label in ((open_s, "open"), (close_s, "close"))]
    _, end_h = _window_hours(result)
    for seconds, label in marks:
        # Labels beside their line, inside the chart: left of a line at its right edge; none off it.
        inside = seconds / 3600 < end_h
        ax.axvline(seconds / 3600, color="#888888", linestyle=":", linewidth=1)
        ax.annotate(label, (seconds / 3600, 0.0), xycoords=("data", "axes fraction"), xytext=(3 if inside else -3, 4),
                    textcoords="offset points", fontsize=8, color="#666666", ha="left" if inside else "right",
                    annotation_clip=True)
    if deadline:
        when = result.scenario.deadline_s / 3600
        ax.axvline(when, color="#c1121f", linestyle="--", linewidth=1.4)
        ax.annotate("deadline", (when, 0.5), xycoords=("data", "axes fraction"), xytext=(-4, 0), rotation=90,
                    textcoords="offset points", fontsize=8, color="#c1121f", ha="right", va="center", annotation_clip=True)


def _window_hours(result: RunResult) -> tuple[float, float]:
    """Whole hours from the first opening (or arrival) to the last activity, deadline and closing.

    The closing counted is that of the last day opened before activity ended: later days
    of a multi-day round on which nothing happens are left out, not drawn empty.
    """
    start, end = active_window(result.run_bands)
    hours = result.scenario.hours
    active_end = end * result.step_s
    closing = max((close_s for open_s, close_s in hours if open_s <= active_end), default=hours[0][1])
    start_h = min(start * result.step_s / HOUR, hours[0][0] / HOUR)
    end_h = max(active_end / HOUR, closing / HOUR, result.scenario.deadline_s / HOUR)
    return np.floor(start_h), np.ceil(end_h)


def _replications(result: RunResult) -> str:
    return f"{result.replications} replication" + ("s" if result.replications != 1 else "")


def _steps_axis(result: RunResult, length: int) -> np.ndarray:
    """Hours since midnight of day 0 at the end of each step of a series."""
    return np.arange(1, length + 1) * result.step_s / HOUR


def _step_text(result: RunResult) -> str:
    """How the series are averaged: "per-minute averages", "15-minute averages"."""
    minutes = result.step_s / 60.0
    return "per-minute averages" if minutes == 1 else f"{minutes:g}-minute averages"


def _thousands(ax, axis: str = "y") -> None:
    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def cumulative_chart(result: RunResult, path: Path) -> None:
    """The main chart: residents sampled over the day against the population."""
    bands = result.run_bands
    sampled, low, high = bands.sampled.mean, bands.sampled.low, bands.sampled.high
    arrived = bands.arrived.mean
    hours = _steps_axis(result, sampled.size)
    population = sum(p.population for p in result.scenario.points)
    fig, ax = plt.subplots(figsize=(9, 5))
    ax.fill_between(hours, low, high, color=MAIN, alpha=0.2, linewidth=0, label="range across replications")
    ax.plot(hours, arrived, color="#999999", linestyle="--", linewidth=1.2, label="arrived (mean)")
    ax.plot(hours, sampled, color=MAIN, linewidth=2.2, label="sampled, at points and at home (mean)")
    ax.axhline(population, color="#c1121f", linewidth=1.2, label=f"population {population:,}")
    _open_close(ax, result, deadline=True)
    start_h, end_h = _window_hours(result)
    _clock_axis(ax, start_h, end_h)
    ax.set_ylim(0, population * 1.08 if population else None)
    _thousands(ax)
    done = result.summary["kpis"]
    total = done["sampled_total"]["mean"]
    share = total / population if population else float("nan")
    finish = result.scenario.hours[0][0] / 3600 + done["finish_h"]["mean"]
    by_deadline = done["sampled_by_deadline_share"]["mean"]
    ax.annotate(f"{total:,.0f} sampled ({share:.0%} of population), {by_deadline:.0%} by the deadline\n"
                f"last sample at {clock_label(finish)} on average",
                xy=(0.02, 0.97), xycoords="axes fraction", va="top", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#cccccc"})
    span = "the day" if result.scenario.round.days == 1 else f"the {result.scenario.round.days}-day round"
    _style(ax, f"{plain(result.scenario.name)}: residents sampled over {span} ({_replications(result)})",
           "time of day", "residents (cumulative)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    _save(fig, path)


def throughput_chart(result: RunResult, path: Path) -> None:
    """Residents sampled per clock hour, with the stations' nominal swab capacity."""
    hours = result.run_bands.hourly_sampled
    length = max(h.size for h in hours)
    padded = [np.pad(h, (0, length - h.size)) for h in hours]
    leaves = [estimate([float(p[i]) for p in padded]) for i in range(length)]
    means = np.array([leaf["mean"] for leaf in leaves])
    errors = np.array([[leaf["mean"] - leaf["ci95"][0], leaf["ci95"][1] - leaf["mean"]] if leaf["ci95"] else [0, 0] for leaf in leaves]).T
    fig, ax = plt.subplots(figsize=(9, 4.5))
    centres = np.arange(length) + 0.5
    ax.bar(centres, means, width=0.85, color=MAIN, alpha=0.85, label="sampled per hour (mean)")
    ax.errorbar(centres, means, yerr=errors, fmt="none", ecolor="#333333", elinewidth=0.8, capsize=2, label="95% CI")
    capacity = sum(p.stations * 3600.0 / p.stages.swab.service_s.mean_value for p in result.scenario.points)
    ax.axhline(capacity, color="#c1121f", linestyle="--", linewidth=1.2,
               label=f"nominal swab capacity {capacity:,.0f}/h (stations x 3600 / mean swab time)")
    _open_close(ax, result)
    _clock_axis(ax, *_window_hours(result))
    ax.set_ylim(0, max(capacity, float(np.max(means, initial=0))) * 1.3)
    _thousands(ax)
    _style(ax, f"{plain(result.scenario.name)}: throughput per hour", "time of day", "residents sampled per hour")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    _save(fig, path)


def queue_chart(result: RunResult, path: Path) -> None:
    """Line length at each stage over the day: mean and range across replications.

    With several points the lines are those of all points added up; the peak in
    the title is the longest line at any one point.
    """
    stages = list(result.run_bands.queue)
    several = len(result.scenario.points) > 1
    fig, axes = plt.subplots(len(stages), 1, figsize=(9, 2.6 * len(stages) + 0.6), sharex=True, squeeze=False)
    start_h, end_h = _window_hours(result)
    for ax, stage in zip(axes[:, 0], stages):
        queue = result.run_bands.queue[stage]
        mean, low, high = queue.mean, queue.low, queue.high
        hours = _steps_axis(result, mean.size)
        colour = STAGE_COLOURS[stage]
        ax.fill_between(hours, low, high, color=colour, alpha=0.25, linewidth=0, label="range across replications")
        ax.plot(hours, mean, color=colour, linewidth=1.6, label="mean")
        peak = result.summary["kpis"]["queue_max"][stage]["mean"]
        if several:
            _style(ax, f"{STAGE_LABELS[stage]}: all points together (longest line at one point: {peak:,.0f} on average)",
                   "", "people in line, all points")
        else:
            _style(ax, f"{STAGE_LABELS[stage]}: people waiting (peak {peak:,.0f} on average)", "", "people in line")
        _open_close(ax, result)
        _clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        _thousands(ax)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    axes[-1, 0].set_xlabel(f"time of day ({_step_text(result)})")
    fig.suptitle(f"{plain(result.scenario.name)}: queue length per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
    _save(fig, path)


def wait_chart(result: RunResult, path: Path) -> None:
    """Distribution of waits per stage over all replications, with p50 and p90 marked."""
    stages = list(result.wait_counts)
    fig, axes = plt.subplots(1, len(stages), figsize=(4 * len(stages), 3.8), squeeze=False)
    waits = result.summary["kpis"]["wait_min"]
    for ax, stage in zip(axes[0], stages):
        counts = result.wait_counts[stage].astype(float)
        total = counts.sum()
        shares = counts / total if total else counts
        top = min(int(np.searchsorted(np.cumsum(shares), 0.995)) + 2, shares.size - 1)
        # Merge the fixed bins so the visible range shows about 40 bars.
        merge = max(1, -(-top // 40))
        top = -(-top // merge) * merge
        merged = np.add.reduceat(shares[:top], np.arange(0, top, merge))
        edges = WAIT_BINS[: top + 1 : merge]
        ax.bar(edges[:-1], merged[: edges.size - 1], width=np.diff(edges), align="edge", color=STAGE_COLOURS[stage], alpha=0.85)
        for key, style in (("p50", "--"), ("p90", ":")):
            value = waits[stage][key]["mean"]
            if value is not None:
                ax.axvline(value, color="#333333", linestyle=style, linewidth=1.2, label=f"{key} {value:.1f} min")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
        _style(ax, STAGE_LABELS[stage], "wait (minutes)", "share of residents")
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(f"{plain(result.scenario.name)}: waiting time per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
    _save(fig, path)


def utilization_chart(result: RunResult, path: Path) -> None:
    """Share of staffed time each stage's servers spent serving, with 95% CI."""
    utilization = result.summary["kpis"]["utilization"]
    stages = list(utilization)
    means = [utilization[s]["mean"] or 0.0 for s in stages]
    errors = np.array([[m - (utilization[s]["ci95"] or [m, m])[0], (utilization[s]["ci95"] or [m, m])[1] - m] for s, m in zip(stages, means)]).T
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.8 * len(stages)))
    positions = np.arange(len(stages))[::-1]
    ax.barh(positions, means, color=[STAGE_COLOURS[s] for s in stages], height=0.6)
    ax.errorbar(means, positions, xerr=errors, fmt="none", ecolor="#333333", capsize=3)
    for y, value in zip(positions, means):
        ax.annotate(f"{value:.0%}", (value, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=9)
    ax.set_yticks(positions, [STAGE_LABELS[s] for s in stages])
    ax.set_xlim(0, 1.05)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    _style(ax, f"{plain(result.scenario.name)}: server utilisation (opening to closing or last swab)", "share of staffed time serving", "")
    _save(fig, path)


# ---------------------------------------------------------------- several points


def _deadline_h(result: RunResult) -> float:
    """The deadline in hours since the first opening (the unit of ``finish_h``)."""
    return (result.scenario.deadline_s - result.scenario.hours[0][0]) / HOUR


def _finish_rows(result: RunResult) -> list[dict]:
    """Every point with its finish time (``finish_h``: mean and 95% CI), slowest first as in points.csv."""
    rows = []
    for point in result.scenario.points:
        leaf = result.point_summaries[point.id]["finish_h"]
        mean = math.nan if leaf["mean"] is None else float(leaf["mean"])
        low, high = leaf["ci95"] if leaf["ci95"] else (mean, mean)
        rows.append({"point": point, "mean": mean, "low": float(low), "high": float(high)})
    rows.sort(key=lambda row: (not math.isfinite(row["mean"]), -row["mean"] if math.isfinite(row["mean"]) else 0.0))
    return rows


def _point_label(point, width: int = 40) -> str:
    name = point.name.strip()
    text = point.id if not name or name == point.id else f"{point.id} \u00b7 {name}"
    return plain(text if len(text) <= width else text[: width - 1] + "\u2026")


def _deadline_key(deadline_h: float, open_h: float) -> Line2D:
    return Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4,
                  label=f"deadline {deadline_h:g} h ({clock_label(open_h + deadline_h)})")


def _hours_axis(ax, right: float) -> None:
    """Whole hours on an axis of durations from 0 to ``right`` hours."""
    ax.set_xlim(0, right)
    ax.xaxis.set_major_locator(MultipleLocator(1 if right <= 14 else 2 if right <= 30 else 6 if right <= 96 else 24))


def _finish_bars(ax, rows: list[dict], deadline_h: float, open_h: float, right: float) -> None:
    """One horizontal bar per point (slowest at the top): mean finish, 95% CI, coloured by lateness."""
    positions = np.arange(len(rows))[::-1]
    means = np.array([row["mean"] for row in rows])
    late = means > deadline_h
    ax.barh(positions, np.nan_to_num(means), height=0.65, color=[LATE if x else MAIN for x in late])
    errors = np.array([[row["mean"] - row["low"], row["high"] - row["mean"]] for row in rows]).T
    ax.errorbar(means, positions, xerr=np.nan_to_num(errors), fmt="none", ecolor="#222222", elinewidth=0.9, capsize=2.5)
    for y, row in zip(positions, rows):
        if not math.isfinite(row["mean"]):
            continue
        text = f"{row['mean']:.1f} h, {clock_label(open_h + row['mean'])}"
        if row["mean"] > 0.35 * right:  # inside the bar, at its base
            ax.annotate(text, (0, y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8, color="white")
        else:
            ax.annotate(text, (row["high"], y), xytext=(5, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(deadline_h, color=DEADLINE, linestyle="--", linewidth=1.4)
    ax.set_yticks(positions, [_point_label(row["point"]) for row in rows], fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4 + LEGEND_ROWS)  # headroom above the slowest bar for the legend
    keys = [Patch(color=MAIN, label="mean finish by the deadline"), Patch(color=LATE, label="after the deadline"),
            _deadline_key(deadline_h, open_h)]
    ax.legend(handles=keys, loc="upper left", ncol=3, fontsize=8, frameon=False, borderaxespad=0.2)
    ax.grid(False, axis="y")


def _finish_curve(ax, rows: list[dict], deadline_h: float, open_h: float, result: RunResult) -> dict:
    """Share of points finished by each time: points sorted by mean finish, with each point's 95% CI.

    Returns the legend's arguments and the curve's points (hours, share) for :func:`_place_legend`.
    """
    ordered = [row for row in rows if math.isfinite(row["mean"])][::-1]  # fastest first
    n = len(ordered)
    if n == 0:
        return {"handles": [_deadline_key(deadline_h, open_h)], "title": "no finish times", "x": [], "y": []}
    means = np.array([row["mean"] for row in ordered])
    share = np.arange(1, n + 1) / n
    drawn_x, drawn_y = [means], [share]
    if result.replications > 1:
        # Lower and upper CI bounds, each sorted: the optimistic and pessimistic curves.
        lows = np.sort([row["low"] for row in ordered])
        highs = np.sort([row["high"] for row in ordered])
        ax.fill_betweenx(share, lows, highs, step="post", color=MAIN, alpha=0.22, linewidth=0,
                         label="95% CI (CI bounds, sorted)")
        drawn_x += [lows, highs]
        drawn_y += [share, share]
    x = np.concatenate([[means[0]], means])
    y = np.concatenate([[0.0], share])
    ax.step(x, y, where="post", color=MAIN, linewidth=2, label="mean finish, points sorted")
    late = np.flatnonzero(means > deadline_h)
    if late.size:
        k = int(late[0])
        ax.step(np.concatenate([[means[k]], means[k:]]), np.concatenate([[y[k]], share[k:]]), where="post",
                color=LATE, linewidth=2.4, label="after the deadline")
    ax.axvline(deadline_h, color=DEADLINE, linestyle="--", linewidth=1.4)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    done = result.summary["kpis"]["points_finished_by_deadline_share"]["mean"]
    median = float(np.median(means))
    lines = ["mean finish after the deadline:", f"   {late.size:,} of {n:,} points ({late.size / n:.0%})",
             f"median point {median:.1f} h ({clock_label(open_h + median)})",
             f"slowest point {means[-1]:.1f} h ({clock_label(open_h + means[-1])})"]
    if done is not None:
        lines += ["done by the deadline, per replication:", f"   {done:.0%} of points (mean)"]
    # The curve as drawn, densely (steps included), to keep the legend off it.
    grid = np.linspace(means[0], means[-1], 400)
    drawn_x.append(grid)
    drawn_y.append(np.searchsorted(means, grid, side="right") / n)
    handles, _ = ax.get_legend_handles_labels()
    return {"handles": handles + [_deadline_key(deadline_h, open_h)], "title": "\n".join(lines),
            "x": np.concatenate(drawn_x), "y": np.concatenate(drawn_y)}


def _place_legend(fig, ax, legend: dict) -> None:
    """The legend (its title a summary) in the corner of ``ax`` that hides the fewest drawn points."""
    options = {"handles": legend["handles"], "title": legend["title"], "fontsize": 8, "title_fontsize": 8.5,
               "alignment": "left", "framealpha": 0.95, "edgecolor": "#cccccc"}
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    x, y = np.asarray(legend["x"], dtype=float), np.asarray(legend["y"], dtype=float)
    best = None
    for loc in ("upper left", "lower right", "center right", "upper right", "lower left"):
        box = ax.legend(loc=loc, **options).get_window_extent(renderer).transformed(ax.transData.inverted())
        hidden = int(np.count_nonzero((x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)))
        if best is None or hidden < best[0]:
            best = (hidden, loc)
        if hidden == 0:
            break
    ax.legend(loc=best[1], **options).get_frame().set_boxstyle("round")


def points_finish_chart(result: RunResult, path: Path) -> None:
    """Points ranked by finish time (mean, 95% CI) against the deadline.

    Up to FEW_POINTS points: one bar each. More: the ranked curve of all points
    (share finished by each time) over bars for the SLOWEST_BARS slowest.
    """
    rows = _finish_rows(result)
    deadline_h = _deadline_h(result)
    open_h = result.scenario.hours[0][0] / HOUR
    ends = [row["high"] for row in rows if math.isfinite(row["high"])]
    right = max([deadline_h, *ends]) * 1.06
    name = plain(result.scenario.name)
    xlabel = f"finish time (last sample at the point): hours after the first opening, {clock_label(open_h)}"
    ci = "mean, 95% CI" if result.replications > 1 else "no CI from one replication"
    if len(rows) <= FEW_POINTS:
        fig, ax = plt.subplots(figsize=(9, 1.7 + 0.42 * (len(rows) + LEGEND_ROWS)))
        _finish_bars(ax, rows, deadline_h, open_h, right)
        _style(ax, f"{name}: finish time per point ({ci}; {_replications(result)})", xlabel, "")
        ax.grid(False, axis="y")
    else:
        slowest = rows[:SLOWEST_BARS]
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 10.5), sharex=True, gridspec_kw={"height_ratios": [1, 1.2]})
        legend = _finish_curve(top, rows, deadline_h, open_h, result)
        _style(top, f"All {len(rows):,} points, fastest to slowest: share finished by each time", "", "share of points finished")
        top.tick_params(labelbottom=True)
        _finish_bars(bottom, slowest, deadline_h, open_h, right)
        _style(bottom, f"The {len(slowest)} slowest points ({ci})", xlabel, "")
        bottom.grid(False, axis="y")
        fig.suptitle(f"{name}: finish time per point ({_replications(result)})",
                     x=0.01, ha="left", fontsize=12, fontweight="bold")
    _hours_axis(fig.axes[0], right)
    if len(rows) > FEW_POINTS:
        _place_legend(fig, fig.axes[0], legend)
    _save(fig, path)


def queue_heatmap(result: RunResult, path: Path) -> None:
    """People waiting at each point (all stages) over time; points by finish time, slowest at the top."""
    rows = _finish_rows(result)
    n = len(rows)
    open_h = result.scenario.hours[0][0] / HOUR
    finish = np.array([open_h + row["mean"] for row in rows])
    start_h, end_h = _window_hours(result)
    end_h = max(end_h, float(np.ceil(np.nanmax(finish, initial=end_h))))
    step_h = result.step_s / HOUR
    first, last = int(round(start_h / step_h)), int(round(end_h / step_h))
    matrix = np.zeros((n, max(1, last - first)))
    for index, row in enumerate(rows):
        waiting = result.point_bands[row["point"].id].queue_total.mean[first:last]
        matrix[index, : waiting.size] = waiting
    group = -(-n // HEATMAP_ROWS) if n > HEATMAP_ROWS else 1
    starts = np.arange(0, n, group)
    sizes = np.diff(np.append(starts, n))
    if group > 1:
        matrix = np.add.reduceat(matrix, starts, axis=0) / sizes[:, None]
        finish = np.array([np.nanmean(finish[a : a + size]) if np.isfinite(finish[a : a + size]).any() else np.nan
                           for a, size in zip(starts, sizes)])
    centres = starts + sizes / 2.0
    labelled = n <= 30 and group == 1
    fig, ax = plt.subplots(figsize=(10, max(3.4, 1.8 + 0.2 * n) if labelled else 7.5))
    # Square-root colour scale: short daytime lines stay visible beside the morning rush.
    norm = PowerNorm(0.5, vmin=0, vmax=max(1.0, float(matrix.max(initial=0))))
    # Rows of `group` points each; the last, shorter group is cut at n by the y limits below.
    image = ax.imshow(matrix, aspect="auto", interpolation="nearest", cmap="magma_r", norm=norm,
                      extent=(start_h, end_h, len(starts) * group, 0))
    row_pt = (fig.get_figheight() - 1.6) * 72 / len(starts)  # a row's height, roughly, in points
    ticks = row_pt >= 3  # a tick per row while rows are tall enough, else dots
    ax.plot(finish, centres, linestyle="none", marker="|" if ticks else ".", markersize=min(9, 0.8 * row_pt) if ticks else 3,
            markeredgewidth=2 if row_pt >= 8 else 1.2, color="#00a6d6", label="finish (last sample at the point, mean)")
    _open_close(ax, result, deadline=True)
    _clock_axis(ax, start_h, end_h)
    ax.set_ylim(n, 0)
    if labelled:
        ax.set_yticks(centres, [plain(row["point"].id) for row in rows], fontsize=8)
        ylabel = "points, slowest at the top"
    else:
        ranks = [int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(1, n) if 1 <= v <= n]
        ranks = sorted({1, *ranks})
        ax.set_yticks(np.array(ranks) - 0.5, [f"{r:,}" for r in ranks])
        ylabel = "points by finish time (rank, 1 = slowest)"
        if group > 1:
            ylabel += f"\neach row: mean of {group} points in finish order"
    what = "mean over replications" if group == 1 else f"mean over replications and the row's {group} points"
    span = "the day" if result.scenario.round.days == 1 else "the round"
    _style(ax, f"{plain(result.scenario.name)}: people waiting at each point over {span} ({n:,} points)",
           f"time of day ({_step_text(result)})", ylabel)
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax, pad=0.015, fraction=0.04, aspect=30)
    bar.set_label(f"people waiting at the point, all stages\n({what}; square-root scale)", fontsize=9)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    fig.legend(handles=ax.get_legend_handles_labels()[0], loc="lower right", fontsize=8, frameon=False)
    _save(fig, path, bottom=0.22 / fig.get_figheight())


def slowest_points_chart(result: RunResult, path: Path) -> None:
    """The slowest points one by one: line length per stage over time, finish time and deadline."""
    rows = [row for row in _finish_rows(result) if math.isfinite(row["mean"])][:DRILL_DOWN]
    if not rows:
        rows = _finish_rows(result)[:1]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.7 * len(rows) + 0.8), sharex=True, squeeze=False)
    open_h = result.scenario.hours[0][0] / HOUR
    start_h, end_h = _window_hours(result)
    ends = [open_h + row["high"] for row in rows if math.isfinite(row["high"])]
    end_h = max([end_h, *np.ceil(ends)])  # the finish times and their CIs in view
    for index, (ax, row) in enumerate(zip(axes[:, 0], rows)):
        point = row["point"]
        bands = result.point_bands[point.id]
        for stage, queue in bands.queue.items():
            hours = _steps_axis(result, queue.mean.size)
            colour = STAGE_COLOURS[stage]
            ax.fill_between(hours, queue.low, queue.high, color=colour, alpha=0.22, linewidth=0)
            ax.plot(hours, queue.mean, color=colour, linewidth=1.5, label=STAGE_LABELS[stage])
        if math.isfinite(row["mean"]):
            finish = open_h + row["mean"]
            ax.axvline(finish, color=MAIN, linewidth=1.6)
            if row["high"] > row["low"]:  # the CI as a whisker across the top of the finish line
                ax.plot([open_h + row["low"], open_h + row["high"]], [0.93, 0.93], color=MAIN, linewidth=1.2,
                        marker="|", markersize=8, transform=ax.get_xaxis_transform())
            ax.annotate(f"finish {clock_label(finish)}\n({row['mean']:.1f} h)", (open_h + row["low"], 0.88),
                        xycoords=("data", "axes fraction"), xytext=(-4, 0), textcoords="offset points",
                        fontsize=8, color=MAIN, ha="right", va="top")
        _open_close(ax, result, deadline=True)
        _clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        _thousands(ax)
        name = point.name.strip()
        heading = f"{index + 1}. {point.id}" + (f" \u00b7 {name[:60]}" if name and name != point.id else "")
        stations = f"{point.stations} station" + ("s" if point.stations != 1 else "")
        _style(ax, plain(f"{heading} ({point.population:,} residents, {stations})"), "", "people in line")
        ax.title.set_fontsize(10)
    keys = [Line2D([], [], color=STAGE_COLOURS[stage], linewidth=1.5, label=STAGE_LABELS[stage])
            for stage in STAGE_COLOURS if any(stage in result.point_bands[row["point"].id].queue for row in rows)]
    keys += [Patch(color="#999999", alpha=0.35, linewidth=0, label="range across replications"),
             Line2D([], [], color=MAIN, linewidth=1.6,
                    label="finish (mean; whisker: 95% CI)" if result.replications > 1 else "finish"),
             Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label="deadline")]
    axes[-1, 0].set_xlabel(f"time of day ({_step_text(result)})")
    height = fig.get_figheight()
    fig.legend(handles=keys, loc="lower center", ncol=len(keys), fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{plain(result.scenario.name)}: the {len(rows)} slowest points, people waiting per stage",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    _save(fig, path, bottom=0.35 / height)


CHARTS = {
    "cumulative.png": cumulative_chart,
    "throughput.png": throughput_chart,
    "queues.png": queue_chart,
    "waits.png": wait_chart,
    "utilization.png": utilization_chart,
}
POINT_CHARTS = {
    "points_finish.png": points_finish_chart,
    "queue_heatmap.png": queue_heatmap,
    "slowest_points.png": slowest_points_chart,
}
"""Written only when the scenario has more than one point."""


def write_charts(result: RunResult, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    charts = dict(CHARTS)
    if len(result.scenario.points) > 1:
        charts.update(POINT_CHARTS)
    written = []
    for name, draw in charts.items():
        draw(result, folder / name)
        written.append(folder / name)
    return written


def _save(fig, path: Path, bottom: float = 0.0) -> None:
    """Lay out (leaving ``bottom``, a fraction of the height, free for a figure legend) and write."""
    fig.tight_layout(rect=(0, bottom, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
