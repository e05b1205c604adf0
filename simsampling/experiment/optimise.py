"""How many stations each point needs: ``simsampling optimise`` (documented in docs/experiments.md).

Two questions:

* :func:`optimise_stations`: the fewest stations per point such that, with the stated
  confidence, the round finishes by the deadline, the p90 total wait stays within a limit
  and (optionally) the line stays inside the marked waiting area;
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

Every evaluation of the search uses the scenario's seed (common random numbers: the same
residents with the same service times whatever the number of stations), so the KPIs move
with the stations only. The answer is then run again with a fresh seed, ``seed + 1_000_003``
(modulo 2^63), and reported as verified or not by the same criterion.

Stations: a point's ``tents`` (or ``stages.swab.servers`` when it is a number). Paired
registrars follow the stations; explicit sampler counts (``staff.samplers``) and the
sampler shifts of a rota are moved by the same number of stations; desks, the entrance
check, relief and marshals stay as they are.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from scipy import stats

from .. import __version__
from ..scenario import Problem, ScenarioError, validate_scenario
from ..scenario.schema import MAX_SERVERS, PoissonArrivals, Point, Scenario, poisson_window
from .journal import Journal
from .replicate import RunResult, run_scenario

VERIFY_SEED_OFFSET = 1_000_003
DEFAULT_CONFIDENCE = 0.9
DEFAULT_ASSURANCE = 0.95
CAP_FACTOR = 4
"""The search gives up on a point (infeasible) when ``max(CAP_FACTOR x start, start + CAP_MIN)`` stations fail."""
CAP_MIN = 32
SATURATED_H = 1.0 / 60.0
"""Allocation: a point whose last added station moved its finish by less than a minute is saturated."""

Say = Callable[[str], None]


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
    """One point at one number of stations, over the replications of one run."""

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

    @property
    def share(self) -> float:
        return self.successes / self.replications if self.replications else 0.0

    CSV_HEADER = ["step", "phase", "point", "stations", "replications", "seed", "successes", "success_share",
                  "success_lower_bound", "passed", "finish_h_mean", "finish_h_max", "wait_p90_min_mean",
                  "wait_p90_min_max", "waiting_peak_overflow_max", "broken"]

    def row(self) -> list[Any]:
        return [self.step, self.phase, self.point_id, self.stations, self.replications, self.seed, self.successes,
                round(self.share, 6), round(self.lower_bound, 6), self.passed, self.finish_h_mean, self.finish_h_max,
                self.wait_p90_mean, self.wait_p90_max, self.overflow_max,
                ";".join(f"{k}:{v}" for k, v in self.broken.items())]


def _finite(values: Sequence[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def evaluate_point(kpis_list: list[dict[str, Any]], point: Point, stations: int, constraints: Constraints,
                   step: int, phase: str, seed: int) -> Evaluation:
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

    def mean(v):
        return sum(v) / len(v) if v else None

    return Evaluation(step, phase, point.id, stations, n, seed, successes, lower, lower >= constraints.confidence,
                      mean(finish), max(finish) if finish else None, mean(wait), max(wait) if wait else None,
                      max(overflow) if overflow else None, broken)


# ------------------------------------------------------------------ stations and bounds

def minimum_stations(point: Point) -> int:
    green = point.green_channel
    return green.stations + 1 if green is not None and green.channel == "dedicated" else 1


def point_with_stations(data: dict[str, Any], point: Point, stations: int) -> dict[str, Any]:
    """The point's data (a ``model_dump``) with ``stations`` stations, staff following."""
    data = dict(data)
    change = stations - point.stations
    swab = dict(data["stages"]["swab"])
    if swab.get("servers", "per_tent") == "per_tent":
        data["tents"] = stations
    else:
        if point.tents == point.stations:
            data["tents"] = stations
        swab["servers"] = stations
    data["stages"] = {**data["stages"], "swab": swab}
    staff = data.get("staff")
    if staff is not None and change:
        staff = dict(staff)
        if staff.get("samplers") is not None:
            staff["samplers"] = max(0, staff["samplers"] + change)
        staff["rota"] = [{**shift, "count": max(0, shift["count"] + change)} if shift["role"] == "sampler" else shift
                         for shift in staff.get("rota", [])]
        data["staff"] = staff
    return data


def scenario_with(scenario: Scenario, stations: dict[str, int], only: Optional[Sequence[str]] = None,
                  seed: Optional[int] = None, replications: Optional[int] = None) -> Scenario:
    """The scenario with some points' stations changed; ``only`` keeps just those points (in scenario order)."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    keep = None if only is None else set(only)
    points = []
    for point, point_data in zip(scenario.points, data["points"]):
        if keep is not None and point.id not in keep:
            continue
        points.append(point_with_stations(point_data, point, stations[point.id]) if point.id in stations else point_data)
    data["points"] = points
    if seed is not None:
        data["seed"] = seed
    if replications is not None:
        data["replications"] = replications
    return validate_scenario(data, file=f"<{scenario.name}>")


def expected_arrivals(scenario: Scenario, point: Point) -> float:
    arrivals = scenario.arrivals_for(point)
    roster = point.population * (1.0 - (point.home.share if point.home is not None else 0.0))
    if isinstance(arrivals, PoissonArrivals):
        start, end = poisson_window(arrivals, scenario.clock)
        return min(roster, arrivals.rate_per_hour * (end - start) / 3600.0 * scenario.round.days)
    return roster * getattr(arrivals, "show_up", 1.0)


def swab_seconds(point: Point) -> float:
    swab = point.stages.swab
    mean = swab.service_s.mean_value + (swab.disinfection_s.mean_value if swab.disinfection_s is not None else 0.0)
    green = point.green_channel
    if green is not None:
        mean *= 1.0 + green.share * (green.service_factor - 1.0)
    return max(mean, 0.0)


def lower_bound(scenario: Scenario, point: Point, deadline_h: Optional[float]) -> int:
    """A queueing-theory start for the search: enough stations for the swab work by the deadline and,
    for walk-ins, more stations than the offered load (else the line grows all day).

    A heuristic start, not a proof: the search also tries fewer stations when it passes.
    """
    work = expected_arrivals(scenario, point) * swab_seconds(point)
    deadline_s = scenario.deadline_s if deadline_h is None else scenario.clock.open_s + deadline_h * 3600.0
    hours = scenario.hours
    available = sum(max(0.0, min(close, deadline_s) - open_) for open_, close in hours)
    available += max(0.0, deadline_s - hours[-1][1])
    bound = math.ceil(work / available) if available > 0 else 1
    arrivals = scenario.arrivals_for(point)
    if isinstance(arrivals, PoissonArrivals):
        load = arrivals.rate_per_hour * swab_seconds(point) / 3600.0
        bound = max(bound, math.floor(load) + 1)
    return int(min(MAX_SERVERS, max(minimum_stations(point), bound)))


# ------------------------------------------------------------------ the search for one point

@dataclass
class PointSearch:
    """Smallest passing number of stations: gallop from the start, then bisect (pass is monotone in stations)."""

    point_id: str
    minimum: int
    start: int
    cap: int
    highest_fail: Optional[int] = None
    lowest_pass: Optional[int] = None
    step: int = 1
    evaluations: int = 0
    infeasible: bool = False

    @property
    def done(self) -> bool:
        if self.infeasible:
            return True
        if self.lowest_pass is None:
            return False
        return self.lowest_pass == self.minimum or (self.highest_fail is not None and self.lowest_pass - self.highest_fail <= 1)

    @property
    def answer(self) -> Optional[int]:
        return None if self.infeasible else self.lowest_pass

    def candidate(self) -> int:
        if self.evaluations == 0:
            return self.start
        if self.lowest_pass is None:  # only failures: gallop up
            return min(self.cap, self.highest_fail + self.step)
        if self.highest_fail is None:  # only passes: gallop down
            return max(self.minimum, self.lowest_pass - self.step)
        return (self.highest_fail + self.lowest_pass) // 2

    def record(self, stations: int, passed: bool) -> None:
        gallop = self.highest_fail is None or self.lowest_pass is None
        self.evaluations += 1
        if passed:
            self.lowest_pass = stations if self.lowest_pass is None else min(self.lowest_pass, stations)
        else:
            self.highest_fail = stations if self.highest_fail is None else max(self.highest_fail, stations)
            if self.lowest_pass is None and stations >= self.cap:
                self.infeasible = True
        if gallop and self.evaluations > 1:
            self.step *= 2


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
    starts: dict[str, int]
    verification: list[Evaluation]
    verification_run: Optional[RunResult]
    verify_seed: int
    total: Optional[int] = None
    allocation_steps: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def feasible(self) -> bool:
        return all(answer is not None for answer in self.answers.values())

    @property
    def verified(self) -> Optional[bool]:
        """Stations mode: every point passes the criterion again with the fresh seed."""
        if self.mode != "stations" or not self.verification:
            return None
        return all(e.passed for e in self.verification)

    def summary(self) -> dict[str, Any]:
        before = {p.id: p.stations for p in self.scenario.points}
        by_point = {e.point_id: e for e in self.verification}
        run = self.verification_run.summary if self.verification_run is not None else None
        out: dict[str, Any] = {
            "mode": self.mode,
            "scenario": self.scenario.name,
            "seed": self.scenario.seed,
            "verify_seed": self.verify_seed,
            "replications": self.replications,
            "evaluations": sum(1 for e in self.evaluations),
            "elapsed_s": round(self.elapsed_s, 3),
            "stations_before": sum(before.values()),
            "stations_after": sum(a for a in self.answers.values() if a is not None) if self.feasible else None,
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
        out["points"] = [
            {
                "id": p.id, "population": p.population, "stations_before": before[p.id],
                "start": self.starts.get(p.id), "stations": self.answers.get(p.id),
                "evaluations": sum(1 for e in self.evaluations if e.point_id == p.id),
                "verification": None if p.id not in by_point else {
                    "successes": by_point[p.id].successes, "replications": by_point[p.id].replications,
                    "success_lower_bound": by_point[p.id].lower_bound, "passed": by_point[p.id].passed,
                    "finish_h_mean": by_point[p.id].finish_h_mean, "wait_p90_min_mean": by_point[p.id].wait_p90_mean,
                },
            }
            for p in self.scenario.points
        ]
        if run is not None:
            k = run["kpis"]
            out["verification_run"] = {"seed": run["seed"], "replications": run["replications"],
                                       "finish_h": k["finish_h"], "wait_p90_min": k["wait_min"]["total"]["p90"],
                                       "sampled_by_deadline_share": k["sampled_by_deadline_share"]}
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
    """Runs candidate station counts, the whole scenario (sample chain) or only the points asked (no chain)."""

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
        self.current = {p.id: p.stations for p in scenario.points}
        self.step = 0
        self.evaluations: list[Evaluation] = []

    def run(self, candidates: dict[str, int], phase: str, seed: Optional[int] = None) -> dict[str, list[dict[str, Any]]]:
        """Per point asked, its per-replication KPIs with ``candidates`` stations."""
        self.step += 1
        if self.scenario.chain is not None:
            stations = {**self.current, **candidates}
            run_on = scenario_with(self.scenario, stations, seed=seed, replications=self.replications)
        else:
            run_on = scenario_with(self.scenario, candidates, only=list(candidates), seed=seed,
                                   replications=self.replications)
        return run_cached(run_on, self.journal, self.done, list(candidates), self.run_kwargs)

    def judge(self, candidates: dict[str, int], phase: str) -> dict[str, Evaluation]:
        kpis = self.run(candidates, phase)
        out = {}
        for pid, stations in candidates.items():
            evaluation = evaluate_point(kpis[pid], self.points[pid], stations, self.constraints, self.step, phase,
                                        self.scenario.seed)
            self.evaluations.append(evaluation)
            out[pid] = evaluation
            self.say(f"  {phase} {self.step}: {pid} with {stations} station(s): "
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


def optimise_stations(
    scenario: Scenario,
    deadline_h: Optional[float],
    max_p90_wait_min: Optional[float],
    confidence: float = DEFAULT_CONFIDENCE,
    fit_waiting_area: bool = False,
    assurance: float = DEFAULT_ASSURANCE,
    replications: Optional[int] = None,
    say: Optional[Say] = None,
    journal_folder: Optional[Path] = None,
    **run_kwargs: Any,
) -> OptimiseResult:
    """The fewest stations per point meeting the constraints with ``confidence`` (see the module doc).

    ``deadline_h`` None: the scenario's deadline; ``max_p90_wait_min`` None: no wait limit.
    ``replications``: default the larger of the scenario's and the success-run size.
    ``run_kwargs`` (``jobs``, ``executor``, ``engine`` ...) go to every ``run_scenario``.
    ``journal_folder``: record every evaluation there, and reuse those already recorded
    (an interrupted optimisation resumes without repeating them).
    """
    import time

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
    evaluator = _Evaluator(scenario, n, constraints, run_kwargs, say, journal_folder)
    searches = {}
    for point in scenario.points:
        start = lower_bound(scenario, point, deadline_h)
        searches[point.id] = PointSearch(point.id, minimum_stations(point), start,
                                         cap=min(MAX_SERVERS, max(CAP_FACTOR * start, start + CAP_MIN)))
    while True:
        open_searches = [s for s in searches.values() if not s.done]
        if not open_searches:
            break
        candidates = {s.point_id: s.candidate() for s in open_searches}
        for pid, evaluation in evaluator.judge(candidates, "search").items():
            searches[pid].record(evaluation.stations, evaluation.passed)
    answers = {pid: s.answer for pid, s in searches.items()}
    final = {pid: (a if a is not None else searches[pid].cap) for pid, a in answers.items()}
    optimised = scenario_with(scenario, final)
    # Verification: the whole optimised scenario again, with a fresh seed.
    seed = verify_seed_of(scenario.seed)
    check = scenario_with(scenario, final, seed=seed, replications=n)
    verification_run = run_scenario(check, **run_kwargs)
    verification = []
    for point in check.points:
        e = evaluate_point(verification_run.point_kpis[point.id], point, point.stations, constraints,
                           evaluator.step + 1, "verify", seed)
        verification.append(e)
        say(f"  verify: {point.id} with {point.stations} station(s), seed {seed}: {e.successes}/{e.replications} "
            f"(lower bound {e.lower_bound:.3f}) -> {'pass' if e.passed else 'fail'}")
    return OptimiseResult("stations", scenario, optimised, constraints, n, evaluator.evaluations, answers,
                          {pid: s.start for pid, s in searches.items()}, verification, verification_run, seed,
                          elapsed_s=time.perf_counter() - started)


def allocate_stations(
    scenario: Scenario,
    total: int,
    replications: Optional[int] = None,
    say: Optional[Say] = None,
    journal_folder: Optional[Path] = None,
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
    import time

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
        kpis = evaluator.run(candidates, phase)
        for pid, count in candidates.items():
            e = evaluate_point(kpis[pid], evaluator.points[pid], count, Constraints(None, None), evaluator.step,
                               phase, scenario.seed)
            evaluator.evaluations.append(e)
            value = e.finish_h_mean if e.finish_h_mean is not None else 0.0
            if pid in finish:
                gain[pid] = finish[pid] - value
            finish[pid] = value

    measure(dict(stations), "allocate")
    evaluator.current = dict(stations)
    steps: list[dict[str, Any]] = [{"step": 0, "point": None, "stations": sum(stations.values()),
                                    "latest_point": max(finish, key=finish.get), "finish_h": max(finish.values())}]
    while sum(stations.values()) < total:
        eligible = [pid for pid in stations if gain[pid] >= SATURATED_H and stations[pid] < MAX_SERVERS]
        pool = eligible or [pid for pid in stations if stations[pid] < MAX_SERVERS]
        pid = max(pool, key=lambda p: finish[p])  # ties: the first in scenario order
        stations[pid] += 1
        evaluator.current = dict(stations)
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
                          elapsed_s=time.perf_counter() - started)
