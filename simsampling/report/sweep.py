"""The results folder of ``simsampling sweep``: sweep.csv, summary.json, charts of each KPI
against each factor, the base scenario and report.html. Schemas in docs/experiments.md."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..experiment.factorial import SweepResult, sweep
from .files import write_csv, write_scenario
from .folder import check_target, partial_folder, promote, results_folder
from ..labels import kpi_format, kpi_label, short_names

MAX_LINES = 10
"""With more factors, a chart draws one line per combination of the other factors up to this many;
beyond, the mean over the other factors."""

def sweep_header(result: SweepResult) -> list[str]:
    header = ["combination"] + [f.path for f in result.factors]
    for kpi in result.kpis:
        header += [f"{kpi}_mean", f"{kpi}_ci95_low", f"{kpi}_ci95_high"]
    return header + ["replications"]


def sweep_rows(result: SweepResult):
    for row in result.rows:
        cells: list[Any] = [row.index] + [row.factors[f.path] for f in result.factors]
        for kpi in result.kpis:
            leaf = row.leaf(kpi)
            low, high = leaf["ci95"] or (None, None)
            cells += [leaf["mean"], low, high]
        yield cells + [result.scenario.replications]


def sweep_to_folder(scenario, factors, out: Union[str, Path], force: bool = False, **sweep_kwargs: Any) -> SweepResult:
    """:func:`~simsampling.experiment.factorial.sweep`, resumable, into the results folder ``out``.

    Refused at once if ``out`` holds results (unless ``force``). The sweep records each finished
    combination in the folder's partial copy, so an interrupted sweep run again resumes; the
    finished folder is written there and renamed to ``out``.
    """
    out = Path(out)
    check_target(out, force)
    staging = partial_folder(out)
    result = sweep(scenario, factors, journal_folder=staging, **sweep_kwargs)
    write_sweep(result, out, staging=staging, force=force)
    return result


def write_sweep(result: SweepResult, target: Union[str, Path], staging: Optional[Path] = None, force: bool = False) -> Path:
    """Write the sweep's folder: into ``staging`` (the journal's folder), then renamed to ``target``."""
    target = Path(target)
    if staging is None:
        with results_folder(target, force=force) as temporary:
            _fill(result, temporary)
        return target
    _fill(result, staging)
    promote(staging, target, force)
    return target


def _fill(result: SweepResult, folder: Path) -> None:
    write_csv(folder / "sweep.csv", sweep_header(result), sweep_rows(result))
    text = json.dumps(result.summary, indent=2, allow_nan=False, ensure_ascii=False)
    (folder / "summary.json").write_text(text + "\n", encoding="utf-8")
    write_scenario(result.scenario, folder)
    charts = write_sweep_charts(result, folder / "charts")
    write_sweep_html(result, folder, charts)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text.replace("*", "all")).strip("-.") or "factor"


def _numeric(values: tuple) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def write_sweep_charts(result: SweepResult, folder: Path) -> list[Path]:
    """One PNG per factor, ``by_<factor>.png``: a panel per KPI, the KPI's mean (95% CI band) against the factor.

    Factors are named by their last distinct part (the full path in the title), KPIs by their labels;
    a whole-number factor has a tick at each of its values; the legend (the other factors' levels) sits
    under the panels.
    """
    import textwrap

    from matplotlib.ticker import FixedLocator, PercentFormatter

    from .chart_style import plain, plt, save, style_axes
    from .compare import colour

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    names = dict(zip((f.path for f in result.factors), short_names([f.path for f in result.factors])))
    by_values = {tuple(row.factors[f.path] for f in result.factors): row for row in result.rows}
    for position, factor in enumerate(result.factors):
        others = [f for f in result.factors if f is not factor]
        levels = list(itertools.product(*(f.values for f in others)))
        marginal = len(levels) > MAX_LINES
        numeric = _numeric(factor.values)
        xs = list(factor.values) if numeric else list(range(len(factor.values)))
        columns = min(3, len(result.kpis))
        rows = -(-len(result.kpis) // columns)
        lines = [()] if marginal else levels
        legend_rows = 0 if not others else 1 if marginal else -(-len(lines) // 3)
        height = 3.5 * rows + 1.1 + 0.25 * legend_rows
        fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, height), squeeze=False)
        handles = []
        for ax, kpi in zip(axes.flat, result.kpis):
            share = kpi_format(kpi).endswith("%}")
            for index, level in enumerate(lines):
                means, lows, highs = [], [], []
                for value in factor.values:
                    if marginal:
                        picked = [row.leaf(kpi)["mean"] for key, row in by_values.items() if key[position] == value]
                        finite = [m for m in picked if m is not None]
                        means.append(float(np.mean(finite)) if finite else np.nan)
                        lows.append(np.nan)
                        highs.append(np.nan)
                        continue
                    key = list(level)
                    key.insert(position, value)
                    leaf = by_values[tuple(key)].leaf(kpi)
                    mean = np.nan if leaf["mean"] is None else leaf["mean"]
                    low, high = leaf["ci95"] or (mean, mean)
                    means.append(mean)
                    lows.append(max(low, 0.0) if mean >= 0 else low)  # the KPIs are not negative
                    highs.append(high)
                label = ("mean over the other factors" if marginal else
                         ", ".join(f"{names[f.path]} = {v}" for f, v in zip(others, level)) or None)
                ax.fill_between(xs, lows, highs, color=colour(index), alpha=0.18, linewidth=0)
                line, = ax.plot(xs, means, color=colour(index), marker="o", markersize=5 - min(index, 2),
                                linewidth=1.6, label=plain(label) if label else None)
                if ax is axes.flat[0] and label:
                    handles.append(line)
            if numeric:
                ax.xaxis.set_major_locator(FixedLocator(xs))
                ax.set_xticks(xs, [plain(v) for v in factor.values])
            else:
                ax.set_xticks(xs, [plain(v) for v in factor.values])
            if share:
                ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            if all(not m for line in ax.get_lines() for m in line.get_ydata() if np.isfinite(m)):
                ax.set_ylim(bottom=0)  # nothing to show but zeros: no axis below them
            style_axes(ax, plain("\n".join(textwrap.wrap(kpi_label(kpi), 38))), plain(names[factor.path]), "")
            ax.title.set_fontsize(10)
        for ax in list(axes.flat)[len(result.kpis):]:
            ax.set_visible(False)
        bottom = 0.0
        if handles:
            fig.legend(handles=handles, loc="lower center", ncol=min(3, len(handles)), fontsize=8, frameon=False)
            bottom = (0.35 + 0.25 * legend_rows) / height
        title = (f"{result.scenario.name}: KPIs against {names[factor.path]} ({factor.path}); "
                 f"{result.scenario.replications} replications, seed {result.scenario.seed}; band: 95% CI")
        fig.suptitle(plain("\n".join(textwrap.wrap(title, int(17 * 4.6 * columns / 1.2)))), x=0.01, ha="left",
                     fontsize=11, fontweight="bold")
        path = folder / f"by_{_slug(factor.path)}.png"
        save(fig, path, bottom=bottom)
        written.append(path)
    return written


def write_sweep_html(result: SweepResult, folder: Path, charts: list[Path]) -> Path:
    from . import html as h

    summary = result.summary
    names = short_names([f.path for f in result.factors])
    design_rows = [[name, f.path, ", ".join(str(v) for v in f.values), len(f.values)]
                   for name, f in zip(names, result.factors)]
    sections = [h.paragraph(
        f"{len(result.rows)} combinations of {len(result.factors)} factor(s), each run with seed {result.scenario.seed} "
        f"and {result.scenario.replications} replications: common random numbers, so the same residents come in "
        "every combination and differences between rows come from the factors, not from chance draws.",
        class_="verdict")]
    sections.append(h.section("Design", h.table(["factor", "field", "values", "levels"], design_rows, numeric=(3,)),
                              id="design"))
    header = ["#"] + names
    for kpi in result.kpis:
        header += [kpi_label(kpi), "95% CI"]
    rows = []
    for row in result.rows:
        cells: list[Any] = [row.index] + [str(row.factors[f.path]) for f in result.factors]
        for kpi in result.kpis:
            leaf = row.leaf(kpi)
            fmt = kpi_format(kpi)
            mean = h.formatted(leaf["mean"], fmt)
            ci = leaf["ci95"]
            cells += [mean, f"{h.formatted(ci[0], fmt)} – {h.formatted(ci[1], fmt)}" if ci else ""]
        rows.append(cells)
    sections.append(h.section("Results", h.table(header, rows, numeric=range(len(result.factors) + 1, len(header))),
                              h.paragraph("sweep.csv has the same rows; summary.json every KPI of every combination.",
                                          class_="note"), id="results"))
    if charts:
        sections.append(h.section("Charts", *(h.figure(p, f"each KPI against {name} ({f.path})")
                                              for p, name, f in zip(charts, names, result.factors)), id="charts"))
    sections.append(h.section("Base scenario", h.yaml_file_block(folder / "scenario.yaml",
                                                                 "scenario.yaml (the factors are applied to it)"),
                              id="scenario"))
    sections.append(h.section("Provenance", h.provenance_table({
        "scenario": result.scenario.name, "file": result.file, "simsampling version": summary["simsampling_version"],
        "seed": result.scenario.seed, "replications": result.scenario.replications,
        "design hash": result.design_hash}), id="provenance"))
    page = h.page(f"Sweep: {result.scenario.name}", sections,
                  subtitle=" × ".join(f"{name} ({len(f.values)})" for name, f in zip(names, result.factors)),
                  contents=[("design", "Design"), ("results", "Results"), ("charts", "Charts"),
                            ("scenario", "Base scenario"), ("provenance", "Provenance")])
    target = folder / "report.html"
    target.write_text(page, encoding="utf-8")
    return target
