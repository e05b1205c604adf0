"""Charts of a run (matplotlib, written as PNG): made to be looked at, not read.

Every chart shows the mean over replications and, where it varies, the range
across replications (band) or the 95% confidence interval (error bars).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter  # noqa: E402

from ..experiment import RunResult  # noqa: E402
from ..metrics import HOUR, WAIT_BINS, estimate  # noqa: E402
from .files import active_window  # noqa: E402

STAGE_COLOURS = {"temperature": "#e07b39", "registration": "#3a7ebf", "swab": "#2a9d8f"}
STAGE_LABELS = {"temperature": "Temperature check", "registration": "Registration", "swab": "Swab"}
MAIN = "#264653"
DPI = 130


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
    ax.xaxis.set_major_locator(MultipleLocator(1 if span <= 12 else 2 if span <= 26 else 6))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda h, _: hour_label(h) if h >= 0 else ""))


def hour_label(hours: float) -> str:
    """"HH:00" on the first day, "d2 HH:00" on later ones."""
    day, hour = divmod(int(round(hours)), 24)
    return f"{hour:02d}:00" if day == 0 else f"d{day + 1} {hour:02d}:00"


def _open_close(ax, result: RunResult, deadline: bool = False) -> None:
    marks = [(when, label) for open_s, close_s in result.scenario.hours for when, label in ((open_s, "open"), (close_s, "close"))]
    for seconds, label in marks:
        ax.axvline(seconds / 3600, color="#888888", linestyle=":", linewidth=1)
        ax.annotate(label, (seconds / 3600, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 4),
                    textcoords="offset points", fontsize=8, color="#666666")
    if deadline:
        when = result.scenario.deadline_s / 3600
        ax.axvline(when, color="#c1121f", linestyle="--", linewidth=1.4)
        ax.annotate("deadline", (when, 0.5), xycoords=("data", "axes fraction"), xytext=(-4, 0), rotation=90,
                    textcoords="offset points", fontsize=8, color="#c1121f", ha="right", va="center")


def _window_hours(result: RunResult) -> tuple[float, float]:
    start, end = active_window(result.run_bands)
    hours = result.scenario.hours
    start_h = min(start * result.step_s / HOUR, hours[0][0] / HOUR)
    end_h = max(end * result.step_s / HOUR, hours[-1][1] / HOUR, result.scenario.deadline_s / HOUR)
    return np.floor(start_h), np.ceil(end_h)


def _steps_axis(result: RunResult, length: int) -> np.ndarray:
    """Hours since midnight of day 0 at the end of each step of a series."""
    return np.arange(1, length + 1) * result.step_s / HOUR


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
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    done = result.summary["kpis"]
    total = done["sampled_total"]["mean"]
    share = total / population if population else float("nan")
    finish = result.scenario.hours[0][0] / 3600 + done["finish_h"]["mean"]
    by_deadline = done["sampled_by_deadline_share"]["mean"]
    ax.annotate(f"{total:,.0f} sampled ({share:.0%} of population), {by_deadline:.0%} by the deadline\n"
                f"last sample at {hour_label(np.floor(finish))[:-2]}{int(finish % 1 * 60):02d} on average",
                xy=(0.02, 0.97), xycoords="axes fraction", va="top", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "#cccccc"})
    _style(ax, f"{result.scenario.name}: residents sampled over the day ({result.replications} replications)",
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
    _style(ax, f"{result.scenario.name}: throughput per hour", "time of day", "residents sampled per hour")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    _save(fig, path)


def queue_chart(result: RunResult, path: Path) -> None:
    """Line length at each stage over the day: mean and range across replications."""
    stages = list(result.run_bands.queue)
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
        _style(ax, f"{STAGE_LABELS[stage]}: people waiting (peak {peak:.0f} on average)", "", "people in line")
        _open_close(ax, result)
        _clock_axis(ax, start_h, end_h)
        ax.set_ylim(bottom=0)
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    axes[-1, 0].set_xlabel("time of day (per-minute averages)")
    fig.suptitle(f"{result.scenario.name}: queue length per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
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
    fig.suptitle(f"{result.scenario.name}: waiting time per stage", x=0.01, ha="left", fontsize=12, fontweight="bold")
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
    _style(ax, f"{result.scenario.name}: server utilisation (opening to closing or last swab)", "share of staffed time serving", "")
    _save(fig, path)


CHARTS = {
    "cumulative.png": cumulative_chart,
    "throughput.png": throughput_chart,
    "queues.png": queue_chart,
    "waits.png": wait_chart,
    "utilization.png": utilization_chart,
}


def write_charts(result: RunResult, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in CHARTS.items():
        draw(result, folder / name)
        written.append(folder / name)
    return written


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
