"""rota.png: one point's stations through the first replication, busy, idle or closed for lack of
staff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from ..advice.ranking import Ranking
from ..experiment import RunResult
from ..metrics import HOUR, occupancy
from .chart_style import clock_axis, plain, plt, save, style_axes
from .chart_window import mark_hours, window_hours
from .district_charts import point_label


BUSY_COLOURS = LinearSegmentedColormap.from_list("busy", ["#cfeae6", "#2a9d8f", "#12403a"])
BREAK_COLOUR, BREAK_EDGE = "#f4a261", "#a8561b"
OFF_DUTY_COLOUR, OFF_DUTY_EDGE = "#b8bec6", "#5c6470"
POINT_CLOSED = "#ececec"

BUSY_FLOOR = 0.005
"""Busy shares at or below this are drawn as idle (a blank cell, not a faint one)."""

ROTA_LABELLED = 30
"""Up to this many stations, rota.png names every row."""

ROTA_EXACT_CLOSURES = 2_000
"""Up to this many closures, a row per station, rota.png draws each at its exact times; beyond (or with rows of
several stations), a cell is drawn closed when half its row's stations were closed for most of it."""


def rota_point(result: RunResult, advice: Optional[Ranking] = None, chosen: Optional[str] = None):
    """The point rota.png shows, and why; None when there is nothing to show.

    ``chosen`` (``--rota-point``) if given; the only point of a one-point run; in a
    district, the point whose stations were closed longest in replication 1, or when
    none was closed the first point with anything to show in the ranking of what to
    act on (``advice``; without it, in the scenario's order).
    """
    timelines = result.timelines
    points = [point for point in result.scenario.points if point.id in timelines]
    if chosen is not None:
        points = [point for point in points if point.id == chosen]
        if not points or not _has_activity(timelines[chosen]):
            return None
        return points[0], f"as asked (--rota-point {chosen})" if len(result.scenario.points) > 1 else ""
    if not points:
        return None
    if advice is not None:
        order = {point_id: rank for rank, point_id in enumerate(advice.ranked_ids())}
        points.sort(key=lambda point: order.get(point.id, len(order)))
    closed = [result.point_kpis[point.id][0]["stations_closed_min"] if result.point_kpis.get(point.id) else 0.0
              for point in points]
    shown = [_has_activity(timelines[point.id]) for point in points]
    best = max(range(len(points)), key=lambda i: (closed[i], shown[i], -i))
    if not shown[best]:
        return None
    if len(result.scenario.points) == 1:
        why = ""
    elif closed[best] > 0:
        why = (f"its stations were closed longest of the {len(result.scenario.points):,} points in replication 1 "
               f"({closed[best]:,.0f} station-min)")
    else:
        first = "first in the ranking of what to act on" if advice is not None else "first point"
        why = f"no station of any point was closed for lack of staff in replication 1: the {first}"
    return points[best], why


def _has_activity(timeline) -> bool:
    return timeline.sampled > 0 or timeline.closures.start_s.size > 0


def _closed_shares(timeline, window: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    """Per kind of closure, the share of each row's station-time closed in each step, within ``window``."""
    closures, edges = timeline.closures, timeline.edges
    sizes = timeline.row_stations()[:, None]
    shares = {}
    for kind in ("break", "off_duty"):
        mine = (closures.reason == "break") if kind == "break" else (closures.reason != "break")
        mine &= closures.slot < timeline.stations
        share = np.zeros((timeline.rows, timeline.steps))
        for low, high in window:
            begin = np.clip(closures.start_s[mine], low, high)
            end = np.clip(np.minimum(closures.end_s[mine], edges[-1]), low, high)
            rows = closures.slot[mine] // timeline.per_row
            for row in np.unique(rows):
                here = rows == row
                share[row] += occupancy(begin[here], end[here], edges)
        if share.any():
            shares[kind] = share / sizes
    return shares


def _row_edges(rows: int) -> np.ndarray:
    """y edges of ``rows`` bars of height 0.8 centred on 0, 1, ...: bar, gap, bar, ..."""
    return np.column_stack([np.arange(rows) - 0.4, np.arange(rows) + 0.4]).ravel()


def rota_chart(result: RunResult, path: Path, advice: Optional[Ranking] = None, chosen: Optional[str] = None) -> None:
    """One point's sampling stations over the round (replication 1): busy, idle, or closed for lack of staff.

    A row per station; per time step the shade is the share of the step spent
    serving. Closures are drawn at their exact times, hatched: a sampler's break
    (no relief free) or the station unstaffed by the rota (off duty).
    """
    point, why = rota_point(result, advice, chosen)
    timeline = result.station_timeline(point.id)
    stations, rows = timeline.stations, timeline.rows
    start_h, end_h = window_hours(result)
    height = min(14.0, max(3.8, 2.4 + 0.34 * rows))
    fig, ax = plt.subplots(figsize=(10.5, height))
    ax.set_facecolor(POINT_CLOSED)
    for begin, end in timeline.staffed:
        ax.axvspan(begin / HOUR, end / HOUR, color="white", linewidth=0, zorder=0)
    # Station 1 (the first row) at the top: row y = rows - 1 - k. Gap rows between bars stay masked.
    shares = np.full((2 * rows - 1, timeline.steps), np.nan)
    shares[::2] = timeline.busy[::-1]
    cells = np.ma.masked_where(~(shares > BUSY_FLOOR), shares)
    mesh = ax.pcolorfast(timeline.edges / HOUR, _row_edges(rows), cells, cmap=BUSY_COLOURS, vmin=0.0, vmax=1.0,
                         zorder=1)
    closures = timeline.closures
    kinds = {"break": (BREAK_COLOUR, BREAK_EDGE, "////"), "off_duty": (OFF_DUTY_COLOUR, OFF_DUTY_EDGE, "xxx")}
    # Drawn within the staffed spans only: at night the whole point is closed, whoever is on duty.
    window = [(max(a, start_h * HOUR), min(b, end_h * HOUR)) for a, b in timeline.staffed]
    if timeline.per_row == 1 and closures.start_s.size <= ROTA_EXACT_CLOSURES:
        spans: dict[tuple[int, str], list] = {}
        for slot, begin, end, reason in zip(closures.slot.tolist(), closures.start_s.tolist(), closures.end_s.tolist(),
                                            closures.reason.tolist()):
            if slot < stations:
                kind = reason if reason in kinds else "off_duty"
                spans.setdefault((slot, kind), []).extend(
                    (max(begin, a) / HOUR, (min(end, b) - max(begin, a)) / HOUR) for a, b in window if min(end, b) > max(begin, a))
        for (slot, kind), bars in spans.items():  # one collection per station and kind
            face, edge, hatch = kinds[kind]
            ax.broken_barh(bars, (rows - 1 - slot - 0.4, 0.8), facecolor=face, edgecolor=edge, hatch=hatch,
                           linewidth=0, zorder=2)
    else:
        for kind, closed_share in _closed_shares(timeline, window).items():
            closed = np.full((2 * rows - 1, timeline.steps), np.nan)
            closed[::2] = closed_share[::-1]
            ax.pcolormesh(timeline.edges / HOUR, _row_edges(rows), np.ma.masked_where(~(closed >= 0.5), closed),
                          cmap=ListedColormap([kinds[kind][0]]), shading="flat", zorder=2, rasterized=True)
    mark_hours(ax, result)
    clock_axis(ax, start_h, end_h)
    # Room below the last row for the open and close labels: about 16 points, in rows.
    ax.set_ylim(-0.4 - min(0.8, 16 / 72 * rows / max(height - 2.2, 1.0)), rows - 0.4)
    green = point.green_channel
    dedicated = green.stations if green is not None and green.channel == "dedicated" else 0
    if timeline.per_row > 1:
        ranks = sorted({0, rows - 1, *(int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(0, rows - 1)
                                       if 0 <= v < rows)})
        first = [k * timeline.per_row + 1 for k in ranks]
        ax.set_yticks([rows - 1 - k for k in ranks],
                      [f"stations {a}-{a + n - 1}" for a, n in zip(first, timeline.row_stations()[ranks])], fontsize=8)
    elif stations <= ROTA_LABELLED:
        labels = [f"station {k + 1}" + (" (green channel)" if k < dedicated else "") for k in range(stations)]
        ax.set_yticks(np.arange(stations)[::-1], labels, fontsize=8 if stations > 12 else 9)
    else:
        ranks = sorted({1, stations, *(int(v) for v in MaxNLocator(nbins=8, integer=True).tick_values(1, stations)
                                         if 1 <= v <= stations)})
        ax.set_yticks([stations - r for r in ranks], [f"station {r}" for r in ranks], fontsize=8)
    ax.tick_params(axis="y", length=0)
    step = "minute" if timeline.step_s == 60 else f"{timeline.step_s / 60:g}-minute step"
    if timeline.per_row > 1:
        step += f"; a row per {timeline.per_row} stations, averaged"
    staffed_s = stations * sum(end - begin for begin, end in timeline.staffed)
    on_break, off_duty = timeline.closed_s("break") / 60, timeline.closed_s("off_duty") / 60
    open_s = staffed_s - timeline.closed_s()
    facts = [f"{timeline.sampled:,} residents swabbed"]
    if open_s > 0:
        facts.append(f"stations busy {timeline.busy_s / open_s:.0%} of the time they were open")
    facts.append(f"closed {on_break:,.0f} station-min for breaks, {off_duty:,.0f} off duty"
                 if on_break or off_duty else "no station closed for lack of staff")
    lines = ([why[:1].upper() + why[1:] + "."] if why else []) + ["; ".join(facts)]
    if len(result.scenario.points) > 1:
        lines.append("Another point: simsampling run SCENARIO --rota-point ID (any point's stations can be drawn).")
    style_axes(ax, "", f"time of day (shade: share of each {step} serving)", "")
    ax.set_title("\n".join(lines), loc="left", fontsize=9, color="#333333")
    ax.grid(False, axis="y")
    where = "" if len(result.scenario.points) == 1 else f" at {point_label(point, 60)}"
    fig.suptitle(f"{plain(result.scenario.name)}: sampling stations{where}, replication 1",
                 x=0.01, ha="left", fontsize=12, fontweight="bold")
    bar = fig.colorbar(mesh, ax=ax, pad=0.012, fraction=0.035, aspect=25)
    bar.set_label("busy: share of the step serving", fontsize=8.5)
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    keys = [Patch(facecolor=BUSY_COLOURS(0.55), label="busy (swab, disinfection, sealing tubes)"),
            Patch(facecolor="white", edgecolor="#999999", linewidth=0.6, label="idle: staffed, no resident")]
    present = set(closures.reason.tolist())
    most = "" if timeline.per_row == 1 and closures.start_s.size <= ROTA_EXACT_CLOSURES else " (half the row or more)"
    if "break" in present:
        keys.append(Patch(facecolor=BREAK_COLOUR, edgecolor=BREAK_EDGE, hatch="////", linewidth=0,
                          label=f"closed: sampler on a break, no relief{most}"))
    if present - {"break"}:
        keys.append(Patch(facecolor=OFF_DUTY_COLOUR, edgecolor=OFF_DUTY_EDGE, hatch="xxx", linewidth=0,
                          label=f"closed: no sampler on duty{most}"))
    keys.append(Patch(facecolor=POINT_CLOSED, label="point closed"))
    fig.legend(handles=keys, loc="lower left", bbox_to_anchor=(0.01, 0.0), ncol=len(keys), fontsize=8, frameon=False,
               columnspacing=1.4, handlelength=1.8)
    save(fig, path, bottom=0.3 / height)
