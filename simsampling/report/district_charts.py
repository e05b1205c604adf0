"""Charts that compare the points of a district: each point's finish against the deadline
(points_finish.png), lines over the day point by point (queue_heatmap.png) and the slowest
points drilled down (slowest_points.png).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, PercentFormatter

from ..advice.ranking import Ranking
from ..experiment import RunResult
from ..log import day_clock
from ..metrics import HOUR
from ..steps import MAX_TIMELINE_STEPS
from ..stages import colour as stage_colour, label as stage_label, union
from .chart_style import DEADLINE, LATE, MAIN, clock_axis, clock_label, hour_step, plain, plt, save, style_axes, thousands
from .chart_window import mark_hours, replications_text, step_text, steps_axis, window_hours


FEW_POINTS = 20
"""Up to this many points, points_finish.png draws one labelled bar per point."""

SLOWEST_BARS = 15
"""Beyond FEW_POINTS: the slowest points drawn as labelled bars under the ranked curve."""

HEATMAP_ROWS = 400
"""Beyond this many points, queue_heatmap.png shows groups of points (one row each)."""

DRILL_DOWN = 4
"""Points drawn in slowest_points.png."""
PANEL_TITLE_CHARS = 92
"""Characters a panel's title of the points to act on first holds across the figure (10 pt bold, 9 in wide): a
long point name is shortened to fit (the whole name is in points.csv)."""

LEGEND_ROWS = 0.8
"""Headroom (in bars) above the slowest bar of points_finish.png, for its legend."""


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


def point_label(point, width: int = 40) -> str:
    name = point.name.strip()
    text = point.id if not name or name == point.id else f"{point.id} \u00b7 {name}"
    return plain(text if len(text) <= width else text[: width - 1] + "\u2026")


def _deadline_key(deadline_h: float, open_h: float) -> Line2D:
    return Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4,
                  label=f"deadline {deadline_h:g} h ({clock_label(open_h + deadline_h)})")


def _hours_axis(ax, right: float) -> None:
    """Whole hours on an axis of durations from 0 to ``right`` hours."""
    ax.set_xlim(0, right)
    ax.xaxis.set_major_locator(MultipleLocator(hour_step(right)))


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
    ax.set_yticks(positions, [point_label(row["point"]) for row in rows], fontsize=8)
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


def points_finish_chart(result: RunResult, path: Path, advice: Ranking) -> None:
    """Points ranked by finish time (mean, 95% CI) against the deadline.

    Up to FEW_POINTS points: one bar each. More: the ranked curve of all points
    (share finished by each time) over bars for the SLOWEST_BARS slowest. When
    every point's finish is set by its calling plan (the finish times tie), the
    chart says so, the bars follow the ranking of what to act on, and with many
    points the lower panel shows the first SLOWEST_BARS of that ranking by p90 wait.
    """
    rows = _finish_rows(result)
    deadline_h = _deadline_h(result)
    open_h = result.scenario.hours[0][0] / HOUR
    ends = [row["high"] for row in rows if math.isfinite(row["high"])]
    right = max([deadline_h, *ends]) * 1.06
    name = plain(result.scenario.name)
    xlabel = f"finish time (last sample at the point): hours after the first opening, {clock_label(open_h)}"
    ci = "mean, 95% CI" if result.replications > 1 else "no CI from one replication"
    tied = advice.finish_set_by_plan
    plan_end = advice.plan_end_s
    note = (f"Every point's finish is set by its calling plan (the plans end by {day_clock(plan_end)}):\n"
            "finish times tie; the points are ranked by waits and lines instead") if tied else ""
    if len(rows) <= FEW_POINTS:
        if tied:
            rows = _ranked_rows(rows, advice)
        fig, ax = plt.subplots(figsize=(9, 1.7 + 0.42 * (len(rows) + LEGEND_ROWS) + (0.4 if tied else 0)))
        _finish_bars(ax, rows, deadline_h, open_h, right)
        style_axes(ax, f"{name}: finish time per point ({ci}; {replications_text(result)})" + (f"\n{note}" if tied else ""),
               xlabel, "")
        ax.grid(False, axis="y")
    else:
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 10.5), sharex=not tied, gridspec_kw={"height_ratios": [1, 1.2]})
        legend = _finish_curve(top, rows, deadline_h, open_h, result)
        style_axes(top, f"All {len(rows):,} points, fastest to slowest: share finished by each time", "", "share of points finished")
        top.tick_params(labelbottom=True)
        if tied:
            top.set_xlabel(xlabel)
            top.annotate(note, (0.02, 0.5), xycoords="axes fraction", fontsize=9, va="center",
                         bbox={"boxstyle": "round", "facecolor": "#fff4e5", "edgecolor": LATE})
            first = _ranked_rows(rows, advice)[:SLOWEST_BARS]
            _wait_bars(bottom, first, advice)
            style_axes(bottom, f"The {len(first)} points to act on first: p90 wait against the {advice.target_min:g}-min target",
                   "p90 total wait, minutes (mean over replications)", "")
        else:
            _finish_bars(bottom, rows[:SLOWEST_BARS], deadline_h, open_h, right)
            style_axes(bottom, f"The {SLOWEST_BARS} slowest points ({ci})", xlabel, "")
        bottom.grid(False, axis="y")
        fig.suptitle(f"{name}: finish time per point ({replications_text(result)})",
                     x=0.01, ha="left", fontsize=12, fontweight="bold")
    _hours_axis(fig.axes[0], right)
    if len(rows) > FEW_POINTS:
        _place_legend(fig, fig.axes[0], legend)
    save(fig, path)


def _ranked_rows(rows: list[dict], advice: Ranking) -> list[dict]:
    """The rows of ``_finish_rows`` in the order of the ranking of what to act on."""
    order = {point_id: rank for rank, point_id in enumerate(advice.ranked_ids())}
    return sorted(rows, key=lambda row: order.get(row["point"].id, len(order)))


def _wait_bars(ax, rows: list[dict], advice: Ranking) -> None:
    """One bar per point (first to act on at the top): its p90 total wait, against the target."""
    waits = np.array([advice.rank_of(row["point"].id).p90_wait_min or 0.0 for row in rows])  # the evidence's p90
    target = advice.target_min
    positions = np.arange(len(rows))[::-1]
    ax.barh(positions, waits, height=0.65, color=[LATE if w > target else MAIN for w in waits])
    for y, row, wait in zip(positions, rows, waits):
        rank = advice.rank_of(row["point"].id)
        ax.annotate(f"{wait:.1f} min; longest line {rank.peak_line:,.0f}", (wait, y), xytext=(5, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.axvline(target, color=DEADLINE, linestyle="--", linewidth=1.4)
    ax.set_yticks(positions, [point_label(row["point"]) for row in rows], fontsize=8)
    ax.set_xlim(0, max(target, float(waits.max(initial=0))) * 1.35)
    ax.legend(handles=[Patch(color=MAIN, label="within the target"), Patch(color=LATE, label="over the target"),
                       Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label=f"target {target:g} min")],
              loc="lower right", fontsize=8, frameon=False)


def queue_heatmap(result: RunResult, path: Path, advice: Ranking) -> None:
    """People waiting at each point (all stages) over time; points ranked by what to act on, the first at the top."""
    rows = _ranked_rows(_finish_rows(result), advice)
    n = len(rows)
    open_h = result.scenario.hours[0][0] / HOUR
    finish = np.array([open_h + row["mean"] for row in rows])
    start_h, end_h = window_hours(result)
    end_h = max(end_h, float(np.ceil(np.nanmax(finish, initial=end_h))))
    step_h = result.step_s / HOUR
    first, last = int(round(start_h / step_h)), int(round(end_h / step_h))
    group = -(-n // HEATMAP_ROWS) if n > HEATMAP_ROWS else 1
    starts = np.arange(0, n, group)
    sizes = np.diff(np.append(starts, n))
    # Rows of `group` points added up as they are read: the matrix is never points x steps (a city's would be GBs).
    columns = -(-max(1, last - first) // (per_column := -(-max(1, last - first) // MAX_TIMELINE_STEPS)))
    matrix = np.zeros((starts.size, columns * per_column))
    for index, row in enumerate(rows):
        waiting = result.point_bands[row["point"].id].queue_total.mean[first:last]
        matrix[index // group, : waiting.size] += waiting
    matrix = matrix.reshape(starts.size, columns, per_column).mean(axis=2) / sizes[:, None]
    if group > 1:
        finish = np.array([np.nanmean(finish[a : a + size]) if np.isfinite(finish[a : a + size]).any() else np.nan
                           for a, size in zip(starts, sizes)])
    centres = starts + sizes / 2.0
    labelled = n <= 30 and group == 1
    fig, ax = plt.subplots(figsize=(10, max(3.4, 1.8 + 0.2 * n) if labelled else 7.5))
    # Square-root colour scale: short daytime lines stay visible beside the morning rush.
    norm = PowerNorm(0.5, vmin=0, vmax=max(1.0, float(matrix.max(initial=0))))
    # Rows of `group` points each; the last, shorter group is cut at n by the y limits below.
    image = ax.imshow(matrix, aspect="auto", interpolation="nearest", cmap="magma_r", norm=norm,
                      extent=(start_h, start_h + columns * per_column * step_h, len(starts) * group, 0))
    row_pt = (fig.get_figheight() - 1.6) * 72 / len(starts)  # a row's height, roughly, in points
    ticks = row_pt >= 3  # a tick per row while rows are tall enough, else dots
    ax.plot(finish, centres, linestyle="none", marker="|" if ticks else ".", markersize=min(9, 0.8 * row_pt) if ticks else 3,
            markeredgewidth=2 if row_pt >= 8 else 1.2, color="#00a6d6", label="finish (last sample at the point, mean)")
    mark_hours(ax, result, deadline=True)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(n, 0)
    if labelled:
        ax.set_yticks(centres, [plain(row["point"].id) for row in rows], fontsize=8)
        ylabel = "points, the first to act on at the top"
    else:
        ranks = [int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(1, n) if 1 <= v <= n]
        ranks = sorted({1, *ranks})
        ax.set_yticks(np.array(ranks) - 0.5, [f"{r:,}" for r in ranks])
        ylabel = "points by what to act on (rank, 1 = first)"
        if group > 1:
            ylabel += f"\neach row: mean of {group} points in that order"
    what = "mean over replications" if group == 1 else f"mean over replications and the row's {group} points"
    span = "the day" if result.scenario.round.days == 1 else "the round"
    tied = (f"\nevery point's finish is set by its calling plan (by {day_clock(advice.plan_end_s)}): "
            "ranked by deadline, waiting space, p90 wait") if advice.finish_set_by_plan else (
        "\nranked by time past the deadline, line over the waiting space, p90 wait")
    style_axes(ax, f"{plain(result.scenario.name)}: people waiting at each point over {span} ({n:,} points){tied}",
           f"time of day ({step_text(result)})", ylabel)
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax, pad=0.015, fraction=0.04, aspect=30)
    bar.set_label(f"people waiting at the point, all stages\n({what}; square-root scale)", fontsize=9)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    fig.legend(handles=ax.get_legend_handles_labels()[0], loc="lower right", fontsize=8, frameon=False)
    save(fig, path, bottom=0.22 / fig.get_figheight())


def slowest_points_chart(result: RunResult, path: Path, advice: Ranking) -> None:
    """The points to act on first, one by one: line length per stage over time, finish time and deadline."""
    rows = _ranked_rows(_finish_rows(result), advice)[:DRILL_DOWN]
    fig, axes = plt.subplots(len(rows), 1, figsize=(9, 2.7 * len(rows) + 0.8), sharex=True, squeeze=False)
    open_h = result.scenario.hours[0][0] / HOUR
    start_h, end_h = window_hours(result)
    ends = [open_h + row["high"] for row in rows if math.isfinite(row["high"])]
    end_h = max([end_h, *np.ceil(ends)])  # the finish times and their CIs in view
    for index, (ax, row) in enumerate(zip(axes[:, 0], rows)):
        point = row["point"]
        bands = result.point_bands[point.id]
        for stage, queue in bands.queue.items():
            hours = steps_axis(result, queue.mean.size)
            colour = stage_colour(stage)
            ax.fill_between(hours, queue.low, queue.high, color=colour, alpha=0.22, linewidth=0)
            ax.plot(hours, queue.mean, color=colour, linewidth=1.5, label=stage_label(stage))
        if math.isfinite(row["mean"]):
            finish = open_h + row["mean"]
            ax.axvline(finish, color=MAIN, linewidth=1.6)
            if row["high"] > row["low"]:  # the CI as a whisker across the top of the finish line
                ax.plot([open_h + row["low"], open_h + row["high"]], [0.93, 0.93], color=MAIN, linewidth=1.2,
                        marker="|", markersize=8, transform=ax.get_xaxis_transform())
            ax.annotate(f"finish {clock_label(finish)}\n({row['mean']:.1f} h)", (open_h + row["low"], 0.88),
                        xycoords=("data", "axes fraction"), xytext=(-4, 0), textcoords="offset points",
                        fontsize=8, color=MAIN, ha="right", va="top")
        mark_hours(ax, result, deadline=True)
        clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        thousands(ax)
        name = point.name.strip()
        stations = f"{point.stations} station" + ("s" if point.stations != 1 else "")
        rest = f" ({point.population:,} residents, {stations}): {_concern_label(advice, point.id)}"
        heading = f"{index + 1}. {point.id}"
        if name and name != point.id:  # the name shortened to what the panel's width leaves
            room = max(PANEL_TITLE_CHARS - len(heading) - len(rest) - 3, 12)
            heading += " \u00b7 " + (name if len(name) <= room else name[:room - 1].rstrip() + "\u2026")
        style_axes(ax, plain(heading + rest), "", "people in line")
        ax.title.set_fontsize(10)
    keys = [Line2D([], [], color=stage_colour(stage), linewidth=1.5, label=stage_label(stage))
            for stage in union(tuple(result.point_bands[row["point"].id].queue) for row in rows)]
    keys += [Patch(color="#999999", alpha=0.35, linewidth=0, label="range across replications")] * (result.replications > 1)
    keys += [Line2D([], [], color=MAIN, linewidth=1.6,
                    label="finish (mean; whisker: 95% CI)" if result.replications > 1 else "finish"),
             Line2D([], [], color=DEADLINE, linestyle="--", linewidth=1.4, label="deadline")]
    axes[-1, 0].set_xlabel(f"time of day ({step_text(result)})")
    height = fig.get_figheight()
    fig.legend(handles=keys, loc="lower center", ncol=len(keys), fontsize=8, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{plain(result.scenario.name)}: the {len(rows)} points to act on first, people waiting per stage",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    save(fig, path, bottom=0.35 / height)


def _concern_label(advice: Ranking, point_id: str) -> str:
    """Why a point is where it is in the ranking, in a few words."""
    rank = advice.rank_of(point_id)
    if rank.concern == "late":
        return f"{rank.late_h:.1f} h past the deadline" if rank.late_h > 0 else "residents left unserved"
    if rank.concern == "overflow":
        return f"line of {rank.peak_line:,.0f} for a waiting area of {rank.waiting_space:,}"
    wait = f"p90 wait {rank.p90_wait_min:.1f} min" if rank.p90_wait_min is not None else "no wait"
    return wait + (" (over the target)" if rank.concern == "long_wait" else "")


POINT_CHARTS = {
    "points_finish.png": points_finish_chart,
    "queue_heatmap.png": queue_heatmap,
    "slowest_points.png": slowest_points_chart,
}
"""Written only when the scenario has more than one point."""
