"""The impact view in sentences a planner acts on: what to do first, where staff can be saved,
what to move, and when the calling plan rather than capacity sets the finish.

Every sentence gives its figure with the paired 95% confidence interval it rests on.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from ..labels import stage_name
from .moves import town_label
from .targets import NAMES, UNITS, leaves, meets

FORMATS = {"finish_h": "{:+.2f}", "wait_min.total.p90": "{:+.1f}", "queue_max.total": "{:+,.0f}", "staff_hours": "{:+,.0f}"}
LEVELS = {"finish_h": "{:.1f}", "wait_min.total.p90": "{:.1f}", "queue_max.total": "{:,.0f}", "staff_hours": "{:,.0f}"}


def signed(key: str, value: Optional[float]) -> str:
    return "n/a" if value is None else FORMATS[key].format(value).replace("-", "−")


def level(key: str, value: Optional[float]) -> str:
    return "n/a" if value is None else LEVELS[key].format(value)


def change_text(effect: Any, key: str) -> str:
    """"p90 wait −3.2 min (95% CI −3.9 to −2.5)"."""
    leaf = effect.deltas.get(key) or {}
    ci = leaf.get("ci95")
    interval = f" (95% CI {signed(key, ci[0])} to {signed(key, ci[1])})" if ci else ""
    return f"{NAMES[key]} {signed(key, leaf.get('mean'))} {UNITS[key]}{interval}"


def _who(effect: Any, impact: Any) -> str:
    return f"{effect.point_id}: " if effect.point_id is not None and impact.district else (
        "every point: " if effect.point_id is None else "")


def _what(effect: Any) -> str:
    change = effect.change.describe() if effect.change is not None else ""
    return f"{effect.lever.label} ({change})" if change else effect.lever.label


def effect_sentence(effect: Any, impact: Any) -> str:
    """One effect in a sentence: its change of the ranked KPI with the CI, its staff-hours, its verdict."""
    who, what, key = _who(effect, impact), _what(effect), impact.rank_by
    if effect.verdict == "not_applicable":
        return f"{who}{effect.lever.label}: does not apply ({effect.reason})."
    cost = effect.cost
    extra = ""
    if key != "finish_h" and (effect.deltas.get("finish_h") or {}).get("significant"):
        extra = f"; {change_text(effect, 'finish_h')}"
    if effect.verdict == "helps":
        price = ("at no staff cost" if effect.score == math.inf else
                 f"for {level('staff_hours', cost)} staff-hours ({effect.score:.3g} {UNITS[key]} per staff-hour)")
        return f"{who}{what}: {change_text(effect, key)}{extra}, {price}."
    if effect.verdict == "saves":
        return f"{who}{what} saves {level('staff_hours', -cost)} staff-hours; {against_targets(effect.after, impact)}."
    if effect.verdict == "harms":
        broken = [NAMES[k] for k, ok in meets(effect.after, impact.targets).items() if not ok]
        return (f"{who}{what}: {change_text(effect, key)}{extra}; the {' and the '.join(broken)} would miss "
                f"{'its target' if len(broken) == 1 else 'their targets'}.")
    ranked = effect.deltas.get(key) or {}
    if ranked.get("significant"):
        return f"{who}{what}: {change_text(effect, key)}{extra}; within the targets."
    return f"{who}{what}: no significant change of the {NAMES[key]} ({change_text(effect, key)}){extra}."


def against_targets(leaves_: dict, impact: Any) -> str:
    """"p90 wait 9.6 min (limit 15 min), last sample 14.2 h (deadline 15 h)"."""
    targets = impact.targets
    wait, finish = leaves_.get("wait_min.total.p90") or {}, leaves_.get("finish_h") or {}
    return (f"p90 wait {level('wait_min.total.p90', wait.get('mean'))} min (limit {targets.max_p90_wait_min:g} min), "
            f"last sample {level('finish_h', finish.get('mean'))} h (deadline {targets.deadline_h:g} h)")


def move_sentence(move: Any, impact: Any) -> str:
    key = impact.rank_by
    return (f"In {town_label(move.town)}, move a tent with its staff from {move.donor} to {move.recipient}: "
            f"at {move.recipient} {change_text(move.take, key)}; at {move.donor} {change_text(move.give, key)}, "
            f"within its targets; staff-hours {signed('staff_hours', move.staff_hours)}.")


def _over_on_average(leaves_: dict, targets: Any) -> dict[str, bool]:
    """Per target KPI, whether its mean is past the limit (a target missed with confidence may be only doubtful)."""
    return {key: (leaves_.get(key) or {}).get("mean") is not None and leaves_[key]["mean"] > limit + 1e-9
            for key, limit in targets.limits().items()}


def status_sentence(impact: Any) -> str:
    """Whether the point (or how many points) meets the targets, with the figures.

    A target is met with confidence (``targets.meets``); one that is not is said to be *over* when its
    mean is past the limit, else *not shown* (its 95% CI reaches past it: more replications would tell),
    so that the sentence agrees with the run's diagnosis, which reads the means.
    """
    targets = impact.targets
    limits = (f"a p90 wait within {targets.max_p90_wait_min:g} min and the last sample by {targets.deadline_h:g} h "
              "after the first opening")
    if not impact.district:
        point = impact.scenario.points[0]
        base = leaves(impact.baseline.point_kpis[point.id])
        met, over = meets(base, targets), _over_on_average(base, targets)
        if all(met.values()):
            return f"{point.id} meets its targets: {against_targets(base, impact)}."
        missed = " and the ".join(NAMES[k] for k, ok in met.items() if not ok and over[k])
        doubtful = " and the ".join(NAMES[k] for k, ok in met.items() if not ok and not over[k])
        return (f"{point.id} {'misses its targets' if missed else 'is not shown to meet its targets'}: "
                f"{against_targets(base, impact)}" + (f"; the {missed} is over" if missed else "")
                + (f"; the {doubtful} is within it on average, but its 95% CI reaches past it (more replications "
                   "would tell)" if doubtful else "") + ".")
    missing = impact.missing
    count = len(impact.scenario.points)
    over = sum(1 for pid in missing if any(_over_on_average(leaves(impact.baseline.point_kpis[pid]), targets).values()))
    doubtful = len(missing) - over
    return (f"{count - len(missing):,} of {count:,} points meet both targets with confidence ({limits})"
            + (f"; {over:,} miss one on average" if over else "")
            + (f"; {doubtful:,} are within them on average, but their 95% CI reaches past one (more replications "
               "would tell)" if doubtful else "") + ".")


def _bottleneck(impact: Any) -> Optional[str]:
    if not impact.district:
        stage, share = impact.bottlenecks[impact.scenario.points[0].id]
        if stage is None:
            return "Residents barely wait (under a minute on average, all stages together): no stage holds them back."
        return f"The bottleneck is {stage_name(stage)}: it holds {share:.0%} of the resident-minutes waited."
    counts: dict[str, int] = {}
    for pid in impact.missing:
        stage = impact.bottlenecks[pid][0]
        if stage is not None:
            counts[stage] = counts.get(stage, 0) + 1
    if not counts:
        return None
    ranked = sorted(counts.items(), key=lambda item: -item[1])
    return "At the points that miss a target, most waiting is at " + ", ".join(
        f"{stage_name(stage)} ({count:,} point{'s' if count != 1 else ''})" for stage, count in ranked) + "."


SAME_FINISH_H = 0.05
"""A change of the last sample smaller than this (3 minutes) does not move the finish."""


def _calling_sets_finish(impact: Any) -> Optional[str]:
    """When a shorter calling plan moves the finish and no added server does (a district: each at every point)."""
    effects = impact.district_effects() if impact.district else impact.point_effects(impact.scenario.points[0].id)
    by = {e.lever.name: e for e in effects}
    calls = by.get("calls-1h")
    added = [e for e in by.values() if e.applies and e.lever.knob.staffed and e.lever.step > 0]
    if calls is None or not calls.applies or not added:
        return None
    moved = calls.deltas.get("finish_h") or {}
    most = max(added, key=lambda e: abs(e.delta("finish_h") or 0.0))
    if moved.get("significant") and (moved.get("mean") or 0.0) < -SAME_FINISH_H and \
            abs(most.delta("finish_h") or 0.0) < SAME_FINISH_H:
        where = "the district's finish (at every point at once)" if impact.district else "the finish"
        return (f"The calling plan, not capacity, sets {where}: calling one hour faster moves the last sample by "
                f"{signed('finish_h', moved.get('mean'))} h; {most.lever.label} by "
                f"{signed('finish_h', most.delta('finish_h'))} h.")
    return None


def impact_sentences(impact: Any, top: int = 3) -> list[str]:
    """What to do, in order: the state against the targets, the bottleneck, the best changes, savings, moves.

    After the run's diagnosis (``impact.after_diagnosis``) the bottleneck, and for one point its state,
    are left out: the diagnosis said them, with the same figures.
    """
    sentences = [] if impact.after_diagnosis and not impact.district else [status_sentence(impact)]
    said = None if impact.after_diagnosis else _bottleneck(impact)
    if said:
        sentences.append(said)
    effects = impact.point_effects()
    missing = impact.missing
    if impact.district:
        best = impact.best_per_point()
        helps = [e for e in best if e.verdict == "helps"]
        saves = [e for e in best if e.verdict == "saves"]
    else:
        helps = [e for e in effects if e.verdict == "helps"]
        saves = [e for e in effects if e.verdict == "saves"]
    saving = []
    if saves:
        if impact.district:
            saving.append(f"{len(saves):,} point(s) meeting their targets can give up staff within them; "
                          f"the largest saving: {saves[0].sentence}")
        else:
            saving.append("Staff can be saved: " + saves[0].sentence)
    improving = []
    if helps:
        improving.append(("Best change per staff-hour: " if missing else "To shorten the wait further: ")
                         + helps[0].sentence)
        improving += [f"Next: {e.sentence}" for e in helps[1:top]]
    elif missing:
        improving.append(f"No single lever significantly improves the {NAMES[impact.rank_by]} (the levers are "
                         "ranked by it) without breaking a target.")
    sentences += improving + saving if missing else saving + improving
    calling = _calling_sets_finish(impact)
    if calling:
        sentences.append(calling)
    sentences += [move.sentence for move in impact.moves[:top]]
    if impact.district and len(impact.moves) > top:
        sentences.append(f"{len(impact.moves) - top:,} more move(s) in moves.csv.")
    return sentences
