"""How much staff each point needs: ``simsampling optimise`` (documented in docs/experiments.md).

Two questions:

* :func:`optimise_staffing`: the least staff-hours per point over every staffed knob of
  advice/levers.py (stations with their staff, temperature checkers, registration desks) and,
  when asked, the span of the calling plan, such that, with the stated confidence, the point
  finishes by the deadline, the p90 total wait stays within a limit and (optionally) the line
  stays inside the marked waiting area. A target no staffing can meet is not an answer: it
  raises :class:`InfeasibleTarget` with the reason in words, proved from the arrivals before
  any simulation where it can be (advice/feasibility.py), or else the best staffing found;
* :func:`allocate_stations`: a fixed total of stations shared out over the points so that
  the latest point finishes as early as possible.

**"With confidence γ"** (``confidence``) means: the probability that a realisation of the
round meets *every* constraint at the point is at least γ, established with assurance ``A``
(``assurance``, default 0.95): the one-sided Clopper-Pearson lower ``A``-confidence bound of
that probability, from the share of replications that met every constraint, is at least γ.
A replication meets the constraints when its ``finish_h`` ≤ deadline, its
``wait_min.total.p90`` ≤ the limit, and (``fit_waiting_area``, points with a
``waiting_area``) its ``waiting_peak_overflow`` is 0. The number of replications is at least
the success-run size ``ceil(ln(1 - A) / ln γ)`` (29 for γ = 0.9, A = 0.95), the fewest that
can establish γ at all: with it, every replication must succeed.

**The search, per point.** Each staffed knob starts from a queueing-theory lower bound. While
the criterion fails, the knob serving the stage that holds the most resident-minutes of
waiting gets more servers (galloping: +1, +2, +4... while it stays the bottleneck). Once the
criterion passes, each knob in turn, dearest first (staff-hours per unit), comes down to the
fewest that still pass with the others fixed (galloping down, then bisecting). Passing is
assumed monotone in each knob, which common random numbers make nearly so: the answer is
evaluated, and removing any one server from it is evaluated and fails (a local least cost).

Every evaluation of the search uses the scenario's seed (common random numbers: the same
residents with the same service times whatever the staffing), so the KPIs move with the
staffing only. The answer is then run again with a fresh seed, ``seed + 1_000_003``
(modulo 2^63), and reported as verified or not by the same criterion.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from scipy import stats

from .. import __version__
from ..advice.feasibility import SHORTEN_STEP_H, DeadlineCheck, deadline_check
from ..advice.levers import (
    KNOB,
    MIN_CALLING_SPAN_H,
    Knob,
    knob_named,
    minimum_stations,
    scheduled_staff_hours,
    staffed_knobs,
    unit_cost_staff_hours,
    with_values,
)
from ..scenario import Problem, ScenarioError
from ..scenario.schema import MAX_SERVERS, PoissonArrivals, Point, Scenario, poisson_window
from .journal import Journal
from .replicate import RunResult, run_scenario

VERIFY_SEED_OFFSET = 1_000_003
DEFAULT_CONFIDENCE = 0.9
DEFAULT_ASSURANCE = 0.95
CAP_FACTOR = 4
"""The search gives up on a knob when ``max(CAP_FACTOR x start, start + CAP_MIN)`` servers fail."""
CAP_MIN = 32
STALL_LIMIT = 3
"""The search gives up on a point when this many increases in a row improve none of the broken constraints."""
SPAN_OPTIONS = 3
"""With the calling span searched: the longest spans within reach of the deadline tried, half an hour apart."""
SATURATED_H = 1.0 / 60.0
"""Allocation: a point whose last added station moved its finish by less than a minute is saturated."""

Say = Callable[[str], None]
Values = dict[str, float]
"""Knob name -> value at one point (``{"tents": 5, "temperature": 2}``)."""


# ------------------------------------------------------------------ the criterion

def success_run_size(confidence: float, assurance: float) -> int:
    """Fewest replications that can establish ``confidence`` at ``assurance`` (all of them succeeding)."""
    return max(1, math.ceil(math.log(1.0 - assurance) / math.log(confidence) - 1e-9))


def success_lower_bound(successes: int, n: int, assurance: float) -> float:
    """One-sided Clopper-Pearson lower bound of a success probability, at level ``assurance``."""
    if successes <= 0:
        return 0.0
    if successes >= n:
        return float((1.0 - assurance) ** (1.0 / n))
    return float(stats.beta.ppf(1.0 - assurance, successes, n - successes + 1))


def fewest_successes(n: int, confidence: float, assurance: float) -> int:
    """Fewest successes out of ``n`` that pass the criterion (``n + 1``: none do)."""
    passing = [s for s in range(n, -1, -1) if success_lower_bound(s, n, assurance) >= confidence]
    return min(passing) if passing else n + 1


@dataclass(frozen=True)
class Constraints:
    deadline_h: Optional[float]
    max_p90_wait_min: Optional[float]
    fit_waiting_area: bool = False
    confidence: float = DEFAULT_CONFIDENCE
    assurance: float = DEFAULT_ASSURANCE

    def failures(self, kpis: dict[str, Any], point: Optional[Point]) -> list[str]:
        """The constraints one replication's KPIs break (empty: it meets them all)."""
        broken = []
        finish = kpis.get("finish_h")
        if self.deadline_h is not None and finish is not None and finish > self.deadline_h:
            broken.append("deadline")
        wait = kpis["wait_min"]["total"]["p90"]
        if self.max_p90_wait_min is not None and wait is not None and math.isfinite(wait) and wait > self.max_p90_wait_min:
            broken.append("wait")
        if self.fit_waiting_area and (point is None or point.waiting_area is not None):
            if (kpis.get("waiting_peak_overflow") or 0) > 0:
                broken.append("waiting_area")
        return broken

    def describe(self) -> str:
        parts = []
        if self.deadline_h is not None:
            parts.append(f"finish_h <= {self.deadline_h:g}")
        if self.max_p90_wait_min is not None:
            parts.append(f"wait_min.total.p90 <= {self.max_p90_wait_min:g}")
        if self.fit_waiting_area:
            parts.append("waiting_peak_overflow == 0 (points with a waiting_area)")
        return (" and ".join(parts) + f" in a share of realisations of at least {self.confidence:g}, "
                f"established at {self.assurance:g} (one-sided Clopper-Pearson lower bound)")


@dataclass
class Evaluation:
    """One point with one staffing (and calling plan), over the replications of one run."""

    step: int
    phase: str  # search | verify | allocate
    point_id: str
    stations: int
    replications: int
    seed: int
    successes: int
    lower_bound: float
    passed: bool
    finish_h_mean: Optional[float]
    finish_h_max: Optional[float]
    wait_p90_mean: Optional[float]
    wait_p90_max: Optional[float]
    overflow_max: Optional[float]
    broken: dict[str, int] = field(default_factory=dict)
    """Replications that broke each constraint."""
    values: Values = field(default_factory=dict)
    """Every staffed knob's value (``tents`` included)."""
    calls_shortened_h: float = 0.0
    staff_hours_mean: Optional[float] = None
    waiting_by_stage: dict[str, float] = field(default_factory=dict)
    """Resident-minutes of waiting at each stage, mean over replications: where the bottleneck is."""

    @property
    def share(self) -> float:
        return self.successes / self.replications if self.replications else 0.0

    @staticmethod
    def csv_header(knobs: Sequence[str]) -> list[str]:
        """search.csv's columns, with the servers of each staffed knob but stations (``knobs``)."""
        return ["step", "phase", "point", "stations", "replications", "seed", "successes", "success_share",
                "success_lower_bound", "passed", "finish_h_mean", "finish_h_max", "wait_p90_min_mean",
                "wait_p90_min_max", "waiting_peak_overflow_max", "broken",
                *(f"{name}_servers" for name in knobs), "calls_shortened_h", "staff_hours_mean"]

    def row(self, knobs: Sequence[str]) -> list[Any]:
        return [self.step, self.phase, self.point_id, self.stations, self.replications, self.seed, self.successes,
                round(self.share, 6), round(self.lower_bound, 6), self.passed, self.finish_h_mean, self.finish_h_max,
                self.wait_p90_mean, self.wait_p90_max, self.overflow_max,
                ";".join(f"{k}:{v}" for k, v in self.broken.items()),
                *(self.values.get(name) for name in knobs), self.calls_shortened_h,
                self.staff_hours_mean]

    def describe(self, scenario: Optional[Scenario] = None) -> str:
        """"5 tents, 2 temperature checkers (calls 1 h shorter)"."""
        parts = [f"{int(value)} {knob_named(name).unit if value == 1 else knob_named(name).units}"
                 for name, value in self.values.items()]
        text = ", ".join(parts) or f"{self.stations} stations"
        return text + (f" (calling plan {self.calls_shortened_h:g} h shorter)" if self.calls_shortened_h else "")


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def evaluate_point(kpis_list: list[dict[str, Any]], point: Point, stations: int, constraints: Constraints,
                   step: int, phase: str, seed: int, values: Optional[Values] = None,
                   calls_shortened_h: float = 0.0) -> Evaluation:
    successes, broken = 0, {}
    for kpis in kpis_list:
        failing = constraints.failures(kpis, point)
        successes += not failing
        for name in failing:
            broken[name] = broken.get(name, 0) + 1
    n = len(kpis_list)
    lower = success_lower_bound(successes, n, constraints.assurance)
    finish = _finite([k.get("finish_h") for k in kpis_list])
    wait = _finite([k["wait_min"]["total"]["p90"] for k in kpis_list])
    overflow = _finite([k.get("waiting_peak_overflow") for k in kpis_list])
    staff = _finite([k.get("staff_hours") for k in kpis_list])
    stages = [s for s in kpis_list[0]["wait_min"] if s != "total"] if kpis_list else []
    waiting = {s: mean(_finite([(k["wait_min"][s]["mean"] or 0.0) * (k.get("sampled") or 0.0) for k in kpis_list
                                if k["wait_min"][s]["mean"] is not None])) or 0.0 for s in stages}
    return Evaluation(step, phase, point.id, stations, n, seed, successes, lower, lower >= constraints.confidence,
                      mean(finish), max(finish) if finish else None, mean(wait), max(wait) if wait else None,
                      max(overflow) if overflow else None, broken, dict(values or {"tents": stations}),
                      calls_shortened_h, mean(staff), waiting)


def mean(values: Sequence[float]) -> Optional[float]:
    return sum(values) / len(values) if values else None


# ------------------------------------------------------------------ where the search starts

def scenario_with(scenario: Scenario, stations: dict[str, int], only: Optional[Sequence[str]] = None,
                  seed: Optional[int] = None, replications: Optional[int] = None) -> Scenario:
    """The scenario with some points' stations changed (staff following); ``only`` keeps just those points."""
    return with_values(scenario, {pid: {"tents": count} for pid, count in stations.items()}, only=only, seed=seed,
                       replications=replications)


def expected_arrivals(scenario: Scenario, point: Point) -> float:
    arrivals = scenario.arrivals_for(point)
    roster = point.population * (1.0 - (point.home.share if point.home is not None else 0.0))
    if isinstance(arrivals, PoissonArrivals):
        start, end = poisson_window(arrivals, scenario.clock)
        return min(roster, arrivals.rate_per_hour * (end - start) / 3600.0 * scenario.round.days)
    return roster * getattr(arrivals, "show_up", 1.0)


def service_seconds(point: Point, stage: str) -> float:
    """Mean service time at a stage (registration: QR scans and manual entries mixed; swab: with disinfection),
    green-channel residents' longer service included."""
    config = point.stages.config(stage)
    service = config.service_s
    if hasattr(service, "mean_value"):
        mean_s = service.mean_value
    else:  # registration: by QR code or by hand
        mean_s = config.qr_share * service.qr.mean_value + (1.0 - config.qr_share) * service.manual.mean_value
    disinfection = getattr(config, "disinfection_s", None)
    if disinfection is not None:
        mean_s += disinfection.mean_value
    green = point.green_channel
    if green is not None:
        mean_s *= 1.0 + green.share * (green.service_factor - 1.0)
    return max(mean_s, 0.0)


def start_value(knob: Knob, scenario: Scenario, point: Point, deadline_h: Optional[float]) -> int:
    """A queueing-theory start for a knob: enough servers for the stage's work by the deadline and,
    for walk-ins, more servers than the offered load (else the line grows all day).

    A heuristic start, not a proof: the search also tries fewer when it passes.
    """
    stage = knob.stage
    work = expected_arrivals(scenario, point) * service_seconds(point, stage)
    deadline_s = scenario.deadline_s if deadline_h is None else scenario.clock.open_s + deadline_h * 3600.0
    hours = scenario.hours
    available = sum(max(0.0, min(close, deadline_s) - open_) for open_, close in hours)
    available += max(0.0, deadline_s - hours[-1][1])
    bound = math.ceil(work / available) if available > 0 else 1
    arrivals = scenario.arrivals_for(point)
    if isinstance(arrivals, PoissonArrivals):
        load = arrivals.rate_per_hour * service_seconds(point, stage) / 3600.0
        bound = max(bound, math.floor(load) + 1)
    low, high = knob.bounds(scenario, point)
    return int(min(high, MAX_SERVERS, max(low, bound)))


# ------------------------------------------------------------------ the search for one point

@dataclass
class StaffingSearch:
    """The least-cost staffing of one point that passes: up by the bottleneck, then each knob down.

    ``knobs`` are the point's staffed knobs, dearest first. ``fixed`` holds other knob values
    every candidate carries (the calling span being tried).
    """

    point_id: str
    knobs: list[str]
    minimum: dict[str, int]
    start: dict[str, int]
    cap: dict[str, int]
    serves: dict[str, tuple[str, ...]]
    fixed: Values = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    phase: str = "up"  # up | down | done | infeasible
    tried: dict[tuple, Evaluation] = field(default_factory=dict)
    pending: Optional[dict[str, int]] = None
    last_knob: Optional[str] = None
    up_step: int = 1
    down_index: int = 0
    down_step: int = 1
    stalled: int = 0
    previous: Optional[Evaluation] = None
    why: str = ""

    def __post_init__(self) -> None:
        self.current = dict(self.start)
        self.pending = dict(self.start)

    @property
    def done(self) -> bool:
        return self.phase in ("done", "infeasible")

    @property
    def answer(self) -> Optional[Evaluation]:
        return self.tried[self._key(self.current)] if self.phase == "done" else None

    def _key(self, values: dict[str, int]) -> tuple:
        return tuple(values[k] for k in self.knobs)

    def candidate(self) -> Values:
        return {**self.pending, **self.fixed}

    def record(self, evaluation: Evaluation) -> None:
        """Take the evaluation of the pending candidate; choose the next (reusing any already tried)."""
        while True:
            values = dict(self.pending)
            self.tried[self._key(values)] = evaluation
            if self.phase == "up":
                self._up(values, evaluation)
            else:
                self._down(values, evaluation)
            if self.done:
                self.pending = None
                return
            again = self.tried.get(self._key(self.pending))
            if again is None:
                return
            evaluation = again

    def _up(self, values: dict[str, int], e: Evaluation) -> None:
        if e.passed:
            self.current = values
            self.phase = "down"
            self._next_down()
            return
        if self.previous is not None and not _improved(self.previous, e):
            self.stalled += 1
        else:
            self.stalled = 0
        self.previous = e
        if self.stalled >= STALL_LIMIT:
            self.phase, self.why = "infeasible", (f"{STALL_LIMIT} increases in a row changed none of the broken "
                                                  "constraints: the staffing does not set them")
            return
        open_knobs = [k for k in self.knobs if values[k] < self.cap[k]]
        if not open_knobs:
            self.phase, self.why = "infeasible", "every staffed knob reached the search's cap"
            return
        waiting = e.waiting_by_stage

        def pressure(knob: str) -> float:
            return max((waiting.get(stage, 0.0) for stage in self.serves[knob]), default=0.0)

        knob = max(open_knobs, key=lambda k: (pressure(k), -self.knobs.index(k)))
        self.up_step = self.up_step * 2 if knob == self.last_knob else 1
        self.last_knob = knob
        self.pending = {**values, knob: min(self.cap[knob], values[knob] + self.up_step)}

    def _down(self, values: dict[str, int], e: Evaluation) -> None:
        if e.passed:
            self.current = values
        self._next_down()

    def _next_down(self) -> None:
        while self.down_index < len(self.knobs):
            knob = self.knobs[self.down_index]
            high = self.current[knob]
            low = self._highest_fail(knob)
            if high <= self.minimum[knob] or high - low <= 1:
                self.down_index += 1
                self.down_step = 1
                continue
            if low >= self.minimum[knob]:
                value = (low + high) // 2
            else:
                value = max(self.minimum[knob], high - self.down_step)
                self.down_step *= 2
            self.pending = {**self.current, knob: value}
            return
        self.phase = "done"

    def _highest_fail(self, knob: str) -> int:
        """The most servers of ``knob`` known to fail with the other knobs at their current values or more."""
        others = [k for k in self.knobs if k != knob]
        fails = [dict(zip(self.knobs, key))[knob] for key, e in self.tried.items() if not e.passed
                 and all(dict(zip(self.knobs, key))[k] >= self.current[k] for k in others)]
        return max(fails, default=self.minimum[knob] - 1)

    def best(self) -> Optional[Evaluation]:
        """The evaluation closest to passing: most successes, then fewest staff-hours."""
        if not self.tried:
            return None
        return max(self.tried.values(), key=lambda e: (e.successes, -(e.staff_hours_mean or 0.0)))


def _improved(before: Evaluation, after: Evaluation) -> bool:
    """Whether ``after`` moved any constraint ``before`` broke (more successes, or its KPI closer to the limit)."""
    if after.successes > before.successes:
        return True
    moved = {"deadline": (before.finish_h_mean, after.finish_h_mean, 1e-4),
             "wait": (before.wait_p90_mean, after.wait_p90_mean, 1e-3),
             "waiting_area": (before.overflow_max, after.overflow_max, 1e-9)}
    for name in before.broken:
        old, new, tolerance = moved[name]
        if old is not None and new is not None and new < old - tolerance:
            return True
    return False


@dataclass
class PlanSearch:
    """One point's search: a staffing search per calling plan tried (the plan as written, or shorter ones)."""

    point_id: str
    options: list[float]
    """Hours by which the calling plan is shortened, one staffing search each, in order."""
    make: Callable[[float, Optional[dict[str, int]]], StaffingSearch]
    span_h: Optional[float] = None
    searches: list[StaffingSearch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.searches.append(self.make(self.options[0], None))

    @property
    def search(self) -> StaffingSearch:
        return self.searches[-1]

    @property
    def done(self) -> bool:
        return self.search.done and len(self.searches) == len(self.options)

    def candidate(self) -> tuple[Values, float]:
        return self.search.candidate(), self.options[len(self.searches) - 1]

    def record(self, evaluation: Evaluation) -> None:
        self.search.record(evaluation)
        if self.search.done and len(self.searches) < len(self.options):
            found = self.search.answer
            start = {k: int(found.values[k]) for k in self.search.knobs} if found is not None else None
            self.searches.append(self.make(self.options[len(self.searches)], start))

    @property
    def answer(self) -> Optional[Evaluation]:
        """The cheapest passing staffing over the plans tried (ties: the longer calling plan)."""
        found = [s.answer for s in self.searches if s.answer is not None]
        return min(found, key=lambda e: ((e.staff_hours_mean or 0.0), e.calls_shortened_h)) if found else None

    def best(self) -> Optional[Evaluation]:
        tried = [s.best() for s in self.searches if s.best() is not None]
        return max(tried, key=lambda e: (e.successes, -(e.staff_hours_mean or 0.0))) if tried else None

    @property
    def why(self) -> str:
        return "; ".join(dict.fromkeys(s.why for s in self.searches if s.why))


class InfeasibleTarget(Exception):
    """No staffing meets the target at some points: each reason names the field to change.

    ``best`` holds, per point the search ran, the evaluation closest to passing (None when the
    arrivals proved it out of reach before any simulation).
    """

    def __init__(self, reasons: dict[str, str], best: dict[str, Optional[Evaluation]],
                 evaluations: Sequence[Evaluation] = ()):
        self.reasons = reasons
        self.best = best
        self.evaluations = list(evaluations)
        super().__init__("\n".join(f"{pid}: {reason}" for pid, reason in reasons.items()))


@dataclass
class OptimiseResult:
    """The answer of a search (or an allocation), its path and its verification."""

    mode: str  # stations | allocation
    scenario: Scenario
    optimised: Scenario
    constraints: Optional[Constraints]
    replications: int
    evaluations: list[Evaluation]
    answers: dict[str, Optional[int]]
    """Stations per point."""
    starts: dict[str, int]
    verification: list[Evaluation]
    verification_run: Optional[RunResult]
    verify_seed: int
    total: Optional[int] = None
    allocation_steps: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    staffing: dict[str, Values] = field(default_factory=dict)
    """Per point, every staffed knob's value in the answer."""
    calls_shortened_h: dict[str, float] = field(default_factory=dict)
    file: str = ""

    @property
    def feasible(self) -> bool:
        return all(answer is not None for answer in self.answers.values())

    @property
    def other_knobs(self) -> list[str]:
        """The staffed knobs searched besides the stations (temperature, registration, each plain stage's), by name."""
        return [knob.name for knob in staffed_knobs(self.scenario)[1:]]

    @property
    def verified(self) -> Optional[bool]:
        """Stations mode: every point passes the criterion again with the fresh seed."""
        if self.mode != "stations" or not self.verification:
            return None
        return all(e.passed for e in self.verification)

    def staff_hours(self, scenario: Scenario) -> float:
        """Staff-hours the scenario's staff plans schedule (overtime aside)."""
        return sum(scheduled_staff_hours(p, scenario) for p in scenario.points)

    def summary(self) -> dict[str, Any]:
        before = {p.id: p.stations for p in self.scenario.points}
        by_point = {e.point_id: e for e in self.verification}
        run = self.verification_run.summary if self.verification_run is not None else None
        optimised = {p.id: p for p in self.optimised.points}
        out: dict[str, Any] = {
            "mode": self.mode,
            "scenario": self.scenario.name,
            "file": self.file,
            "seed": self.scenario.seed,
            "verify_seed": self.verify_seed,
            "replications": self.replications,
            "evaluations": sum(1 for e in self.evaluations),
            "elapsed_s": round(self.elapsed_s, 3),
            "stations_before": sum(before.values()),
            "stations_after": sum(a for a in self.answers.values() if a is not None) if self.feasible else None,
            "staff_hours_scheduled_before": round(self.staff_hours(self.scenario), 6),
            "staff_hours_scheduled_after": round(self.staff_hours(self.optimised), 6),
            "feasible": self.feasible,
        }
        if self.constraints is not None:
            c = self.constraints
            out["criterion"] = {
                "definition": c.describe(),
                "deadline_h": c.deadline_h, "max_p90_wait_min": c.max_p90_wait_min,
                "fit_waiting_area": c.fit_waiting_area, "confidence": c.confidence, "assurance": c.assurance,
                "replications_needed_at_least": success_run_size(c.confidence, c.assurance),
            }
        if self.mode == "allocation":
            out["total_stations"] = self.total
            out["objective"] = "minimise the latest point's mean finish_h (greedy marginal allocation)"
            out["allocation_steps"] = len(self.allocation_steps)
        out["verified"] = self.verified
        out["points"] = []
        for p in self.scenario.points:
            v = by_point.get(p.id)
            out["points"].append({
                "id": p.id, "population": p.population, "stations_before": before[p.id],
                "start": self.starts.get(p.id), "stations": self.answers.get(p.id),
                "servers_before": {k.name: k.value(self.scenario, p) for k in staffed_knobs(self.scenario)
                                   if k.why_not(self.scenario, p) is None},
                "servers": {k.name: k.value(self.optimised, optimised[p.id]) for k in staffed_knobs(self.scenario)
                            if k.why_not(self.optimised, optimised[p.id]) is None},
                "calls_shortened_h": self.calls_shortened_h.get(p.id, 0.0),
                "evaluations": sum(1 for e in self.evaluations if e.point_id == p.id),
                "verification": None if v is None else {
                    "successes": v.successes, "replications": v.replications,
                    "success_lower_bound": v.lower_bound, "passed": v.passed,
                    "finish_h_mean": v.finish_h_mean, "wait_p90_min_mean": v.wait_p90_mean,
                    "staff_hours_mean": v.staff_hours_mean,
                },
            })
        if run is not None:
            k = run["kpis"]
            out["verification_run"] = {"seed": run["seed"], "replications": run["replications"],
                                       "finish_h": k["finish_h"], "wait_p90_min": k["wait_min"]["total"]["p90"],
                                       "sampled_by_deadline_share": k["sampled_by_deadline_share"],
                                       "staff_hours": k["staff_hours"]}
        return out


# ------------------------------------------------------------------ evaluation rounds

def _json_safe(value: Any) -> Any:
    """KPIs for the journal: NaN and infinities become null (every reader skips non-finite values)."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def evaluation_journal(folder: Path) -> Journal:
    """The journal of finished evaluations in ``folder``.

    An evaluation is keyed by the exact scenario it ran (seed and replications included),
    and gives the same KPIs whatever the engine, executor or jobs; so any earlier
    evaluation of the same scenario, from this optimisation or another, can be reused.
    """
    return Journal(folder, {"journal_schema": 1, "design_hash": f"optimise-evaluations:{__version__}"})


def run_cached(scenario: Scenario, journal: Optional[Journal], done: dict[str, dict[str, Any]],
               points: Sequence[str], run_kwargs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per point asked, the per-replication KPIs of ``scenario``: from the journal, or run and recorded."""
    key = hashlib.sha256(scenario.model_dump_json().encode("utf-8")).hexdigest()
    if key not in done:
        result = run_scenario(scenario, **run_kwargs)
        done[key] = {"key": key, "point_kpis": _json_safe({pid: result.point_kpis[pid] for pid in result.point_kpis})}
        if journal is not None:
            journal.add(done[key])
    return {pid: done[key]["point_kpis"][pid] for pid in points}


class _Evaluator:
    """Runs candidate staffings, the whole scenario (sample chain) or only the points asked (no chain)."""

    def __init__(self, scenario: Scenario, replications: int, constraints: Optional[Constraints],
                 run_kwargs: dict[str, Any], say: Say, journal_folder: Optional[Path] = None):
        self.journal = evaluation_journal(journal_folder) if journal_folder is not None else None
        self.done = self.journal.load() if self.journal is not None else {}
        if self.journal is not None:
            self.journal.start()
            if self.done:
                say(f"resuming: {len(self.done)} evaluation(s) already done are reused")
        self.scenario = scenario
        self.replications = replications
        self.constraints = constraints
        self.run_kwargs = run_kwargs
        self.say = say
        self.points = {p.id: p for p in scenario.points}
        self.current: dict[str, Values] = {p.id: {} for p in scenario.points}
        self.step = 0
        self.evaluations: list[Evaluation] = []

    def run(self, candidates: dict[str, Values], phase: str, seed: Optional[int] = None) -> dict[str, list[dict[str, Any]]]:
        """Per point asked, its per-replication KPIs with the knob values of ``candidates``."""
        self.step += 1
        if self.scenario.chain is not None:
            values = {**self.current, **candidates}
            run_on = with_values(self.scenario, values, seed=seed, replications=self.replications)
        else:
            run_on = with_values(self.scenario, candidates, only=list(candidates), seed=seed,
                                 replications=self.replications)
        return run_cached(run_on, self.journal, self.done, list(candidates), self.run_kwargs)

    def judge(self, candidates: dict[str, tuple[Values, float]], phase: str) -> dict[str, Evaluation]:
        """Evaluate each point's (knob values, hours the calling plan is shortened)."""
        kpis = self.run({pid: values for pid, (values, _) in candidates.items()}, phase)
        out = {}
        for pid, (values, shortened) in candidates.items():
            staffed = {k: v for k, v in values.items() if knob_named(k).staffed}
            evaluation = evaluate_point(kpis[pid], self.points[pid], int(staffed["tents"]), self.constraints,
                                        self.step, phase, self.scenario.seed, staffed, shortened)
            self.evaluations.append(evaluation)
            out[pid] = evaluation
            self.say(f"  {phase} {self.step}: {pid} with {evaluation.describe()}: "
                     f"{evaluation.successes}/{evaluation.replications} replications meet the constraints "
                     f"(lower bound {evaluation.lower_bound:.3f}) -> {'pass' if evaluation.passed else 'fail'}")
        return out


def _check_numbers(confidence: float, assurance: float, deadline_h: Optional[float],
                   max_p90_wait_min: Optional[float]) -> None:
    problems = []
    if deadline_h is not None and not (math.isfinite(deadline_h) and deadline_h > 0):
        problems.append(Problem("<arguments>", None, "--deadline", f"{deadline_h:g} must be a positive number of hours"))
    if max_p90_wait_min is not None and not (math.isfinite(max_p90_wait_min) and max_p90_wait_min >= 0):
        problems.append(Problem("<arguments>", None, "--max-p90-wait",
                                f"{max_p90_wait_min:g} must be a number of minutes >= 0"))
    if not 0 < confidence < 1:
        problems.append(Problem("<arguments>", None, "--confidence", f"{confidence:g} must lie strictly between 0 and 1"))
    if not 0 < assurance < 1:
        problems.append(Problem("<arguments>", None, "--assurance", f"{assurance:g} must lie strictly between 0 and 1"))
    if problems:
        raise ScenarioError(problems)


def verify_seed_of(seed: int) -> int:
    return (seed + VERIFY_SEED_OFFSET) % 2**63


def _calling_options(scenario: Scenario, point: Point, constraints: Constraints, replications: int,
                     needed: int, calling_span: bool) -> tuple[list[float], Optional[DeadlineCheck]]:
    """Hours by which the point's calling plan is shortened in the search, and the check of the plan as written.

    Without ``calling_span``: the plan as written, unless the arrivals prove the deadline out of
    its reach (no option). With it: the ``SPAN_OPTIONS`` longest plans, half an hour apart, within reach.
    """
    if constraints.deadline_h is None:
        return [0.0], None
    written = deadline_check(scenario, point, constraints.deadline_h, replications, needed)
    knob = KNOB["calling_span"]
    if not calling_span or knob.why_not(scenario, point) is not None:
        return ([0.0] if written is None or written.within_reach else []), written
    span = knob.value(scenario, point)
    options: list[float] = []
    shortened = 0.0
    while len(options) < SPAN_OPTIONS and span - shortened >= MIN_CALLING_SPAN_H - 1e-9:
        if shortened == 0.0:
            check = written
        else:
            variant = with_values(scenario, {point.id: {knob.name: span - shortened}}, only=[point.id])
            check = deadline_check(variant, variant.points[0], constraints.deadline_h, replications, needed,
                                   explain=False)
        if check is None or check.within_reach:
            options.append(shortened)
        shortened += SHORTEN_STEP_H
    return options, written


def optimise_staffing(
    scenario: Scenario,
    deadline_h: Optional[float],
    max_p90_wait_min: Optional[float],
    confidence: float = DEFAULT_CONFIDENCE,
    fit_waiting_area: bool = False,
    assurance: float = DEFAULT_ASSURANCE,
    replications: Optional[int] = None,
    say: Optional[Say] = None,
    journal_folder: Optional[Path] = None,
    calling_span: bool = False,
    file: str = "",
    **run_kwargs: Any,
) -> OptimiseResult:
    """The least staff-hours per point meeting the constraints with ``confidence`` (see the module doc).

    ``deadline_h`` None: the scenario's deadline; ``max_p90_wait_min`` None: no wait limit.
    ``replications``: default the larger of the scenario's and the success-run size.
    ``calling_span``: also try calling plans shortened by half hours (the longest within reach).
    ``run_kwargs`` (``jobs``, ``executor``, ``engine`` ...) go to every ``run_scenario``.
    ``journal_folder``: record every evaluation there, and reuse those already recorded
    (an interrupted optimisation resumes without repeating them).
    Raises :class:`InfeasibleTarget` when some point cannot meet the target.
    """
    started = time.perf_counter()
    say = say or (lambda text: None)
    if deadline_h is None:
        deadline_h = (scenario.deadline_s - scenario.clock.open_s) / 3600.0
    _check_numbers(confidence, assurance, deadline_h, max_p90_wait_min)
    constraints = Constraints(deadline_h, max_p90_wait_min, fit_waiting_area, confidence, assurance)
    need = success_run_size(confidence, assurance)
    n = max(scenario.replications, need) if replications is None else replications
    if n < need:
        raise ScenarioError([Problem("<arguments>", None, "--replications",
                                     f"{n} replications cannot establish confidence {confidence:g} at assurance "
                                     f"{assurance:g}: at least {need} are needed")])
    needed = fewest_successes(n, confidence, assurance)
    # Out of reach by the arrivals alone: said before any simulation.
    plans: dict[str, list[float]] = {}
    unreachable: dict[str, str] = {}
    for point in scenario.points:
        options, written = _calling_options(scenario, point, constraints, n, needed, calling_span)
        plans[point.id] = options
        if not options:
            unreachable[point.id] = written.reason if written is not None else "the deadline is out of reach"
        elif written is not None and not written.within_reach:
            say(f"  {point.id}: the calling plan as written cannot meet the deadline; trying it "
                f"{', '.join(f'{o:g}' for o in options)} h shorter")
    if unreachable:
        raise InfeasibleTarget(unreachable, {pid: None for pid in unreachable})
    evaluator = _Evaluator(scenario, n, constraints, run_kwargs, say, journal_folder)
    searches: dict[str, PlanSearch] = {}
    for point in scenario.points:
        knobs = sorted((k for k in staffed_knobs(scenario) if k.why_not(scenario, point) is None),
                       key=lambda k: -unit_cost_staff_hours(k, scenario, point))
        starts = {k.name: start_value(k, scenario, point, deadline_h) for k in knobs}
        span = KNOB["calling_span"].value(scenario, point) if plans[point.id] != [0.0] else None

        def make(shortened: float, start: Optional[dict[str, int]], point=point, knobs=knobs, starts=starts,
                 span=span) -> StaffingSearch:
            first = start or starts
            return StaffingSearch(
                point.id, [k.name for k in knobs],
                minimum={k.name: int(k.bounds(scenario, point)[0]) for k in knobs}, start=dict(first),
                cap={k.name: int(min(MAX_SERVERS, max(CAP_FACTOR * first[k.name], first[k.name] + CAP_MIN)))
                     for k in knobs},
                serves={k.name: k.serves(point) for k in knobs},
                fixed={"calling_span": span - shortened} if shortened else {})

        searches[point.id] = PlanSearch(point.id, plans[point.id], make, span)
    while True:
        open_searches = [s for s in searches.values() if not s.done]
        if not open_searches:
            break
        candidates = {s.point_id: s.candidate() for s in open_searches}
        for pid, evaluation in evaluator.judge(candidates, "search").items():
            searches[pid].record(evaluation)
            evaluator.current[pid] = candidates[pid][0]
    failed = {pid: s for pid, s in searches.items() if s.answer is None}
    if failed:
        reasons = {}
        for pid, s in failed.items():
            best = s.best()
            reasons[pid] = (f"no staffing the search tried meets {constraints.describe()} ({s.why}); the best found, "
                            f"{best.describe()}, met them in {best.successes} of {best.replications} replications"
                            + (f" (broken: {', '.join(f'{k} in {v}' for k, v in best.broken.items())})"
                               if best.broken else "")
                            + "; relax --deadline, --max-p90-wait or --confidence, or change the calling plan")
        raise InfeasibleTarget(reasons, {pid: s.best() for pid, s in failed.items()}, evaluator.evaluations)
    answers = {pid: s.answer for pid, s in searches.items()}
    values = {pid: {**e.values, **({"calling_span": searches[pid].span_h - e.calls_shortened_h}
                                   if e.calls_shortened_h else {})} for pid, e in answers.items()}
    optimised = with_values(scenario, values)
    # Verification: the whole optimised scenario again, with a fresh seed.
    seed = verify_seed_of(scenario.seed)
    check = with_values(scenario, values, seed=seed, replications=n)
    verification_run = run_scenario(check, **run_kwargs)
    verification = []
    for point in check.points:
        answer = answers[point.id]
        e = evaluate_point(verification_run.point_kpis[point.id], point, point.stations, constraints,
                           evaluator.step + 1, "verify", seed, answer.values, answer.calls_shortened_h)
        verification.append(e)
        say(f"  verify: {point.id} with {e.describe()}, seed {seed}: {e.successes}/{e.replications} "
            f"(lower bound {e.lower_bound:.3f}) -> {'pass' if e.passed else 'fail'}")
    return OptimiseResult("stations", scenario, optimised, constraints, n, evaluator.evaluations,
                          {pid: int(e.values["tents"]) for pid, e in answers.items()},
                          {pid: s.searches[0].start["tents"] for pid, s in searches.items()}, verification,
                          verification_run, seed, elapsed_s=time.perf_counter() - started,
                          staffing={pid: dict(e.values) for pid, e in answers.items()},
                          calls_shortened_h={pid: e.calls_shortened_h for pid, e in answers.items()}, file=file)


optimise_stations = optimise_staffing
"""The earlier name: stations were its only knob."""


def allocate_stations(
    scenario: Scenario,
    total: int,
    replications: Optional[int] = None,
    say: Optional[Say] = None,
    journal_folder: Optional[Path] = None,
    file: str = "",
    **run_kwargs: Any,
) -> OptimiseResult:
    """Share ``total`` stations over the points so that the latest point finishes earliest.

    Greedy marginal allocation on each point's mean ``finish_h`` (common random numbers):
    every point starts at its minimum (1, or one more than its dedicated green-channel
    stations); each step gives one station to the point finishing latest (a point whose last
    station moved its finish by less than a minute is skipped while others can still gain),
    and re-evaluates that point only. Exact for the min-max objective when each point's
    finish time does not increase with stations; see docs/experiments.md for its limits.
    """
    started = time.perf_counter()
    say = say or (lambda text: None)
    minimum = {p.id: minimum_stations(p) for p in scenario.points}
    floor = sum(minimum.values())
    if not isinstance(total, int) or total < floor or total > MAX_SERVERS * len(scenario.points):
        raise ScenarioError([Problem("<arguments>", None, "--total-stations",
                                     f"{total} cannot give each of the {len(scenario.points)} point(s) its minimum "
                                     f"({floor} stations in all)" if isinstance(total, int) and total < floor else
                                     f"{total} is not a usable number of stations")])
    n = scenario.replications if replications is None else replications
    evaluator = _Evaluator(scenario, n, None, run_kwargs, say, journal_folder)
    stations = dict(minimum)
    finish: dict[str, float] = {}
    gain: dict[str, float] = {pid: math.inf for pid in stations}

    def measure(candidates: dict[str, int], phase: str) -> None:
        kpis = evaluator.run({pid: {"tents": count} for pid, count in candidates.items()}, phase)
        for pid, count in candidates.items():
            e = evaluate_point(kpis[pid], evaluator.points[pid], count, Constraints(None, None), evaluator.step,
                               phase, scenario.seed)
            evaluator.evaluations.append(e)
            value = e.finish_h_mean if e.finish_h_mean is not None else 0.0
            if pid in finish:
                gain[pid] = finish[pid] - value
            finish[pid] = value

    measure(dict(stations), "allocate")
    evaluator.current = {pid: {"tents": count} for pid, count in stations.items()}
    steps: list[dict[str, Any]] = [{"step": 0, "point": None, "stations": sum(stations.values()),
                                    "latest_point": max(finish, key=finish.get), "finish_h": max(finish.values())}]
    while sum(stations.values()) < total:
        eligible = [pid for pid in stations if gain[pid] >= SATURATED_H and stations[pid] < MAX_SERVERS]
        pool = eligible or [pid for pid in stations if stations[pid] < MAX_SERVERS]
        pid = max(pool, key=lambda p: finish[p])  # ties: the first in scenario order
        stations[pid] += 1
        evaluator.current[pid] = {"tents": stations[pid]}
        measure({pid: stations[pid]}, "allocate")
        latest = max(finish, key=finish.get)
        steps.append({"step": len(steps), "point": pid, "stations": sum(stations.values()), "latest_point": latest,
                      "finish_h": finish[latest]})
        say(f"  allocate {len(steps) - 1}: +1 station to {pid} ({stations[pid]}); latest point {latest} "
            f"finishes at {finish[latest]:.2f} h")
    optimised = scenario_with(scenario, stations)
    seed = verify_seed_of(scenario.seed)
    check = scenario_with(scenario, stations, seed=seed, replications=n)
    verification_run = run_scenario(check, **run_kwargs)
    verification = [evaluate_point(verification_run.point_kpis[p.id], p, p.stations, Constraints(None, None),
                                   evaluator.step + 1, "verify", seed) for p in check.points]
    return OptimiseResult("allocation", scenario, optimised, None, n, evaluator.evaluations, dict(stations),
                          dict(minimum), verification, verification_run, seed, total=total, allocation_steps=steps,
                          elapsed_s=time.perf_counter() - started, file=file)
