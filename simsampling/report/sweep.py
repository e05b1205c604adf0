"""The results folder of ``simsampling sweep``: sweep.csv, summary.json, charts of each KPI
against each factor, the base scenario and report.html. Schemas in docs/experiments.md."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..experiment.factorial import SweepResult
from .files import scenario_text, write_csv
from .folder import promote, results_folder

MAX_LINES = 10
"""With more factors, a chart draws one line per combination of the other factors up to this many;
beyond, the mean over the other factors."""

LABELS = {
    "finish_h": "last sample (h from opening)",
    "sampled_by_deadline_share": "share sampled by the deadline",
    "wait_min.total.p90": "wait p90, all stages (min)",
    "utilization.swab": "swab utilisation",
    "staff_hours": "staff-hours",
    "waiting_over_capacity_person_min": "person-min outside the waiting area",
}


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
    (folder / "scenario.yaml").write_text(scenario_text(result.scenario), encoding="utf-8")
    charts = write_sweep_charts(result, folder / "charts")
    write_sweep_html(result, folder, charts)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text.replace("*", "all")).strip("-.") or "factor"


def _numeric(values: tuple) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def write_sweep_charts(result: SweepResult, folder: Path) -> list[Path]:
    """One PNG per factor, ``by_<factor>.png``: a panel per KPI, the KPI's mean (95% CI band) against the factor."""
    from .charts import _save, _style, plain, plt
    from .compare import colour

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    by_values = {tuple(row.factors[f.path] for f in result.factors): row for row in result.rows}
    for position, factor in enumerate(result.factors):
        others = [f for f in result.factors if f is not factor]
        levels = list(itertools.product(*(f.values for f in others)))
        marginal = len(levels) > MAX_LINES
        xs = list(factor.values) if _numeric(factor.values) else list(range(len(factor.values)))
        columns = min(3, len(result.kpis))
        rows = -(-len(result.kpis) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.5 * rows + 0.8), squeeze=False)
        for ax, kpi in zip(axes.flat, result.kpis):
            lines = [()] if marginal else levels
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
                    lows.append(low)
                    highs.append(high)
                label = ("mean over the other factors" if marginal else
                         ", ".join(f"{f.path}={v}" for f, v in zip(others, level)) or None)
                ax.fill_between(xs, lows, highs, color=colour(index), alpha=0.18, linewidth=0)
                ax.plot(xs, means, color=colour(index), marker="o", linewidth=1.6, label=plain(label) if label else None)
            if not _numeric(factor.values):
                ax.set_xticks(xs, [plain(v) for v in factor.values])
            _style(ax, plain(LABELS.get(kpi, kpi)), plain(factor.path), plain(kpi))
            if others and ax is axes.flat[0]:
                ax.legend(fontsize=7, frameon=False)
        for ax in list(axes.flat)[len(result.kpis):]:
            ax.set_visible(False)
        fig.suptitle(plain(f"{result.scenario.name}: KPIs against {factor.path} ({result.scenario.replications} "
                           f"replications, seed {result.scenario.seed}; band: 95% CI)"),
                     x=0.01, ha="left", fontsize=11, fontweight="bold")
        path = folder / f"by_{_slug(factor.path)}.png"
        _save(fig, path)
        written.append(path)
    return written


def write_sweep_html(result: SweepResult, folder: Path, charts: list[Path]) -> Path:
    from . import html as h

    summary = result.summary
    design_rows = [[f.path, ", ".join(str(v) for v in f.values), len(f.values)] for f in result.factors]
    sections = [h.paragraph(
        f"{len(result.rows)} combinations of {len(result.factors)} factor(s), each run with seed {result.scenario.seed} "
        f"and {result.scenario.replications} replications: common random numbers, so the same residents come in "
        "every combination and differences between rows come from the factors, not from chance draws.",
        class_="verdict")]
    sections.append(h.section("Design", h.table(["field", "values", "levels"], design_rows, numeric=(2,)), id="design"))
    header = ["#"] + [f.path for f in result.factors]
    for kpi in result.kpis:
        header += [LABELS.get(kpi, kpi), "95% CI"]
    rows = []
    for row in result.rows:
        cells: list[Any] = [row.index] + [str(row.factors[f.path]) for f in result.factors]
        for kpi in result.kpis:
            leaf = row.leaf(kpi)
            fmt = "{:.1%}" if kpi.endswith("share") or kpi.startswith("utilization") else "{:,.2f}"
            mean = h.formatted(leaf["mean"], fmt)
            ci = leaf["ci95"]
            cells += [mean, f"{h.formatted(ci[0], fmt)} – {h.formatted(ci[1], fmt)}" if ci else ""]
        rows.append(cells)
    sections.append(h.section("Results", h.table(header, rows, numeric=range(len(result.factors) + 1, len(header))),
                              h.paragraph("sweep.csv has the same rows; summary.json every KPI of every combination.",
                                          class_="note"), id="results"))
    if charts:
        sections.append(h.section("Charts", *(h.figure(p, f"each KPI against {f.path}")
                                              for p, f in zip(charts, result.factors)), id="charts"))
    text = scenario_text(result.scenario)
    sections.append(h.section("Base scenario", h.code_block(text, summary="scenario.yaml (the factors are applied to it)"),
                              id="scenario"))
    sections.append(h.section("Provenance", h.provenance_table({
        "scenario": result.scenario.name, "file": result.file, "simsampling version": summary["simsampling_version"],
        "seed": result.scenario.seed, "replications": result.scenario.replications,
        "design hash": result.design_hash}), id="provenance"))
    page = h.page(f"Sweep: {result.scenario.name}", sections,
                  subtitle=" × ".join(f"{f.path} ({len(f.values)})" for f in result.factors),
                  contents=[("design", "Design"), ("results", "Results"), ("charts", "Charts"),
                            ("scenario", "Base scenario"), ("provenance", "Provenance")])
    target = folder / "report.html"
    target.write_text(page, encoding="utf-8")
    return target
