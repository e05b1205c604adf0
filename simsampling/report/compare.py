"""The results folder of ``simsampling compare``: compare.csv, summary.json, overlaid charts,
each scenario's own results folder and report.html. Schemas in docs/experiments.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..experiment.compare import MAIN_KPIS, Comparison, folder_name
from ..labels import counted
from ..metrics import HOUR
from .files import active_window, write_csv
from .folder import results_folder

COLOURS = ["#264653", "#e76f51", "#2a9d8f", "#8338ec", "#e9c46a", "#3a86ff", "#6d597a", "#ff006e"]


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]


def compare_header(comparison: Comparison) -> list[str]:
    base = comparison.labels[0]
    header = ["kpi"]
    for label in comparison.labels:
        header += [f"{label}_mean", f"{label}_ci95_low", f"{label}_ci95_high", f"{label}_n"]
    for label in comparison.labels[1:]:
        d = f"{label}_minus_{base}"
        header += [d, f"{d}_ci95_low", f"{d}_ci95_high", f"{d}_n", f"{d}_relative", f"{d}_significant"]
    return header


def compare_rows(comparison: Comparison):
    base = comparison.labels[0]
    for key, row in comparison.table.items():
        cells: list[Any] = [key]
        for label in comparison.labels:
            leaf = row[label] or {"mean": None, "ci95": None, "n": 0}
            low, high = leaf["ci95"] or (None, None)
            cells += [leaf["mean"], low, high, leaf["n"]]
        for label in comparison.labels[1:]:
            diff = row["differences"][f"{label}-{base}"] or {"mean": None, "ci95": None, "n": 0, "relative": None,
                                                             "significant": None}
            low, high = diff["ci95"] or (None, None)
            cells += [diff["mean"], low, high, diff["n"], diff["relative"], diff["significant"]]
        yield cells


def write_comparison(comparison: Comparison, target: Union[str, Path], force: bool = False,
                     provenance: Optional[dict[str, Any]] = None) -> Path:
    """Write the comparison's folder, whole or not at all."""
    from . import charts, write_results  # noqa: F401  (matplotlib imported once, here: each run's forked drawer inherits it)

    target = Path(target)
    with results_folder(target, force=force) as staging:
        write_csv(staging / "compare.csv", compare_header(comparison), compare_rows(comparison))
        text = json.dumps(comparison.summary, indent=2, allow_nan=False, ensure_ascii=False)
        (staging / "summary.json").write_text(text + "\n", encoding="utf-8")
        for label, result in zip(comparison.labels, comparison.results):
            write_results(result, staging / folder_name(label, result), provenance=provenance)
        charts = write_compare_charts(comparison, staging / "charts")
        write_compare_html(comparison, staging, charts, provenance)
    return target


# ---------------------------------------------------------------- charts


def _window(comparison: Comparison) -> tuple[float, float]:
    starts, ends = [], []
    for result in comparison.results:
        start, end = active_window(result.run_bands)
        hours = result.scenario.hours
        starts.append(min(start * result.step_s, hours[0][0]) / HOUR)
        ends.append(max(end * result.step_s, hours[0][1], result.scenario.deadline_s) / HOUR)
    return float(np.floor(min(starts))), float(np.ceil(max(ends)))


def _name(comparison: Comparison, index: int) -> str:
    from .chart_style import plain

    return plain(f"{comparison.labels[index]}: {comparison.results[index].scenario.name}")


def _deadlines(ax, comparison: Comparison) -> None:
    """The deadline; when the scenarios' deadlines differ, each in its scenario's colour."""
    deadlines = [r.scenario.deadline_s for r in comparison.results]
    same = len(set(deadlines)) == 1
    for index, seconds in enumerate(deadlines[:1] if same else deadlines):
        tint = "#c1121f" if same else colour(index)
        text = "deadline" if same else f"deadline {comparison.labels[index]}"
        ax.axvline(seconds / HOUR, color=tint, linestyle="--", linewidth=1.3)
        ax.annotate(text, (seconds / HOUR, 0.5), xycoords=("data", "axes fraction"), xytext=(-4, 0), rotation=90,
                    textcoords="offset points", fontsize=8, color=tint, ha="right", va="center", annotation_clip=True)


def _overlay_bands(ax, comparison: Comparison, series: str, linewidth: float) -> None:
    """Each scenario's run band of ``series`` (a SeriesBands field): its mean as a line, its range shaded."""
    for i, result in enumerate(comparison.results):
        band = getattr(result.run_bands, series)
        hours = np.arange(1, band.mean.size + 1) * result.step_s / HOUR
        ax.fill_between(hours, band.low, band.high, color=colour(i), alpha=0.18, linewidth=0)
        ax.plot(hours, band.mean, color=colour(i), linewidth=linewidth, label=_name(comparison, i))

def write_compare_charts(comparison: Comparison, folder: Path) -> list[Path]:
    from .chart_style import clock_axis, plt, save, style_axes, thousands
    from .charts import hourly_rates

    folder.mkdir(parents=True, exist_ok=True)
    start_h, end_h = _window(comparison)
    reps = f"\n{counted(comparison.replications, 'replication')}, seed {comparison.seed}, common random numbers"
    ranged = comparison.replications > 1  # one replication has no range to shade
    written = []

    fig, ax = plt.subplots(figsize=(9, 5))
    populations = set()
    _overlay_bands(ax, comparison, "sampled", linewidth=2)
    for result in comparison.results:
        populations.add(sum(p.population for p in result.scenario.points))
    for population in populations:
        ax.axhline(population, color="#888888", linewidth=1, linestyle=":")
    _deadlines(ax, comparison)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(0, max(populations) * 1.08 if max(populations) else None)
    thousands(ax)
    style_axes(ax, f"Residents sampled over the round{reps}", "time of day",
           "residents sampled (cumulative" + "; band: range across replications" * ranged + ")")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    save(fig, folder / "cumulative.png")
    written.append(folder / "cumulative.png")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    _overlay_bands(ax, comparison, "queue_total", linewidth=1.6)
    _deadlines(ax, comparison)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(bottom=0)
    thousands(ax)
    style_axes(ax, f"People waiting, all stages and points together{reps}", "time of day",
           "people waiting" + " (band: range across replications)" * ranged)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    save(fig, folder / "queues.png")
    written.append(folder / "queues.png")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for i, result in enumerate(comparison.results):
        centres, _, leaves = hourly_rates(result.run_bands)
        mean = np.array([leaf["mean"] for leaf in leaves], dtype=float)
        low = np.array([leaf["ci95"][0] if leaf["ci95"] else leaf["mean"] for leaf in leaves], dtype=float)
        high = np.array([leaf["ci95"][1] if leaf["ci95"] else leaf["mean"] for leaf in leaves], dtype=float)
        ax.fill_between(centres, low, high, color=colour(i), alpha=0.18, linewidth=0, step="mid")
        ax.step(centres, mean, where="mid", color=colour(i), linewidth=1.6, label=_name(comparison, i))
    _deadlines(ax, comparison)
    clock_axis(ax, start_h, end_h)
    ax.set_ylim(bottom=0)
    thousands(ax)
    style_axes(ax, f"Residents sampled per clock hour{reps}", "time of day", "sampled per hour (band: 95% CI)")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    save(fig, folder / "throughput.png")
    written.append(folder / "throughput.png")
    return written


# ---------------------------------------------------------------- report.html


def headline_rows(comparison: Comparison) -> list[tuple[str, str, str]]:
    """The (KPI, label, format) of ``MAIN_KPIS`` this comparison has (a KPI all scenarios lack is left out)."""
    return [(key, label, fmt) for key, label, fmt in MAIN_KPIS if key in comparison.table
            and any(comparison.table[key][lbl] and comparison.table[key][lbl]["mean"] is not None
                    for lbl in comparison.labels)]


def fmt_leaf(leaf: Optional[dict[str, Any]], fmt: str) -> tuple[str, str]:
    from .html import formatted

    if not leaf:
        return "n/a", ""
    ci = leaf.get("ci95")
    return formatted(leaf.get("mean"), fmt), (f"{formatted(ci[0], fmt)} – {formatted(ci[1], fmt)}" if ci else "")


def fmt_diff(diff: Optional[dict[str, Any]], fmt: str) -> tuple[str, str, str]:
    """Difference, its paired CI and a verdict ("yes"/"no"/"n/a")."""
    from .html import formatted

    if not diff or diff.get("mean") is None:
        return "n/a", "", "n/a"
    signed = fmt.replace("{:", "{:+", 1)
    ci = diff.get("ci95")
    significant = {True: "yes", False: "no", None: "n/a"}[diff.get("significant")]
    return (formatted(diff["mean"], signed), f"{formatted(ci[0], signed)} – {formatted(ci[1], signed)}" if ci else "",
            significant)


def write_compare_html(comparison: Comparison, folder: Path, charts: list[Path],
                       provenance: Optional[dict[str, Any]] = None) -> Path:
    from . import html as h

    base = comparison.labels[0]
    scenarios_rows = []
    for label, result, file in zip(comparison.labels, comparison.results, comparison.files):
        sub = folder_name(label, result)
        scenarios_rows.append([label, result.scenario.name, file or "(from Python)",
                               f"{len(result.scenario.points):,}",
                               f"{sum(p.population for p in result.scenario.points):,}", f"{result.stations:,}",
                               h.tag("a", f"{sub}/report.html", href=f"{sub}/report.html")])
    sections = [h.paragraph(" ".join(comparison.notes), class_="verdict")]
    sections.append(h.section("Scenarios", h.table(["", "scenario", "file", "points", "residents", "stations",
                                                    "its own results"], scenarios_rows, numeric=(3, 4, 5)),
                              id="scenarios"))
    header = ["KPI"]
    for label in comparison.labels:
        header += [f"{label} mean", f"{label} 95% CI"]
    for label in comparison.labels[1:]:
        header += [f"{label}−{base}", "paired 95% CI", "significant"]
    rows = []
    for key, label, fmt in headline_rows(comparison):
        row = comparison.table[key]
        cells: list[Any] = [label]
        for lbl in comparison.labels:
            cells += list(fmt_leaf(row[lbl], fmt))
        for lbl in comparison.labels[1:]:
            cells += list(fmt_diff(row["differences"][f"{lbl}-{base}"], fmt))
        rows.append(cells)
    numeric = [i for i in range(1, len(header)) if not header[i] == "significant"]
    sections.append(h.section(
        "Key figures", h.table(header, rows, numeric=numeric, row_headers=True, class_="kpis"),
        h.paragraph(f"Means over {counted(comparison.replications, 'replication')} with their 95% confidence intervals; "
                    f"each difference is the mean over replications of (scenario − {base}) in the same replication, "
                    "with a paired 95% t-interval. Significant: the interval excludes 0. compare.csv and "
                    "summary.json hold every KPI.", class_="note"),
        id="kpis"))
    if charts:
        band = " (band: range across replications)" * (comparison.replications > 1)
        captions = {"cumulative.png": f"Residents sampled over the round, one line per scenario{band}, with the deadline.",
                    "queues.png": f"People waiting at all stages and points together{band}.",
                    "throughput.png": "Residents sampled per clock hour (band: 95% CI)."}
        sections.append(h.section("Charts", *(h.figure(p, captions.get(p.name, p.stem)) for p in charts), id="charts"))
    rows_prov = {"simsampling version": comparison.summary["simsampling_version"], "seed": comparison.seed,
                 "replications": comparison.replications, "common random numbers": "yes",
                 "run time": f"{comparison.elapsed_s:,.1f} s", **(provenance or {})}
    sections.append(h.section("Provenance", h.provenance_table(rows_prov), id="provenance"))
    names = " vs ".join(r.scenario.name for r in comparison.results)
    page = h.page(f"Comparison: {names}", sections,
                  subtitle=f"{len(comparison.results)} scenarios, {comparison.replications} replications, "
                           f"seed {comparison.seed} (common random numbers)",
                  contents=[("scenarios", "Scenarios"), ("kpis", "Key figures"), ("charts", "Charts"),
                            ("provenance", "Provenance")],
                  footer="Written by simsampling. Each scenario's own results folder, with its report.html, "
                         "is beside this page.")
    target = folder / "report.html"
    target.write_text(page, encoding="utf-8")
    return target
