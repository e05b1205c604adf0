"""The diagnosis in plain sentences that say what to do, built from its numbers.

One description per stage (what its servers are called, what to change) and
per limit is looped over; nothing is written per case. The same sentences go
to the top of report.html, the command line and summary.json.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Optional

from ..labels import stage_name
from ..log import day_clock
from ..scenario.schema import Point, Scenario
from .capacity import paired_stages
from .diagnosis import Diagnosis, PointDiagnosis
from .headroom import REFINE_TOLERANCE, Headroom
from .levers import levers_adding_capacity, servers_knob
from .ranking import Ranked


@dataclass(frozen=True)
class StageWords:
    """How a sentence names a stage, its servers, and the levers that add capacity there."""

    name: str
    servers: str
    lever: str


def stage_words(stage: str, point: Optional[Point] = None, scenario: Optional[Scenario] = None) -> StageWords:
    """A stage's words at ``point``, from the one vocabulary of stages and levers.

    The name is ``labels.stage_name``; the servers are those of the knob that adds them
    (advice/levers.py: "registration desks", or "registrars at the stations" where
    they are); the change is every lever that relieves the stage there, as ``advise`` names and
    measures it. A stage no knob serves gets generic words.
    """
    name = stage_name(stage)
    knob = servers_knob(stage)
    paired = point is not None and stage in paired_stages(point)
    if knob is None:
        servers = f"{stage.replace('_', ' ')} servers"
    else:
        servers = knob.paired_servers() if paired and hasattr(knob, "paired_servers") else knob.servers
    levers = levers_adding_capacity(stage, scenario, point) if point is not None and scenario is not None else []
    lever = ("try " + " or ".join(lever.label for lever in levers)) if levers else f"add capacity at {name}"
    return StageWords(name, servers, lever)


LIMIT_SHORT = {"capacity": "capacity", "arrivals": "the arrival plan", "hours": "the opening hours"}
LIMIT_WORDS = {
    "capacity": "capacity (lines hold residents back)",
    "arrivals": "the arrival plan (capacity has headroom)",
    "hours": "the opening hours (residents left unserved at the closing)",
}


@functools.lru_cache(maxsize=1 << 14)
def clock(seconds: Optional[float]) -> str:
    """A time of the round as summary.json and the sentences write it. Remembered: a city's advice asks for the same
    few thousand times again and again (the Xi'an round's: 94,214 calls, 9,726 times; its advice entry 0.19 s of CPU
    against 0.25 s)."""
    return day_clock(seconds) if seconds is not None and math.isfinite(seconds) else "n/a"


def duration(hours: float) -> str:
    """"2 h 15 min", "40 min"."""
    minutes = int(round(abs(hours) * 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def people(count: float) -> str:
    return f"{count:,.0f}"


# ------------------------------------------------------------------ one point


def evidence_text(point: PointDiagnosis) -> str:
    """The numbers behind ``limited_by``, as a clause."""
    e = point.evidence
    if point.limited_by == "hours":
        parts = []
        if e.not_called >= 0.5:
            parts.append(f"{people(e.not_called)} residents never called (the calling plan runs past the last closing)")
        if e.overtime_min > 0:
            parts.append(f"about {people(e.waiting_at_closing)} waiting at the {clock(e.last_closing_s)} closing, "
                         f"the last swab at {clock(e.last_swab_s)} ({e.overtime_min:.0f} min of overtime)")
        if e.turned_away >= 0.5:
            parts.append(f"{people(e.turned_away)} residents turned away after closing")
        if e.home_unserved >= 0.5:
            parts.append(f"{people(e.home_unserved)} residents due a home visit never visited")
        return "; ".join(parts)
    end = {"walk_in": "walk-ins until", "slots": "the last slot ends at", "calling": "the last call comes about"}[e.plan]
    calls_end = e.plan_end_s if e.calls_end_s is None else e.calls_end_s
    text = f"{end} {clock(calls_end)}"
    if e.plan_end_s - calls_end >= 60.0:
        text += f", the mop-up until {clock(e.plan_end_s)}"
    text += f", the last arrival {clock(e.last_arrival_s)}, the last swab {clock(e.last_swab_s)}"
    if e.p90_wait_min is not None:
        text += f"; p90 wait {e.p90_wait_min:.1f} min"
    if "slow_drain" in e.rules:
        text += f"; the line took {e.drain_min:.0f} min to clear after the last arrival"
    if "left_the_line" in e.rules:
        text += f"; {people(e.left_the_line)} residents left the line unsampled"
    return text


def bottleneck_sentence(point: PointDiagnosis, diagnosis: Diagnosis) -> Optional[str]:
    """What holds the waiting, and what to change there."""
    b = point.bottleneck
    if b is None:
        return None
    target, opening_s = diagnosis.target_min, diagnosis.open_s
    words = stage_words(b.stage, point.point, diagnosis.scenario)
    where = (f"{words.servers} busy {b.utilization:.0%} from {clock(opening_s + 3600 * b.busy_period.start_h)} to "
             f"{clock(opening_s + 3600 * b.busy_period.end_h)}") if b.busy_period is not None else (
        f"{words.servers} busy {b.utilization:.0%} of the staffed time")
    p90 = point.evidence.p90_wait_min
    if point.limited_by == "arrivals":
        return (f"Lines stay short (p90 wait {p90:.1f} min against a target of {target:g} min); the most waiting, "
                f"{b.wait_share:.0%}, is at {words.name} ({where}).") if p90 is not None else None
    return (f"The bottleneck is {words.name}: {where} hold {b.wait_share:.0%} of all waiting"
            + (f" (p90 wait {p90:.0f} min against a target of {target:g} min)" if p90 is not None else "")
            + f"; {words.lever}.")


def headroom_sentence(headroom: Optional[Headroom], target: float) -> Optional[str]:
    """How far the plan can be pushed, or that it cannot."""
    if headroom is None:
        return None
    checked = "checked by simulation" if headroom.method == "simulation" else "estimated"
    # A check whose plans ran out before the tolerance gives a range: from what passed to what did not.
    wide = headroom.method == "simulation" and not headroom.at_least and headroom.precision > REFINE_TOLERANCE[headroom.kind] + 1e-9
    if headroom.kind == "walk_in_rate":
        if not headroom.reachable:
            return f"Even at a tenth of the walk-in rate the p90 wait would pass {target:g} min: add capacity."
        more = "at least " if headroom.at_least else ""
        upto = f" to {headroom.factor + headroom.precision:.2f}" if wide else ""
        return (f"Capacity has headroom: walk-ins could come {more}{headroom.factor:.2f}{upto} times as fast "
                f"({headroom.rate_per_hour:,.0f} an hour) before the p90 wait passes {target:g} min ({checked}).")
    if not headroom.reachable:
        return (f"No calling plan within the opening hours keeps the p90 wait under {target:g} min, even one "
                "stretched to the last closing: add capacity at the bottleneck.")
    if headroom.hours < 0:
        return (f"To keep the p90 wait under {target:g} min with this capacity, the calling plan must end "
                f"{duration(headroom.hours)} later, by {clock(headroom.end_at_target_s)} ({checked}).")
    more = "at least " if headroom.at_least else ""
    upto = f" to {duration(headroom.hours + headroom.precision)}" if wide else ""
    return (f"Capacity has headroom: the calling plan could end {more}{duration(headroom.hours)}{upto} earlier "
            f"({'at least ' if wide else ''}by {clock(headroom.end_at_target_s)}) before the p90 wait passes "
            f"{target:g} min ({checked}).")


def point_sentences(point: PointDiagnosis, diagnosis: Diagnosis) -> list[str]:
    """What limits one point, its evidence, what to change."""
    e = point.evidence
    target, opening_s = diagnosis.target_min, diagnosis.open_s
    if e.arrived < 0.5 and e.sampled_total < 0.5:
        return [f"Nobody came to {point.id} (a roster of {people(e.roster)}): there is nothing to diagnose."]
    head = {
        "capacity": "Lines hold residents back",
        "arrivals": {"walk_in": "Walk-in demand sets the finish",
                     "slots": "The calling plan sets the finish",
                     "calling": "The calling plan sets the finish"}[e.plan],
        "hours": "The opening hours run out",
    }[point.limited_by]
    finish = ""
    if point.limited_by == "capacity" and "slow_drain" not in e.rules and e.drain_min is not None and e.plan != "walk_in":
        # Waits over the target with a line that clears as the calls end: the plan still sets the finish time.
        finish = (f" (the line clears {max(e.drain_min, 0.0):.0f} min after the last arrival: the calling plan sets "
                  "the finish, capacity the wait)")
    sentences = [f"{head}: {evidence_text(point)}{finish}."]
    lines = bottleneck_sentence(point, diagnosis)
    if lines:
        sentences.append(lines)
    if point.limited_by == "hours" and point.bottleneck is not None:
        words = stage_words(point.bottleneck.stage, point.point, diagnosis.scenario)
        sentences.append(f"Open longer or {words.lever}.")
    room = headroom_sentence(point.headroom, target)
    if room and point.limited_by != "hours":
        sentences.append(room)
    if e.never_walked_in >= 0.5 and e.roster > 0:
        sentences.append(f"{people(e.never_walked_in)} of the {people(e.roster)} residents on the roster "
                         f"({e.never_walked_in / e.roster:.0%}) never walked in: the walk-in rate over the opening "
                         "hours brings fewer than the roster; call the others or open longer.")
    total = point.total_waiting_person_min + point.waiting_before_opening_person_min
    before = point.waiting_before_opening_person_min
    if before >= OPENING_WAIT_MIN and before >= OPENING_WAIT_SHARE * total:
        setup = point.point.setup_min is not None
        change = "call the first residents after the set-up, or set up earlier" if setup else (
            "start calling a little after the opening, or open earlier")
        sentences.append(f"{before / 60:,.1f} resident-hours ({before / total:.0%} of all waiting) are spent waiting "
                         f"for the point to open ({clock(opening_s)}{', then its set-up' if setup else ''}): {change}.")
    return sentences


OPENING_WAIT_MIN = 30.0
"""Waiting before the opening is worth a sentence from this many resident-minutes ..."""
OPENING_WAIT_SHARE = 0.2
"""... and this share of all waiting."""


# ------------------------------------------------------------------ the run


def run_sentences(diagnosis: Diagnosis, ranking: list[Ranked]) -> list[str]:
    """What to do, for the whole run: a point's sentences, or a district's summary."""
    target = diagnosis.target_min
    if len(diagnosis.points) == 1:
        return point_sentences(diagnosis.points[0], diagnosis)
    if all(p.evidence.arrived < 0.5 and p.evidence.sampled_total < 0.5 for p in diagnosis.points):
        return [f"Nobody came to any of the {len(diagnosis.points):,} points: there is nothing to diagnose."]
    run = diagnosis.run
    total = len(diagnosis.points)
    counts = run.counts
    sentences = []
    if run.finish_set_by_plan:
        sentences.append(f"Every point's finish is set by its calling plan (the plans end by {clock(run.plan_end_s)}): "
                         "finish times do not tell the points apart; they are ranked by waits and lines instead.")
    else:
        latest = diagnosis.point(run.latest_point)
        sentences.append(f"The round's finish is set at {latest.id}, limited by {LIMIT_WORDS[latest.limited_by]}: "
                         f"{evidence_text(latest)}.")
        shares = [f"{LIMIT_SHORT[limit]} at {'all ' if counts[limit] == total else ''}{counts[limit]:,}"
                  for limit in ("hours", "capacity", "arrivals") if counts[limit]]
        sentences.append(f"What limits the {total:,} points: {', '.join(shares)}.")
    concerns = [row for row in ranking if row.concern != "none"]
    if concerns:
        shown = ", ".join(_concern_text(row, target) for row in concerns[:TOP_POINTS])
        more = f" and {len(concerns) - TOP_POINTS:,} more" if len(concerns) > TOP_POINTS else ""
        sentences.append(f"Act first on {shown}{more}.")
    else:
        nearest = ", ".join(f"{row.point} (p90 wait {row.p90_wait_min:.1f} min)" for row in ranking[:3]
                            if row.p90_wait_min is not None)
        if nearest:
            sentences.append(f"No point misses the deadline or the {target:g}-minute wait target; the nearest to it: "
                             f"{nearest}.")
    b = run.bottleneck
    if b is not None:
        having = [p.point for p in diagnosis.points if b.stage in p.waiting_person_min]
        paired = {b.stage in paired_stages(point) for point in having}
        words = stage_words(b.stage, having[0] if len(paired) == 1 else None)  # servers as they are at every point
        busy = f", {words.servers} busy {b.utilization:.0%} in their busy periods" if math.isfinite(b.utilization) else ""
        sentences.append(f"{words.name[0].upper()}{words.name[1:]} holds {b.wait_share:.0%} of all waiting (the most "
                         f"at {b.points:,} of the {total:,} points{busy}).")
    for kind, (point_id, headroom) in run.headrooms.items():
        text = _run_headroom(kind, point_id, headroom, target)
        if text:
            sentences.append(text)
    idle = [row for row in ranking if row.idle_stations > 0]
    if idle:
        examples = ", ".join(f"{row.point} ({row.idle_stations} idle)" for row in sorted(idle, key=lambda r: -r.idle_stations)[:5])
        sentences.append(f"{len(idle):,} points never had all their stations busy at once: staff could move from "
                         f"their idle stations (for example {examples}).")
    if run.waiting_before_opening_person_min >= OPENING_WAIT_SHARE * (run.total_waiting_person_min
                                                                      + run.waiting_before_opening_person_min) > 0:
        sentences.append(f"{run.waiting_before_opening_person_min / 60:,.0f} resident-hours of waiting happen before "
                         "the points open (early arrivals, set-up): call the first residents after the set-up.")
    return sentences


TOP_POINTS = 5
"""Points named in a district's "act first on" sentence."""


def _concern_text(row: Ranked, target: float) -> str:
    if row.concern == "late":
        return f"{row.point} ({row.late_h:.1f} h past the deadline)" if row.late_h > 0 else f"{row.point} (residents left unserved)"
    if row.concern == "overflow":
        return f"{row.point} (a line of {row.peak_line:,.0f} for a waiting area of {row.waiting_space:,})"
    return f"{row.point} (p90 wait {row.p90_wait_min:.0f} min)"


def _run_headroom(kind: str, point_id: str, headroom: Headroom, target: float) -> Optional[str]:
    if not headroom.reachable:
        return (f"At {point_id} no plan within the opening hours keeps the p90 wait under {target:g} min: "
                "add capacity there first.")
    more = "at least " if headroom.at_least else ""
    if kind == "walk_in_rate":
        return (f"Walk-ins could come {more}{headroom.factor:.2f} times as fast at every walk-in point before the first "
                f"({point_id}) passes a p90 wait of {target:g} min.")
    if headroom.hours < 0:
        return (f"At {point_id} the calling plan must end {duration(headroom.hours)} later to keep the p90 wait under "
                f"{target:g} min.")
    return (f"The calling plans could end {more}{duration(headroom.hours)} earlier everywhere before the first point "
            f"({point_id}) passes a p90 wait of {target:g} min.")
