"""The impact view on disk: advice.json, advice.csv, moves.csv, the impact charts and report.html
(``simsampling advise``), or the same files and a section of a run's report.html (``run --advise``).
Schemas in docs/outputs.md."""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any, Optional, Union

from .. import __version__
from ..advice.impact import Effect, Impact
from ..advice.moves import town_label, town_of
from ..advice.targets import IMPACT_KPIS, NAMES, UNITS
from ..advice.words import signed, status_sentence
from . import html as h
from .files import write_csv, write_scenario
from .folder import results_folder

BOTTLENECK = "#c1121f"
VERDICT_COLOURS = {"helps": "#2a9d8f", "saves": "#3a7ebf", "neutral": "#9aa5b1", "harms": "#e9a23b"}
VERDICT_WORDS = {"helps": "helps", "saves": "saves staff within the targets", "neutral": "neutral",
                 "harms": "breaks a target", "not_applicable": "does not apply"}
TOP_POINT_ACTIONS = 15
"""District: the per-point chart shows this many of the best actions."""
CHART_KPIS = ("wait_min.total.p90", "finish_h", "queue_max.total", "staff_hours")


# ---------------------------------------------------------------- tables

def advice_header() -> list[str]:
    header = ["rank", "scope", "point", "town", "lever", "label", "stage", "applicable", "verdict", "change",
              "before", "after", "score", "free"]
    for key in IMPACT_KPIS:
        header += [f"{key}_baseline", f"{key}_variant", f"{key}_delta", f"{key}_delta_ci95_low",
                   f"{key}_delta_ci95_high", f"{key}_delta_significant"]
    return header + ["sentence"]


def advice_rows(impact: Impact):
    towns = {p.id: town_of(p) for p in impact.scenario.points}
    for effect in impact.effects:
        record = effect.as_dict()
        cells: list[Any] = [effect.rank, "point" if effect.point_id is not None else "district", effect.point_id,
                            towns.get(effect.point_id, ""), effect.lever.name, effect.lever.label, effect.lever.stage,
                            effect.applies, effect.verdict, record["change"], record["before"], record["after"],
                            record["score"], record["free"]]
        for key in IMPACT_KPIS:
            base = (effect.baseline.get(key) or {}).get("mean")
            after = (effect.after.get(key) or {}).get("mean")
            delta = effect.deltas.get(key) or {}
            low, high = delta.get("ci95") or (None, None)
            cells += [base, after, delta.get("mean"), low, high, delta.get("significant")]
        yield cells + [effect.sentence]


MOVES_HEADER = ["town", "from", "to", "rank_by", "to_delta", "to_delta_ci95_low", "to_delta_ci95_high",
                "from_delta", "from_delta_ci95_low", "from_delta_ci95_high", "staff_hours_change", "sentence"]


def moves_rows(impact: Impact):
    key = impact.rank_by
    for move in impact.moves:
        take, give = move.take.deltas[key], move.give.deltas[key]
        yield [move.town, move.donor, move.recipient, key, take["mean"], *(take["ci95"] or (None, None)),
               give["mean"], *(give["ci95"] or (None, None)), move.staff_hours, move.sentence]


# ---------------------------------------------------------------- charts

def on_bottleneck(effect: Effect, impact: Impact) -> Optional[str]:
    """The bottleneck stage the effect's lever acts on at its point (None: it does not, or no bottleneck)."""
    if effect.point_id is None:
        stages = [impact.bottlenecks[p.id][0] for p in impact.scenario.points if p.id in impact.missing]
        stage = max(set(stages) - {None}, key=stages.count, default=None)
        points = impact.scenario.points
    else:
        stage = impact.bottlenecks.get(effect.point_id, (None, 0.0))[0]
        points = [_point(impact, effect.point_id)]
    return stage if stage is not None and any(stage in effect.lever.knob.serves(p) for p in points) else None


def _point(impact: Impact, point_id: str):
    return next(p for p in impact.scenario.points if p.id == point_id)


def _row_label(effect: Effect, impact: Impact, with_point: bool) -> str:
    from .chart_style import plain

    change = effect.change
    what = (f"{change.lever.knob.show(change.before)} → {change.lever.knob.show(change.after)}"
            if change is not None and change.applies else "at every point")
    head = f"{effect.point_id}: " if with_point else ""
    return plain(f"{head}{effect.lever.label}\n{what} · {VERDICT_WORDS[effect.verdict]}")


def _tornado(effects: list[Effect], impact: Impact, path: Path, title: str, kpis=CHART_KPIS,
             with_point: bool = False) -> Path:
    """One row per effect (best first, top row), one panel per KPI: the paired mean change and its 95% CI."""
    from matplotlib.patches import Patch

    from .chart_style import plain, plt, save, style_axes

    rows = len(effects)
    width = 3.1 * len(kpis) + 3.2
    fig, axes = plt.subplots(1, len(kpis), figsize=(width, 0.62 * rows + 2.3), sharey=True, squeeze=False)
    ys = list(range(rows))[::-1]
    used: set[str] = set()
    for ax, key in zip(axes[0], kpis):
        for y, effect in zip(ys, effects):
            leaf = effect.deltas.get(key) or {}
            mean = leaf.get("mean")
            if mean is None:
                continue
            ci = leaf.get("ci95")
            colour = VERDICT_COLOURS.get(effect.verdict, "#9aa5b1")
            used.add(colour)
            red = on_bottleneck(effect, impact) is not None and abs(mean) > 1e-9
            ax.barh(y, mean, color=colour, height=0.62, alpha=0.9, edgecolor=BOTTLENECK if red else colour,
                    linewidth=2.2 if red else 0)
            if ci:
                ax.errorbar(mean, y, xerr=[[mean - ci[0]], [ci[1] - mean]], fmt="none", ecolor="#1f2933",
                            elinewidth=1.2, capsize=3)
            end = ci[1] if ci and mean >= 0 else ci[0] if ci else mean
            ax.annotate(signed(key, mean), (end, y), xytext=(4 if mean >= 0 else -4, 0), textcoords="offset points",
                        ha="left" if mean >= 0 else "right", va="center", fontsize=7.5, color="#1f2933")
        ax.axvline(0, color="#1f2933", linewidth=0.8)
        unit = "" if UNITS[key] == NAMES[key] else f" ({UNITS[key]})"
        style_axes(ax, f"{NAMES[key]}{unit}", "change (bar: mean; whisker: paired 95% CI)", "")
        ax.title.set_fontsize(10)
        ax.xaxis.label.set_fontsize(8)
        ax.tick_params(axis="x", labelsize=8)
        ax.margins(x=0.18)
        limit = impact.targets.limits().get(key)
        base = (effects[0].baseline.get(key) or {}).get("mean") if effects else None
        if limit is not None and base is not None and not with_point:
            room = limit - base  # the change that would bring a point (or the district) to its target
            ax.axvline(room, color=BOTTLENECK, linestyle="--", linewidth=1)
            ax.annotate("target", (room, 1.0), xycoords=("data", "axes fraction"), xytext=(-3, -10),
                        textcoords="offset points", fontsize=7, color=BOTTLENECK, ha="right")
    axes[0][0].set_yticks(ys, [_row_label(e, impact, with_point) for e in effects], fontsize=8)
    stages = [on_bottleneck(e, impact) for e in effects]
    for label, stage in zip(axes[0][0].get_yticklabels(), stages):
        if stage is not None:
            label.set_color(BOTTLENECK)
            label.set_fontweight("bold")
    legend = [Patch(color=colour, label=VERDICT_WORDS[verdict]) for verdict, colour in VERDICT_COLOURS.items()
              if colour in used]
    named = sorted(set(stages) - {None})
    if named:
        legend.append(Patch(facecolor="white", edgecolor=BOTTLENECK, linewidth=2.2,
                            label=f"red: acts on the bottleneck ({', '.join(named)})"))
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=8, frameon=False)
    fig.suptitle(plain("\n".join(textwrap.wrap(title, int(width * 10)))), x=0.01, ha="left", fontsize=10.5,
                 fontweight="bold")
    save(fig, path, bottom=min(0.12, 0.45 / (0.62 * rows + 2.3)))
    return path


def write_advice_charts(impact: Impact, folder: Path) -> list[Path]:
    """charts/impact.png (and, for a district, charts/impact_points.png)."""
    folder.mkdir(parents=True, exist_ok=True)
    reps = (f"{impact.baseline.replications} replications, seed {impact.scenario.seed}, common random numbers; "
            f"ranked by {NAMES[impact.rank_by]}")
    written = []
    if impact.district:
        shown = [e for e in impact.district_effects() if e.applies]
        title = f"{impact.scenario.name}: each lever at every point at once ({reps})"
    else:
        shown = [e for e in impact.point_effects() if e.applies]
        title = f"{status_sentence(impact)} ({reps})"
    if shown:
        written.append(_tornado(shown, impact, folder / "impact.png", title))
    if impact.district:
        best = impact.best_per_point()[:TOP_POINT_ACTIONS]
        if best:
            helping = any(e.verdict == "helps" for e in best)
            title = (f"{impact.scenario.name}: " + ("the best change at each point that misses a target, then the "
                                                    "largest saving within the targets at the others" if helping else
                                                    "the largest saving within the targets at each point")
                     + f" ({reps})")
            written.append(_tornado(best, impact, folder / "impact_points.png", title,
                                    kpis=(impact.rank_by, "staff_hours"), with_point=True))
    return written


# ---------------------------------------------------------------- report.html

def advice_section(impact: Impact, charts: list[Path], id: str = "advice") -> h.Markup:
    """The section "What to change": the sentences, the impact charts and the table of effects."""
    rows = []
    shown = impact.effects if not impact.district else [e for e in impact.effects if e.point_id is None or e.rank <= 30]
    for effect in shown:
        cells: list[Any] = [effect.rank] + ([effect.point_id or "every point"] if impact.district else []) + [
            effect.lever.label, effect.change.describe() if effect.change is not None else "",
            effect.verdict.replace("_", " ")]
        for key in CHART_KPIS:
            leaf = effect.deltas.get(key) or {}
            ci = leaf.get("ci95")
            cells.append(signed(key, leaf.get("mean")) + (f" ({signed(key, ci[0])} to {signed(key, ci[1])})" if ci else "")
                         if leaf else "")
        score = effect.score
        cells.append("free" if score == math.inf else (f"{score:.3g}" if score is not None else ""))
        rows.append(cells)
    header = ["rank"] + (["point"] if impact.district else []) + ["lever", "change", "verdict"] + [
        f"{NAMES[k]} ({UNITS[k]})" if UNITS[k] != NAMES[k] else NAMES[k] for k in CHART_KPIS] + ["score"]
    captions = {"impact.png": "What each lever changes (paired 95% CIs); red: it acts on the bottleneck stage.",
                "impact_points.png": "One change per point: the best at each point that misses a target, then the "
                                     "largest saving within the targets at the others."}
    parts: list[Any] = [h.tag("ul", h.join(h.tag("li", s) for s in impact.sentences), class_="verdict")]
    parts += [h.figure(p, captions.get(p.name, p.stem), id=f"chart-{p.stem}") for p in charts]
    parts.append(h.table(header, rows, numeric=[0] + list(range(header.index("verdict") + 1, len(header))),
                         caption="Each lever's paired mean change with its 95% CI (common random numbers). Score: "
                                 f"{NAMES[impact.rank_by]} gained per staff-hour (helps), or staff-hours saved "
                                 "(saves). advice.csv has every row."))
    if impact.moves:
        parts.append(h.table(["town", "from", "to", "sentence"],
                             [[town_label(m.town), m.donor, m.recipient, m.sentence] for m in impact.moves[:20]],
                             caption="Moves of a tent with its staff between points of a town (moves.csv has all)."))
    parts.append(h.paragraph(
        f"Targets: the last sample by {impact.targets.deadline_h:g} h after the first opening and a p90 wait within "
        f"{impact.targets.max_p90_wait_min:g} min, met with confidence when the upper end of the 95% CI is within. "
        "Each lever is one change at a time from the scenario as written; effects of several changes do not simply "
        "add up. See docs/experiments.md (advise) for how to read it and its limits.", class_="note"))
    return h.section("What to change", *parts, id=id)


def write_advice_files(impact: Impact, folder: Path) -> list[Path]:
    """advice.json, advice.csv, moves.csv (a district) and the charts into ``folder``; the charts written."""
    folder = Path(folder)
    text = json.dumps(impact.summary(), indent=2, allow_nan=False, ensure_ascii=False)
    (folder / "advice.json").write_text(text + "\n", encoding="utf-8")
    write_csv(folder / "advice.csv", advice_header(), advice_rows(impact))
    if impact.district:
        write_csv(folder / "moves.csv", MOVES_HEADER, moves_rows(impact))
    return write_advice_charts(impact, folder / "charts")


def write_advice(impact: Impact, target: Union[str, Path], force: bool = False,
                 provenance: Optional[dict[str, Any]] = None) -> Path:
    """``simsampling advise``'s folder, whole or not at all."""
    target = Path(target)
    with results_folder(target, force=force) as staging:
        charts = write_advice_files(impact, staging)
        write_scenario(impact.scenario, staging)
        rows = {"scenario": impact.scenario.name, "file": impact.file or "(from Python)",
                "simsampling version": __version__, "seed": impact.scenario.seed,
                "replications": impact.baseline.replications, "common random numbers": "yes",
                "runs": f"{impact.runs} (the scenario as written and one per lever that applies)",
                "run time": f"{impact.elapsed_s:,.1f} s", **(provenance or {})}
        sections = [advice_section(impact, charts),
                    h.section("Scenario", h.yaml_file_block(staging / "scenario.yaml", "scenario.yaml"),
                              id="scenario"),
                    h.section("Provenance", h.provenance_table(rows), id="provenance")]
        page = h.page(f"{impact.scenario.name}: what to change", sections,
                      subtitle=f"{len(impact.scenario.points):,} point(s); {impact.baseline.replications} replications, "
                               f"seed {impact.scenario.seed} (common random numbers)",
                      contents=[("advice", "What to change"), ("scenario", "Scenario"), ("provenance", "Provenance")])
        (staging / "report.html").write_text(page, encoding="utf-8")
    return target
