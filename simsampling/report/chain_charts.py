"""Charts of the sample chain: results over time (results.png), the laboratories' backlog and
runs (lab_backlog.png), specimens' age at testing (specimen_age.png).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from ..experiment import RunResult
from ..metrics import HOUR
from ..model.chain import shift_windows
from .files import chain_window
from .chart_style import DEADLINE, LATE, MAIN, clock_axis, clock_label, plain, plt, save, style_axes, thousands
from .chart_window import mark_hours, replications_text, step_text, steps_axis, window_hours


RESULTS = "#2a9d8f"
BACKLOG = "#7b2cbf"
SHIFT = "#e9f5ec"

GANTT_LABS = 12
"""Up to this many laboratories, lab_backlog.png draws the first replication's runs, a row per laboratory."""


def _chain_hours(result: RunResult) -> tuple[float, float]:
    """Whole hours from the first opening to the end of the chain's window (and the deadline)."""
    _, end = chain_window(result)
    first_h, last_h = window_hours(result)
    return first_h, max(last_h, float(np.ceil(end * result.step_s / HOUR)))


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    """A series drawn over ``length`` steps: past its end it stays at its last value (0 when empty)."""
    if values.size >= length:
        return values[:length]
    return np.pad(values, (0, length - values.size), mode="edge") if values.size else np.zeros(length)


def _last_results(result: RunResult) -> tuple[float, float, float]:
    """Mean, min and max over replications of the time of the last result (hours since midnight of day 0)."""
    open_h = result.scenario.hours[0][0] / HOUR
    times = [open_h + kpis["chain"]["last_result_h"] for kpis in result.run_kpis
             if math.isfinite(kpis["chain"]["last_result_h"])]
    if not times:
        return math.nan, math.nan, math.nan
    return float(np.mean(times)), float(min(times)), float(max(times))


def _vertical(x: float, top: float) -> tuple[np.ndarray, np.ndarray]:
    """Points along a vertical line from 0 to ``top``, for :func:`_place_clear` to keep clear of it."""
    return np.full(50, x), np.linspace(0, top, 50)


def _place_clear(fig, ax, legend: dict) -> None:
    """The legend (its title a summary) where it hides the fewest drawn points: along the top,
    the middle or the bottom of ``ax``, anywhere across; corners first on a tie.

    Like :func:`_place_legend`, but not only in corners: charts with vertical marks (limits,
    medians, last results) near every corner still find a clear spot.
    """
    options = {"handles": legend["handles"], "title": legend["title"], "fontsize": 8, "title_fontsize": 8.5,
               "alignment": "left", "framealpha": 0.95, "edgecolor": "#cccccc", "borderaxespad": 0.0}
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    size = ax.legend(loc="upper left", **options).get_window_extent(renderer)
    frame = ax.get_window_extent(renderer)
    width, height = size.width / frame.width, size.height / frame.height
    x, y = np.asarray(legend["x"], dtype=float), np.asarray(legend["y"], dtype=float)
    points = ax.transAxes.inverted().transform(ax.transData.transform(np.column_stack([x, y]))) if x.size else np.zeros((0, 2))
    margin = 0.012
    lefts = np.linspace(margin, max(margin, 1 - margin - width), 21)
    best = None
    for row, top in enumerate((1 - margin, 0.5 + height / 2, margin + height)):
        for left in lefts:
            inside = ((points[:, 0] >= left - margin) & (points[:, 0] <= left + width + margin)
                      & (points[:, 1] >= top - height - margin) & (points[:, 1] <= top + margin))
            corner = min(left - lefts[0], lefts[-1] - left)  # 0 at either side
            key = (int(np.count_nonzero(inside)), row, round(corner, 6))
            if best is None or key < best[0]:
                best = (key, (float(left), float(top)))
    ax.legend(loc="upper left", bbox_to_anchor=best[1], **options).get_frame().set_boxstyle("round")


def results_chart(result: RunResult, path: Path) -> None:
    """Residents with a released result over time, against residents sampled; deadline and last result."""
    start_h, end_h = _chain_hours(result)
    length = int(round(end_h * HOUR / result.step_s))
    hours = steps_axis(result, length)
    band = result.chain_bands["results"]
    sampled = result.run_bands.sampled
    drawn = {"sampled": _padded(sampled.mean, length), "results": _padded(band.mean, length)}
    fig, ax = plt.subplots(figsize=(10, 5.2))
    if result.replications > 1:
        ax.fill_between(hours, _padded(sampled.low, length), _padded(sampled.high, length), color="#999999",
                        alpha=0.18, linewidth=0)
        ax.fill_between(hours, _padded(band.low, length), _padded(band.high, length), color=RESULTS, alpha=0.25,
                        linewidth=0, label="range across replications")
        drawn.update(low=_padded(band.low, length), high=_padded(band.high, length))
    ax.plot(hours, drawn["sampled"], color="#777777", linestyle="--", linewidth=1.4, label="sampled (mean)")
    ax.plot(hours, drawn["results"], color=RESULTS, linewidth=2.2, label="with the result of their pool (mean)")
    mark_hours(ax, result, deadline=True)
    top = max(float(np.max(sampled.high, initial=0)), float(np.max(band.high, initial=0)))
    top = top * 1.16 if top else 1.0
    xs, ys = [hours] * len(drawn), list(drawn.values())
    x, y = _vertical(result.scenario.deadline_s / HOUR, top)
    xs.append(x)
    ys.append(y)
    last, low, high = _last_results(result)
    if math.isfinite(last):
        ax.axvline(last, color=MAIN, linewidth=1.4, label="last result, recalls included (mean)")
        if high > low:  # the range across replications as a whisker near the top
            ax.plot([low, high], [0.92, 0.92], color=MAIN, linewidth=1.2, marker="|", markersize=8,
                    transform=ax.get_xaxis_transform())
        ax.annotate(f"last result {clock_label(last)}", (last, 0.985), xycoords=("data", "axes fraction"),
                    xytext=(-4, 0), textcoords="offset points", fontsize=8, color=MAIN, ha="right", va="top")
        x, y = _vertical(last, top)
        xs.append(x)
        ys.append(y)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(0, top)
    thousands(ax)
    chain = result.summary["kpis"]["chain"]
    lines = []
    share = chain["results_by_deadline_share"]["mean"]
    if share is not None:
        lines.append(f"{share:.0%} with a result by the deadline ({clock_label(result.scenario.deadline_s / HOUR)})")
    p90, median = chain["swab_to_result_h"]["p90"]["mean"], chain["swab_to_result_h"]["p50"]["mean"]
    if p90 is not None and median is not None:
        lines.append(f"swab to result: median {median:.1f} h, p90 {p90:.1f} h")
    if math.isfinite(last):
        whisker = " (whisker: range)" if high > low else ""
        lines.append(f"last result {clock_label(last)}" + " on average" * (result.replications > 1) + whisker)
    style_axes(ax, f"{plain(result.scenario.name)}: residents with a result ({replications_text(result)})",
           f"time of day ({step_text(result)})", "residents (cumulative)")
    handles, _ = ax.get_legend_handles_labels()
    _place_clear(fig, ax, {"handles": handles, "title": "\n".join(lines), "x": np.concatenate(xs), "y": np.concatenate(ys)})
    save(fig, path)


def _lanes(runs: list[tuple[float, float, int]]) -> list[int]:
    """An instrument lane for each run (in start order): the first lane free when it starts."""
    free: list[float] = []
    lanes = []
    for start, end, _ in runs:
        lane = next((i for i, until in enumerate(free) if until <= start + 1e-6), len(free))
        if lane == len(free):
            free.append(end)
        else:
            free[lane] = end
        lanes.append(lane)
    return lanes


def _runs_panel(ax, result: RunResult, start_h: float, end_h: float) -> None:
    """The first replication's runs: a row per laboratory, a lane per instrument, shifts shaded."""
    chain = result.first_chain
    labs = chain.labs
    rows = len(labs)
    recall_lab = chain.tube_lab[chain.recall_positive_tube] if chain.recall_positive_tube.size else np.zeros(0, dtype=int)
    for index, lab in enumerate(labs):
        recall_ends = set(chain.recall_released_s[recall_lab == index].tolist())  # a run's end is its release
        top = rows - index  # first laboratory at the top
        base = top - 0.9
        for begin, finish in shift_windows(lab, result.scenario.round.days):
            if math.isinf(begin):
                continue
            ax.fill_between([begin / HOUR, finish / HOUR], base - 0.04, top - 0.06, color=SHIFT, linewidth=0, zorder=0)
        runs = sorted((start, end, size) for number, start, end, size in chain.runs if number == index)
        lanes = _lanes(runs)
        height = 0.82 / max(lab.instruments, max(lanes, default=0) + 1)
        for (begin, finish, size), lane in zip(runs, lanes):
            y = top - 0.08 - (lane + 1) * height
            colour = LATE if finish in recall_ends else BACKLOG
            ax.broken_barh([(begin / HOUR, (finish - begin) / HOUR)], (y, height * 0.85), facecolors=colour,
                           alpha=0.85, edgecolor="white", linewidth=0.6)
            wide = (finish - begin) / HOUR / max(end_h - start_h, 1) > 0.025
            if wide and height >= 0.2:
                ax.annotate(f"{size}", ((begin + finish) / 2 / HOUR, y + height * 0.42), ha="center", va="center",
                            fontsize=7, color="white", annotation_clip=True)
    ax.set_ylim(0, rows + 0.05)
    ax.set_yticks([rows - i - 0.45 for i in range(rows)],
                  [plain(lab.id if lab.instruments == 1 else f"{lab.id} ({lab.instruments} instr.)") for lab in labs],
                  fontsize=8)
    ax.grid(False, axis="y")


def lab_backlog_chart(result: RunResult, path: Path) -> None:
    """Tubes waiting at the laboratories over time (mean and range), above the first replication's runs."""
    start_h, end_h = _chain_hours(result)
    length = int(round(end_h * HOUR / result.step_s))
    hours = steps_axis(result, length)
    band = result.chain_bands["lab_backlog"]
    labs = result.first_chain.labs if result.first_chain is not None else []
    gantt = 0 < len(labs) <= GANTT_LABS
    if gantt:
        fig, (ax, runs_ax) = plt.subplots(2, 1, figsize=(10, 5.4 + 0.45 * len(labs)), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 0.5 + 0.45 * len(labs)]})
    else:
        fig, ax = plt.subplots(figsize=(10, 5))
    mean = _padded(band.mean, length)
    if result.replications > 1:
        ax.fill_between(hours, _padded(band.low, length), _padded(band.high, length), color=BACKLOG, alpha=0.22,
                        linewidth=0, label="range across replications")
    ax.plot(hours, mean, color=BACKLOG, linewidth=1.6, label="mean")
    mark_hours(ax, result, deadline=True)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(bottom=0, top=max(1.0, float(np.max(band.high, initial=0))) * 1.15)
    thousands(ax)
    chain = result.summary["kpis"]["chain"]
    tubes, utilisation = chain["tubes"]["mean"], chain["lab_utilization"]["mean"]
    peak = float(np.max(mean, initial=0))
    lines = [f"{tubes:,.0f} pooled tubes per replication (mean)", f"most waiting at once: {peak:,.0f} (mean curve)"]
    if utilisation is not None:
        lines.append(f"laboratory utilisation {utilisation:.0%}")
        lines.append("   (all instruments, first arrival to last result)")
    style_axes(ax, f"{plain(result.scenario.name)}: tubes waiting at the laboratories ({replications_text(result)})",
           "" if gantt else f"time of day ({step_text(result)})", "tubes waiting for a run (recall tubes included)")
    drawn = [mean, _padded(band.high, length)]
    handles, _ = ax.get_legend_handles_labels()
    _place_clear(fig, ax, {"handles": handles, "title": "\n".join(lines), "x": np.concatenate([hours] * len(drawn)),
                           "y": np.concatenate(drawn)})
    bottom = 0.0
    if gantt:
        _runs_panel(runs_ax, result, start_h, end_h)
        keys = [Patch(color=BACKLOG, alpha=0.85, label="run of pooled tubes"),
                Patch(color=LATE, alpha=0.85, label="run with single tubes of recalled residents")]
        if any(lab.shifts for lab in labs):
            keys.append(Patch(color=SHIFT, label="shift (runs may start)"))
        fig.legend(handles=keys, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=len(keys), fontsize=8, frameon=False)
        bottom = 0.25 / fig.get_figheight()
        clock_axis(runs_ax, start_h, end_h)
        style_axes(runs_ax, "Runs in replication 1: a lane per instrument, the tubes in each run",
               f"time of day ({step_text(result)})", "")
        runs_ax.title.set_fontsize(9.5)
    save(fig, path, bottom=bottom)


def specimen_age_chart(result: RunResult, path: Path) -> None:
    """Age of the specimens on arrival at the laboratory (first swab in the tube to arrival), first replication."""
    chain = result.first_chain
    reached = ~np.isnan(chain.arrived_s)
    ages = (chain.arrived_s - chain.opened_s)[reached] / HOUR
    limit = result.scenario.chain.freshness_limit_h
    over = int(np.count_nonzero(ages > limit))
    right = max(limit * 1.25, float(np.max(ages, initial=0)) * 1.05, 1.0)
    # At most about 60 bars: beyond 8-hour bins, a multiple of 12 hours (specimens arriving years late).
    width = next((w for w in (1 / 12, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0) if right / w <= 60), 12.0 * math.ceil(right / 720.0))
    # The limit is a bin edge, so every bar is wholly within it or wholly over it.
    below = np.arange(0, limit - 1e-9, width)
    edges = np.concatenate([below, np.arange(limit, max(right, limit + width) + width, width)])
    counts, _ = np.histogram(ages, bins=edges)
    shares = counts / ages.size if ages.size else counts.astype(float)
    top = max(float(np.max(shares, initial=0)) * 1.3, 0.01)
    fig, ax = plt.subplots(figsize=(9, 4.6))
    widths = np.diff(edges)
    fresh = edges[:-1] < limit
    ax.bar(edges[:-1], shares, width=widths, align="edge", color=[MAIN if f else LATE for f in fresh], alpha=0.9,
           edgecolor="white", linewidth=0.5)
    ax.axvline(limit, color=DEADLINE, linestyle="--", linewidth=1.4)
    centres = edges[:-1] + widths / 2
    xs = [np.repeat(centres, 5), _vertical(limit, top)[0]]
    ys = [np.outer(shares, np.linspace(0, 1, 5)).ravel(), _vertical(limit, top)[1]]
    share_over = over / ages.size if ages.size else 0.0
    keys = [Patch(color=MAIN, alpha=0.9, label="tubes within the limit"),
            Patch(color=LATE, alpha=0.9, label="older than the limit"),
            Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label=f"freshness limit {limit:g} h")]
    if ages.size:
        median = float(np.median(ages))
        ax.axvline(median, color="#333333", linestyle=":", linewidth=1.2)
        keys.append(Line2D([], [], color="#333333", linestyle=":", linewidth=1.2, label=f"median {median:.1f} h"))
        x, y = _vertical(median, top)
        xs.append(x)
        ys.append(y)
    lines = [f"replication 1: {over:,} of {ages.size:,} tubes ({share_over:.1%})", f"older than {limit:g} h on arrival"]
    kpi = result.summary["kpis"]["chain"]
    mean_over, mean_tubes = kpi["specimens_over_limit"]["mean"], kpi["tubes"]["mean"]
    if result.replications > 1 and mean_over is not None and mean_tubes:
        lines.append(f"all {result.replications} replications: {mean_over / mean_tubes:.1%} on average")
    ax.set_xlim(0, edges[-1])
    ax.set_ylim(0, top)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=None))
    style_axes(ax, f"{plain(result.scenario.name)}: specimen age on arrival at the laboratory (replication 1)",
           "hours from the first swab in the tube to the tube's arrival at the laboratory", "share of tubes")
    _place_clear(fig, ax, {"handles": keys, "title": "\n".join(lines), "x": np.concatenate(xs), "y": np.concatenate(ys)})
    save(fig, path)


CHAIN_CHARTS = {
    "results.png": results_chart,
    "lab_backlog.png": lab_backlog_chart,
    "specimen_age.png": specimen_age_chart,
}
"""Written only when the scenario has a sample chain."""
