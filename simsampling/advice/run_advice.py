"""The advice of one run: its diagnosis, the points ranked by what to act on, and sentences.

``run_advice(result)`` is what every run writes (``advice`` in summary.json,
the top of report.html, the command line); docs/outputs.md documents each key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

from .diagnosis import Bottleneck, Diagnosis, Evidence, PointDiagnosis, diagnose
from .headroom import Headroom
from .ranking import Ranked, Ranking, rank_points
from .sentences import clock, evidence_text, point_sentences, run_sentences
from .targets import DEFAULT_MAX_P90_WAIT_MIN


@dataclass(frozen=True)
class RunAdvice:
    """A run's diagnosis, its points ranked by what to act on, and the sentences that say what to do."""

    diagnosis: Diagnosis
    ranking: list[Ranked]
    sentences: list[str]

    @property
    def target_min(self) -> float:
        return self.diagnosis.target_min

    def rank_of(self, point_id: str) -> Ranked:
        return self.charted.rank_of(point_id)

    def ranked_ids(self) -> list[str]:
        """Point ids, the one to act on first first."""
        return self.charted.ranked_ids()

    @cached_property
    def charted(self) -> Ranking:
        """What the charts follow of this advice: the ranking, the target, whether the plans set the finish."""
        run = self.diagnosis.run
        return Ranking(tuple(self.ranking), self.target_min, run.finish_set_by_plan, run.plan_end_s)

    def summary(self, result) -> dict[str, Any]:
        """The content of summary.json: the run's summary (``RunResult.summary``) and this advice."""
        return {**result.summary, "advice": self.as_dict()}

    def as_dict(self) -> dict[str, Any]:
        """The ``advice`` entry of summary.json (numbers that are not finite as null); not to be changed by callers."""
        return self._entry

    @cached_property
    def _entry(self) -> dict[str, Any]:
        """Made once: summary.json, report.html and the terminal's table each ask (a city's: 0.4 s)."""
        d = self.diagnosis
        hours = _Hours(d.open_s)
        run = d.run
        return {
            "target_p90_wait_min": _num(d.target_min),
            "sentences": list(self.sentences),
            "run": {
                "limited_by": run.limited_by,
                "points_by_limit": dict(run.counts),
                "latest_point": run.latest_point,
                "finish_set_by_plan": run.finish_set_by_plan,
                **hours.pair("plan_end", run.plan_end_s),
                "bottleneck": _bottleneck(run.bottleneck, hours, run=len(d.points) > 1),
                "headroom": {kind: {"point": point_id, **_headroom(headroom, hours)}
                             for kind, (point_id, headroom) in run.headrooms.items()},
                "waiting_person_min": _num(run.total_waiting_person_min),
                "waiting_before_opening_person_min": _num(run.waiting_before_opening_person_min),
            },
            "points": [self._point(point, hours) for point in d.points],
        }

    def _point(self, point: PointDiagnosis, hours: "_Hours") -> dict[str, Any]:
        rank, d = self.rank_of(point.id), self.diagnosis
        return {
            "id": point.id,
            "limited_by": point.limited_by,
            "rules": list(point.evidence.rules),
            "evidence": _evidence(point, hours),
            "bottleneck": _bottleneck(point.bottleneck, hours),
            "headroom": _headroom(point.headroom, hours) if point.headroom is not None else None,
            "waiting_person_min": {stage: _num(minutes) for stage, minutes in point.waiting_person_min.items()},
            "waiting_before_opening_person_min": _num(point.waiting_before_opening_person_min),
            "rank": rank.rank,
            "concern": rank.concern,
            "late_h": _num(rank.late_h),
            "peak_line": _num(rank.peak_line),
            "waiting_space": rank.waiting_space,
            "idle_stations": rank.idle_stations,
            "peak_busy_stations": _num(rank.peak_busy_stations),
            "sentences": point_sentences(point, d),
        }


def _num(value: Optional[float]) -> Optional[float]:
    """A number for summary.json: a float, or None when missing or not finite."""
    return float(value) if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class _Hours:
    """Times as summary.json gives them: hours from the first opening and a clock text."""

    open_s: float

    def pair(self, name: str, seconds: Optional[float]) -> dict[str, Any]:
        finite = seconds is not None and math.isfinite(seconds)
        return {name: clock(seconds) if finite else None, f"{name}_h": (seconds - self.open_s) / 3600.0 if finite else None}


def _evidence(point: PointDiagnosis, hours: _Hours) -> dict[str, Any]:
    e: Evidence = point.evidence
    return {
        "plan": e.plan,
        **hours.pair("plan_end", e.plan_end_s),
        **hours.pair("calls_end", e.calls_end_s),
        **hours.pair("last_arrival", e.last_arrival_s),
        **hours.pair("last_swab", e.last_swab_s),
        **hours.pair("finish", e.finish_s),
        **{key: _num(getattr(e, field)) for key, field in EVIDENCE_NUMBERS.items()},
        **hours.pair("last_closing", e.last_closing_s),
        "text": evidence_text(point),
    }


EVIDENCE_NUMBERS = {"drain_min": "drain_min", "p90_wait_min": "p90_wait_min", "overtime_min": "overtime_min",
                    "waiting_at_last_closing": "waiting_at_closing", "not_called": "not_called",
                    "never_walked_in": "never_walked_in", "home_unserved": "home_unserved",
                    "turned_away": "turned_away", "left_the_line": "left_the_line"}
"""summary.json's evidence keys and the fields they hold."""


def _bottleneck(b: Optional[Bottleneck], hours: _Hours, run: bool = False) -> Optional[dict[str, Any]]:
    if b is None:
        return None
    period = b.busy_period
    record = {
        "stage": b.stage,
        "wait_share": _num(b.wait_share),
        "utilization": _num(b.utilization),
        "busy_period": None if period is None else {
            **hours.pair("start", hours.open_s + 3600.0 * period.start_h), **hours.pair("end", hours.open_s + 3600.0 * period.end_h),
            "waiting_person_min": _num(period.waiting_person_min), "replications": period.replications},
        "waiting_person_min": _num(b.waiting_person_min),
        "servers": b.servers,
    }
    if run:
        record["points"] = b.points
        del record["busy_period"]
    return record


def _headroom(h: Headroom, hours: _Hours) -> dict[str, Any]:
    return {
        "kind": h.kind,
        "p90_wait_min": _num(h.p90_now_min),
        "reachable": h.reachable,
        "at_least": h.at_least,
        "hours": _num(h.hours),
        **hours.pair("plan_end", h.plan_end_s),
        **hours.pair("plan_end_at_target", h.end_at_target_s),
        "factor": _num(h.factor),
        "rate_per_hour": _num(h.rate_per_hour),
        "method": h.method,
        "precision": _num(h.precision),
        "fluid_correction_min": _num(h.correction_min),
    }


def run_advice(result, target_min: float = DEFAULT_MAX_P90_WAIT_MIN, check_by_simulation: bool = True) -> RunAdvice:
    """The advice of a finished run (``RunResult``); ``target_min`` is the p90 wait target (``--max-p90-wait``)."""
    diagnosis = diagnose(result, target_min, check_by_simulation)
    ranking = rank_points(diagnosis, result.point_summaries, result.point_bands)
    return RunAdvice(diagnosis, ranking, run_sentences(diagnosis, ranking))
