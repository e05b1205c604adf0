"""One more, one fewer: what each lever changes, measured with common random numbers.

The scenario as written (the baseline) and the scenario with one lever applied at every
point where it applies are run with the same seed and replications, so replication r of
both sees the same residents with the same service times (experiment/compare.py's pairing):
each KPI's change is estimated from the per-replication differences, with a paired 95%
t-interval. Points are independent (their lines share nothing; a sample chain only follows
their tubes afterwards), so one run with the lever at every point gives each point's own
effect, and the district's as a whole.

An effect is judged against the planner's targets (the deadline, a p90 wait limit) and
ranked by what it buys per staff-hour (see :func:`judge`); the moves of stations between
points of a town are in advice/moves.py. Nothing here writes a file: report/advice.py does.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Optional, Sequence

from .. import __version__
from ..choices import RANK_BY
from ..experiment.compare import paired
from ..experiment.replicate import RunResult, run_scenario
from ..metrics import estimate
from ..scenario import Problem, ScenarioError
from ..scenario.schema import Scenario
from .diagnosis import bottlenecks
from .levers import Change, Lever, apply_lever, levers as scenario_levers
from .targets import DEFAULT_MAX_P90_WAIT_MIN, IMPACT_KPIS, Targets, kpi_values, leaves, meets
from .moves import town_moves
from .words import effect_sentence, impact_sentences, move_sentence

SCHEMA = 1
FREE_STAFF_H = 0.5
"""A change of fewer staff-hours than this (either way) costs no staff."""
VERDICTS = ("helps", "saves", "neutral", "harms", "not_applicable")
"""In ranking order (see :func:`judge`)."""
BARELY_WAIT_MIN = 1.0
"""Below this mean wait per resident (all stages), no stage is called a bottleneck."""

Progress = Callable[[int, int], None]


@dataclass
class Effect:
    """One lever at one point (``point_id`` None: at every point at once, the district)."""

    lever: Lever
    point_id: Optional[str]
    change: Optional[Change]
    """The knob's value before and after at the point (None for the district row)."""
    baseline: dict[str, dict[str, Any]] = field(default_factory=dict)
    """KPI -> the baseline's estimate leaf (mean, ci95, n)."""
    after: dict[str, dict[str, Any]] = field(default_factory=dict)
    deltas: dict[str, dict[str, Any]] = field(default_factory=dict)
    """KPI -> paired difference leaf (mean, ci95, n, significant)."""
    verdict: str = "not_applicable"
    score: Optional[float] = None
    """helps: improvement of the ranked KPI per staff-hour (inf when it costs no staff); saves: staff-hours saved."""
    rank: Optional[int] = None
    sentence: str = ""
    applies: bool = True
    reason: str = ""
    improvement: float = 0.0
    """How much the ranked KPI drops (its paired mean change, sign reversed)."""

    def delta(self, key: str) -> Optional[float]:
        leaf = self.deltas.get(key) or {}
        return leaf.get("mean")

    @property
    def cost(self) -> float:
        """The paired mean change of staff-hours (negative: a saving)."""
        return self.delta("staff_hours") or 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "point": self.point_id, "lever": self.lever.name, "label": self.lever.label, "stage": self.lever.stage,
            "applicable": self.applies, "reason": self.reason or None,
            "before": None if self.change is None else self.change.before,
            "after": None if self.change is None else self.change.after,
            "change": None if self.change is None else self.change.describe(),
            "verdict": self.verdict, "score": _finite_or_none(self.score), "free": self.score == math.inf,
            "rank": self.rank, "sentence": self.sentence,
            "baseline": self.baseline, "variant": self.after, "deltas": self.deltas,
        }


def _finite_or_none(value: Optional[float]) -> Optional[float]:
    return value if value is not None and math.isfinite(value) else None


def held_back(baseline: RunResult) -> dict[str, tuple[Optional[str], float]]:
    """Per point, its bottleneck as the run's diagnosis names it (``diagnosis.bottlenecks``: the stage holding
    the most resident-minutes of waiting, the opening's left out) and its share of that waiting.

    (None, 0) when residents barely wait (under ``BARELY_WAIT_MIN`` on average, all stages together).
    """
    named = bottlenecks(baseline)
    out: dict[str, tuple[Optional[str], float]] = {}
    for point_id, kpis_list in baseline.point_kpis.items():
        mean_wait = [w for w in kpi_values(kpis_list, "wait_min.total.mean") if w is not None and math.isfinite(w)]
        found = named.get(point_id)
        barely = not mean_wait or sum(mean_wait) / len(mean_wait) < BARELY_WAIT_MIN
        out[point_id] = (None, 0.0) if barely or found is None else (found.stage, found.wait_share)
    return out


def judge(effect: Effect, rank_by: str, targets: Targets) -> None:
    """Set the effect's verdict and score.

    A change *breaks* a target when the target was met (with confidence) and no longer is, or
    was missed and gets significantly worse.

    * saves: it saves staff-hours and breaks no target; score = staff-hours saved;
    * helps: the ranked KPI improves significantly (the paired CI excludes 0), it saves no staff
      and breaks no target; score = improvement per staff-hour added (inf: free, e.g. the QR share);
    * harms: it breaks a target;
    * neutral: otherwise (no significant improvement, nothing broken; a small worsening within
      the targets, or a gain on the other target, is said in its sentence).
    """
    if not effect.applies:
        effect.verdict, effect.score = "not_applicable", None
        return
    ranked = effect.deltas.get(rank_by) or {}
    improvement = effect.improvement = -(ranked.get("mean") or 0.0)
    significant = bool(ranked.get("significant"))
    cost = effect.cost
    kept = meets(effect.after, targets)
    was = meets(effect.baseline, targets)
    worse = {key: bool((effect.deltas.get(key) or {}).get("significant")) and (effect.delta(key) or 0.0) > 0
             for key in targets.limits()}
    breaks = not all(kept[key] or (not was[key] and not worse[key]) for key in kept)
    if cost < -FREE_STAFF_H and not breaks:
        effect.verdict, effect.score = "saves", -cost
    elif significant and improvement > 0 and cost >= -FREE_STAFF_H and not breaks:
        effect.verdict, effect.score = "helps", (math.inf if cost <= FREE_STAFF_H else improvement / cost)
    elif breaks:
        effect.verdict, effect.score = "harms", None
    else:
        effect.verdict, effect.score = "neutral", None


def rank(effects: Sequence[Effect]) -> list[Effect]:
    """Best first: free helps by improvement, then helps by improvement per staff-hour, then savings by
    staff-hours saved (then the least harm), then neutral, harms, not applicable; numbers ``rank`` from 1."""
    def key(e: Effect):
        if e.verdict == "helps":
            free = e.score == math.inf
            return (0, not free, -e.improvement if free else -e.score, 0.0)
        # savings: the most whole staff-hours first (overtime makes the rest noise), then the least harm
        return (VERDICTS.index(e.verdict), False, -round(e.score) if e.verdict == "saves" else 0.0, -e.improvement)

    ordered = sorted(effects, key=key)
    for number, effect in enumerate(ordered, start=1):
        effect.rank = number
    return ordered


@dataclass
class Impact:
    """Every lever's effect on a scenario, per point and (several points) for the district."""

    scenario: Scenario
    baseline: RunResult
    targets: Targets
    rank_by: str
    effects: list[Effect]
    """Ranked per point first (all points together), then the district rows."""
    bottlenecks: dict[str, tuple[Optional[str], float]]
    moves: list[Any] = field(default_factory=list)
    file: str = ""
    elapsed_s: float = 0.0
    runs: int = 1
    after_diagnosis: bool = False
    """``run --advise``: its sentences follow the run's diagnosis, which has named the bottleneck (and, for
    one point, its wait against the target) already: they are not said twice."""

    @property
    def district(self) -> bool:
        return len(self.scenario.points) > 1

    def point_effects(self, point_id: Optional[str] = None) -> list[Effect]:
        return [e for e in self.effects if e.point_id is not None and (point_id is None or e.point_id == point_id)]

    def best_per_point(self) -> list[Effect]:
        """What to act on, one effect per point: at each point that misses a target its best help (best first),
        then at the others their largest saving within the targets (largest first)."""
        first: dict[str, Effect] = {}
        for effect in self.point_effects():  # ranked: helps before saves, best first
            wanted = "helps" if effect.point_id in self.missing else "saves"
            if effect.verdict == wanted and effect.point_id not in first:
                first[effect.point_id] = effect
        chosen = list(first.values())
        return [e for e in chosen if e.verdict == "helps"] + [e for e in chosen if e.verdict == "saves"]

    def district_effects(self) -> list[Effect]:
        return [e for e in self.effects if e.point_id is None]

    @cached_property
    def sentences(self) -> list[str]:
        return impact_sentences(self)

    @cached_property
    def missing(self) -> frozenset[str]:
        """Points that miss a target (with confidence) as they are."""
        return frozenset(pid for pid, kpis in self.baseline.point_kpis.items()
                         if not all(meets(leaves(kpis), self.targets).values()))

    def summary(self) -> dict[str, Any]:
        """The content of advice.json (schema in docs/outputs.md)."""
        return {
            "schema_version": SCHEMA,
            "kind": "advice",
            "scenario": self.scenario.name,
            "file": self.file,
            "simsampling_version": __version__,
            "seed": self.scenario.seed,
            "replications": self.baseline.replications,
            "common_random_numbers": True,
            "runs": self.runs,
            "elapsed_s": round(self.elapsed_s, 3),
            "targets": {"deadline_h": self.targets.deadline_h, "max_p90_wait_min": self.targets.max_p90_wait_min},
            "rank_by": self.rank_by,
            "kpis": list(IMPACT_KPIS),
            "sentences": list(self.sentences),
            "levers": [lever.describe() for lever in scenario_levers(self.scenario)],
            "points": [
                {"id": p.id, "bottleneck": {"stage": self.bottlenecks[p.id][0], "wait_share": self.bottlenecks[p.id][1]},
                 "meets_targets": meets(leaves(self.baseline.point_kpis[p.id]), self.targets)}
                for p in self.scenario.points
            ],
            "effects": [e.as_dict() for e in self.effects],
            "moves": [m.as_dict() for m in self.moves],
        }


def _effect(lever: Lever, point_id: Optional[str], change: Optional[Change], base: Sequence[dict[str, Any]],
            variant: Optional[Sequence[dict[str, Any]]]) -> Effect:
    effect = Effect(lever, point_id, change, baseline=leaves(base))
    if variant is None:
        effect.applies, effect.reason = False, change.reason if change is not None else "applies at no point"
        return effect
    effect.after = leaves(variant)
    effect.deltas = {key: paired(kpi_values(base, key), kpi_values(variant, key)) for key in IMPACT_KPIS}
    return effect


def measure_impact(
    scenario: Scenario,
    levers: Optional[Sequence[Lever]] = None,
    deadline_h: Optional[float] = None,
    max_p90_wait_min: float = DEFAULT_MAX_P90_WAIT_MIN,
    rank_by: Optional[str] = None,
    baseline: Optional[RunResult] = None,
    progress: Optional[Progress] = None,
    file: str = "",
    after_diagnosis: bool = False,
    **run_kwargs: Any,
) -> Impact:
    """Run the baseline (unless given) and each lever at every point; the effects, judged and ranked.

    ``deadline_h`` None: the scenario's deadline. ``rank_by`` (``finish``, ``wait``, ``line``) None:
    the finish when the baseline misses the deadline, else the p90 wait. ``baseline``: a run of
    ``scenario`` already made (``run --advise``). ``progress(done, total)`` counts tasks.
    ``after_diagnosis``: the sentences follow the run's diagnosis (``Impact.after_diagnosis``).
    ``levers`` None: every lever of the scenario. ``run_kwargs`` go to every ``run_scenario``.
    """
    started = time.perf_counter()
    if deadline_h is None:
        deadline_h = (scenario.deadline_s - scenario.clock.open_s) / 3600.0
    problems = []
    if not (math.isfinite(deadline_h) and deadline_h > 0):
        problems.append(Problem("<arguments>", None, "--deadline", f"{deadline_h:g} must be a positive number of hours"))
    if not (math.isfinite(max_p90_wait_min) and max_p90_wait_min >= 0):
        problems.append(Problem("<arguments>", None, "--max-p90-wait", f"{max_p90_wait_min:g} must be minutes >= 0"))
    if rank_by is not None and rank_by not in RANK_BY:
        problems.append(Problem("<arguments>", None, "--rank-by", f"{rank_by!r} is not one of {', '.join(RANK_BY)}"))
    if problems:
        raise ScenarioError(problems)
    targets = Targets(deadline_h, max_p90_wait_min)
    tasks = scenario.replications * len(scenario.points)
    variants = [(lever, *apply_lever(scenario, lever)) for lever in (scenario_levers(scenario) if levers is None else levers)]
    total = tasks * (sum(1 for _, s, _ in variants if s is not None) + (baseline is None))
    done = 0

    def counted(step_done: int, _total: int) -> None:
        if progress is not None:
            progress(done + step_done, total)

    if baseline is None:
        baseline = run_scenario(scenario, progress=counted, **run_kwargs)
        done += tasks
    base_points = baseline.point_kpis
    key = RANK_BY[rank_by] if rank_by is not None else (
        "finish_h" if (estimate(kpi_values(baseline.run_kpis, "finish_h"))["mean"] or 0.0) > deadline_h + 1e-9
        else "wait_min.total.p90")
    effects: list[Effect] = []
    district: list[Effect] = []
    runs = 1
    for lever, variant_scenario, changes in variants:
        result = None
        if variant_scenario is not None:
            result = run_scenario(variant_scenario, progress=counted, **run_kwargs)
            done += tasks
            runs += 1
        for change in changes:
            variant = result.point_kpis[change.point_id] if result is not None and change.applies else None
            effects.append(_effect(lever, change.point_id, change, base_points[change.point_id], variant))
        if len(scenario.points) > 1:
            district.append(_effect(lever, None, None, baseline.run_kpis,
                                    result.run_kpis if result is not None else None))
    for effect in effects + district:
        judge(effect, key, targets)
    impact = Impact(scenario, baseline, targets, key, rank(effects) + rank(district),
                    held_back(baseline), file=file, runs=runs, after_diagnosis=after_diagnosis)
    impact.moves = town_moves(scenario.points, impact.point_effects(), impact.missing)
    for effect in impact.effects:
        effect.sentence = effect_sentence(effect, impact)
    for move in impact.moves:
        move.sentence = move_sentence(move, impact)
    impact.elapsed_s = time.perf_counter() - started
    return impact


def levers_named(names: Optional[Sequence[str]], scenario: Scenario) -> list[Lever]:
    """The scenario's levers of ``--lever`` names (all when None); an unknown name is bad input."""
    known = {lever.name: lever for lever in scenario_levers(scenario)}
    if not names:
        return list(known.values())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ScenarioError([Problem("<arguments>", None, "--lever", f"{n!r} is not a lever of this scenario; its levers are "
                                     f"{', '.join(known)}") for n in unknown])
    return [known[n] for n in dict.fromkeys(names)]
