"""The results folder of ``simsampling optimise``: search.csv, answer.csv, summary.json,
optimised.yaml, charts/search.png and report.html (see docs/experiments.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Union

from ..advice.levers import knob_named
from ..experiment.optimise import Evaluation, OptimiseResult
from . import html as h
from .chart_style import plt, save
from .files import write_csv, write_scenario
from .folder import results_folder

CHART_POINTS = 12
"""Stations mode: the search chart draws this many points (the ones with the most evaluations)."""

def answer_header(result: OptimiseResult) -> list[str]:
    """answer.csv's columns, with the servers before and after of each staffed knob but stations."""
    return ["point", "population", "stations_before", "start", "stations", "status", "evaluations",
            "verify_seed", "verify_successes", "verify_replications", "verify_success_lower_bound",
            "verify_passed", "verify_finish_h_mean", "verify_wait_p90_min_mean",
            *(f"{name}_{when}" for name in result.other_knobs for when in ("servers_before", "servers")),
            "calls_shortened_h", "verify_staff_hours_mean"]


def answer_rows(result: OptimiseResult) -> list[list[Any]]:
    rows = []
    for p in result.summary()["points"]:
        v = p["verification"] or {}
        status = "allocated" if result.mode == "allocation" else "found"
        knobs = [p[key].get(name) for name in result.other_knobs for key in ("servers_before", "servers")]
        rows.append([p["id"], p["population"], p["stations_before"], p["start"], p["stations"], status,
                     p["evaluations"], result.verify_seed, v.get("successes"), v.get("replications"),
                     v.get("success_lower_bound"), v.get("passed"), v.get("finish_h_mean"), v.get("wait_p90_min_mean"),
                     *knobs, p["calls_shortened_h"], v.get("staff_hours_mean")])
    return rows


def search_chart(result: OptimiseResult, path: Path) -> Path:
    """Stations mode: the staff-hours of each staffing tried against its worst p90 wait and finish, per point
    (filled: passed; ringed: the answer); allocation: the latest point's finish time by step."""
    if result.mode == "allocation":
        fig, ax = plt.subplots(figsize=(8, 4.5))
        steps = result.allocation_steps
        ax.step([s["stations"] for s in steps], [s["finish_h"] for s in steps], where="post", color="#264653")
        ax.set_xlabel("stations allocated in the district")
        ax.set_ylabel("latest point's mean finish (h from opening)")
        ax.set_title(f"Greedy allocation of {result.total} stations")
        ax.grid(alpha=0.3)
    else:
        searched: dict[str, list[Evaluation]] = {}
        for e in result.evaluations:
            searched.setdefault(e.point_id, []).append(e)
        shown = sorted(searched, key=lambda pid: -len(searched[pid]))[:CHART_POINTS]
        answers = {e.point_id: e for e in result.verification}
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.5, 7.5), sharex=True)
        c = result.constraints
        for index, pid in enumerate(shown):
            colour = plt.cm.tab10(index % 10)
            evals = searched[pid]
            answer = answers.get(pid)
            chosen = [e for e in evals if answer is not None and e.values == answer.values
                      and e.calls_shortened_h == answer.calls_shortened_h]
            for ax, value in ((top, lambda e: e.wait_p90_max), (bottom, lambda e: e.finish_h_max)):
                for e in evals:
                    if value(e) is not None and e.staff_hours_mean is not None:
                        ax.scatter([e.staff_hours_mean], [value(e)], color=colour,
                                   facecolors=colour if e.passed else "white", zorder=3, s=30)
                        if ax is top and len(shown) <= 3:
                            ax.annotate("·".join(str(int(v)) for v in e.values.values())
                                        + (f" −{e.calls_shortened_h:g}h" if e.calls_shortened_h else ""),
                                        (e.staff_hours_mean, value(e)), xytext=(5, 4), textcoords="offset points",
                                        fontsize=7, color=colour)
                ax.scatter([], [], color=colour, label=str(pid))
                for e in chosen[:1]:
                    if value(e) is not None and e.staff_hours_mean is not None:
                        ax.scatter([e.staff_hours_mean], [value(e)], s=160, facecolors="none", edgecolors=colour,
                                   linewidths=1.8, zorder=4)
                        if ax is top:
                            ax.annotate(e.describe(), (e.staff_hours_mean, value(e)), xytext=(-10, 10), fontsize=7.5,
                                        textcoords="offset points", color=colour, ha="right")
        if c.max_p90_wait_min is not None:
            top.axhline(c.max_p90_wait_min, color="#c1121f", linestyle="--", label="limit")
        if c.deadline_h is not None:
            bottom.axhline(c.deadline_h, color="#c1121f", linestyle="--", label="deadline")
        top.set_ylabel("p90 total wait, worst replication (min)")
        bottom.set_ylabel("last sample, worst replication (h)")
        bottom.set_xlabel("staff-hours of the staffing tried (mean over replications; filled: passed the criterion)")
        first = result.evaluations[0].values if result.evaluations else {}
        order = " · ".join(knob_named(name).units for name in first)
        top.set_title("Search: every staffing tried (common random numbers); ringed: the answer"
                      + (f"\nlabels: {order}" + (" (−h: calling plan shortened)" if any(e.calls_shortened_h for e in
                                                                                        result.evaluations) else "")
                         if len(shown) <= 3 else ""), fontsize=10)
        top.legend(fontsize=8, ncol=2)
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(fig, path)
    return path


def render_html(result: OptimiseResult, summary: dict[str, Any], chart: Path, folder: Path) -> str:
    if result.mode == "stations":
        verdict = ("The answer passed again with a fresh seed." if result.verified
                   else "The answer did NOT pass every point again with a fresh seed: see the verification table.")
        searched = ", ".join(["stations with their staff", *(knob_named(name).units for name in result.other_knobs)])
        intro = [h.paragraph(f"Least staff-hours per point ({searched}) such that {result.constraints.describe()}."),
                 h.paragraph(f"{summary['stations_before']} stations before, {summary['stations_after']} after; "
                             f"{summary['staff_hours_scheduled_before']:,.0f} staff-hours scheduled before, "
                             f"{summary['staff_hours_scheduled_after']:,.0f} after. {verdict}")]
    else:
        last = result.allocation_steps[-1]
        intro = [h.paragraph(f"{result.total} stations shared out greedily so that the latest point finishes "
                             f"earliest; the latest point ({last['latest_point']}) finishes at "
                             f"{last['finish_h']:.2f} h (mean, search seed).")]
    rows = answer_rows(result)
    header = answer_header(result)
    shown = [header.index(c) for c in header[:7] + header[14:-1] + ["verify_passed"]]
    answer = h.table([header[i] for i in shown], [[r[i] for i in shown] for r in rows],
                     numeric=[k for k, i in enumerate(shown) if i not in (0, 5, 11)])
    search_header = Evaluation.csv_header(result.other_knobs)
    search = h.table(search_header,
                     [[h.formatted(v, "{:,.3f}") if isinstance(v, float) else v for v in e.row(result.other_knobs)]
                      for e in result.evaluations + result.verification],
                     numeric=[i for i, name in enumerate(search_header) if i >= 3 and name not in ("passed", "broken")])
    provenance = {"scenario": result.scenario.name, "file": result.file or "(from Python)",
                  "seed (search)": result.scenario.seed,
                  "seed (verification)": result.verify_seed, "replications per evaluation": result.replications,
                  "evaluations": summary["evaluations"], "run time": f"{result.elapsed_s:,.1f} s"}
    sections = [
        h.section("Answer", *intro, answer, id="answer"),
        h.section("Search", h.figure(chart, "every evaluation of the search"), search, id="search"),
        h.section("Optimised scenario", h.yaml_file_block(folder / "optimised.yaml", "optimised.yaml"),
                  id="scenario"),
        h.section("Provenance", h.provenance_table(provenance), id="provenance"),
    ]
    return h.page(f"{result.scenario.name}: optimise ({result.mode})", sections,
                  contents=[("answer", "Answer"), ("search", "Search"), ("scenario", "Optimised scenario"),
                            ("provenance", "Provenance")])


def write_optimise(result: OptimiseResult, target: Union[str, Path], force: bool = False) -> Path:
    target = Path(target)
    with results_folder(target, force=force) as staging:
        summary = result.summary()
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False, ensure_ascii=False) + "\n",
                                              encoding="utf-8")
        write_csv(staging / "search.csv", Evaluation.csv_header(result.other_knobs),
                  [e.row(result.other_knobs) for e in result.evaluations + result.verification])
        write_csv(staging / "answer.csv", answer_header(result), answer_rows(result))
        write_scenario(result.optimised, staging, "optimised")
        chart = search_chart(result, staging / "charts" / "search.png")
        (staging / "report.html").write_text(render_html(result, summary, chart, staging), encoding="utf-8")
    return target
