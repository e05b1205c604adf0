"""A full factorial sweep over scenario fields, resumable after an interruption.

Every combination of the factors' values is applied to the scenario's data and
validated before anything runs; all combinations share the seed and the
replications (common random numbers: the same residents in every combination).

With a results folder, each finished combination is appended to a journal,
``runs.jsonl`` in the hidden folder ``.<out>.partial`` beside the target
(one JSON line per combination, flushed and fsynced). Run again with the same
design, a sweep skips what the journal holds; the folder becomes ``out`` (atomic
rename) only when every combination is done. The journal's first line records
a hash of the design (scenario, factors, seed, replications, version), so a
partial folder is resumed only by the sweep that wrote it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from .. import __version__
from ..metrics import COUNT_KEYS, Durations, HourCounts, Tally, flatten, kpis_of, summarise
from ..scenario import Problem, Scenario, ScenarioError, validate_scenario
from ..stages import role, union
from .factors import Factor, apply, make_factor
from .journal import Journal
from .replicate import run_scenario

DEFAULT_KPIS = (
    "finish_h",
    "sampled_by_deadline_share",
    "wait_min.total.p90",
    "utilization.swab",
    "staff_hours",
    "waiting_over_capacity_person_min",
)
JOURNAL_SCHEMA = 1
SUMMARY_SCHEMA = 1

SweepProgress = Callable[[int, int, Mapping[str, Any]], None]
"""Called as progress(done, total, factors) after each combination (done counts resumed ones too)."""


@dataclass(frozen=True)
class Combination:
    index: int
    values: tuple[Any, ...]
    scenario: Scenario

    @property
    def key(self) -> str:
        return json.dumps(list(self.values), ensure_ascii=False)


@dataclass
class SweepRow:
    """One finished combination: its factor values and its KPI tree (summary.json leaves)."""

    index: int
    key: str
    factors: dict[str, Any]
    kpis: dict[str, Any]
    elapsed_s: float = 0.0
    resumed: bool = False
    littles_law_passed: bool = True

    def leaf(self, kpi: str) -> dict[str, Any]:
        return flatten(self.kpis).get(kpi, {"mean": None, "ci95": None, "n": 0})

    def record(self) -> dict[str, Any]:
        return {"index": self.index, "key": self.key, "factors": self.factors, "elapsed_s": round(self.elapsed_s, 3),
                "littles_law_passed": self.littles_law_passed, "kpis": self.kpis}


@dataclass
class SweepResult:
    scenario: Scenario
    """The base scenario (with the sweep's seed and replications)."""
    factors: list[Factor]
    kpis: list[str]
    rows: list[SweepRow]
    design_hash: str
    ran: int = 0
    """Combinations simulated by this call; the others came from the journal."""
    elapsed_s: float = 0.0
    file: str = ""

    @property
    def resumed(self) -> int:
        return sum(row.resumed for row in self.rows)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The content of the sweep's summary.json (schema in docs/experiments.md)."""
        scenario = self.scenario
        return {
            "schema_version": SUMMARY_SCHEMA,
            "kind": "sweep",
            "scenario": scenario.name,
            "file": self.file,
            "seed": scenario.seed,
            "replications": scenario.replications,
            "common_random_numbers": True,
            "simsampling_version": __version__,
            "design_hash": self.design_hash,
            "factors": [{"path": f.path, "values": list(f.values)} for f in self.factors],
            "kpis": list(self.kpis),
            "combinations": [
                {"index": row.index, "factors": row.factors, "kpis": {k: row.leaf(k) for k in self.kpis},
                 "all_kpis": row.kpis, "littles_law_passed": row.littles_law_passed}
                for row in self.rows
            ],
        }


# ---------------------------------------------------------------- the design


def as_factors(factors: Union[Mapping[str, Sequence[Any]], Sequence[Factor]]) -> list[Factor]:
    if isinstance(factors, Mapping):
        result = [make_factor(path, values) for path, values in factors.items()]
    else:
        result = list(factors)
    if not result:
        raise ScenarioError([Problem("--vary", None, "", "give at least one factor: --vary PATH=VALUES")])
    for i, one in enumerate(result):
        for other in result[:i]:
            if _overlap(one.segments, other.segments):
                raise ScenarioError([Problem(one.label, None, one.path, f"sets the same field as {other.label}")])
    return result


def _overlap(a: tuple, b: tuple) -> bool:
    """Whether two paths can name the same field (``*`` matches any item; a path under the other's too)."""
    for x, y in zip(a, b):
        if x != y and "*" not in (x, y):
            return False
    return True


def with_fixed(scenario: Scenario, seed: Optional[int] = None, replications: Optional[int] = None, file: str = "<scenario>") -> Scenario:
    if seed is None and replications is None:
        return scenario
    data = scenario.model_dump(mode="json", exclude_none=True)
    if seed is not None:
        data["seed"] = seed
    if replications is not None:
        data["replications"] = replications
    return validate_scenario(data, file=file)


def design(scenario: Scenario, factors: Sequence[Factor]) -> list[Combination]:
    """Every combination, validated; all problems at once (each value alone first, then combinations)."""
    base = scenario.model_dump(mode="json", exclude_none=True)
    problems: dict[str, Problem] = {}

    def attempt(data_of: Callable[[], dict], where: str, note: str) -> Optional[Scenario]:
        try:
            data = data_of()
        except ScenarioError as exc:  # the path itself is wrong, whatever the value
            for p in exc.problems:
                problems.setdefault(str(p), p)
            return None
        try:
            return validate_scenario(data, file=where)
        except ScenarioError as exc:
            for p in exc.problems:
                found = Problem(where, None, p.field, f"{p.message} ({note})" if note else p.message)
                problems.setdefault(str(found), found)
        return None

    for factor in factors:
        for value in factor.values:
            attempt(lambda: apply(base, factor, value), factor.label, f"value {_show(value)}")
    if problems:
        raise ScenarioError(list(problems.values()))
    combinations = []
    for index, values in enumerate(itertools.product(*(f.values for f in factors))):
        def data_of(values=values):
            data = base
            for factor, value in zip(factors, values):
                data = apply(data, factor, value)
            return data

        where = " with ".join(f.label for f in factors)
        note = ", ".join(f"{f.path}={_show(v)}" for f, v in zip(factors, values))
        combined = attempt(data_of, where, f"combination {note}")
        if combined is not None:
            combinations.append(Combination(index, tuple(values), combined))
    if problems:
        raise ScenarioError(list(problems.values()))
    return combinations


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value)


def design_hash(scenario: Scenario, factors: Sequence[Factor]) -> str:
    text = json.dumps({
        "simsampling_version": __version__,
        "scenario": scenario.model_dump(mode="json", exclude_none=True),
        "factors": [[f.path, list(f.values)] for f in factors],
    }, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def kpi_names(scenario: Scenario) -> list[str]:
    """Every flattened KPI key a run of ``scenario`` reports (``chain.*`` added only by a run)."""
    stages = union(point.flow.names for point in scenario.points)
    empty = Durations.of(np.zeros(0))
    tally = Tally(counts={k: 0.0 for k in COUNT_KEYS},
                  open_s=0.0, close_s=0.0, last_swab_s=0.0, last_sample_s=0.0, overtime_s=0.0, stations=1, staff_s=0.0,
                  hourly=HourCounts.of(np.zeros(0)), durations={"time_in_system": empty, "wait.total": empty,
                                                   **{f"wait.{s}": empty for s in stages}},
                  queue_max={**{s: 0.0 for s in stages}, "total": 0.0}, busy_s={s: 0.0 for s in stages},
                  capacity_s={s: 0.0 for s in stages}, staff_by_role_s={role(s): 0.0 for s in stages})
    return list(flatten(summarise([kpis_of(tally)])))


def check_kpis(kpis: Sequence[str], scenario: Scenario) -> None:
    known = kpi_names(scenario)
    unknown = [k for k in kpis if k not in known and not (scenario.chain is not None and k.startswith("chain."))]
    if unknown:
        import difflib

        problems = []
        for k in unknown:
            close = difflib.get_close_matches(k, known, n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; kpis.csv of a run lists every KPI"
            problems.append(Problem("--kpi", None, k, f"is not a KPI of this scenario{hint}"))
        raise ScenarioError(problems)


# ---------------------------------------------------------------- running


def sweep(
    scenario: Union[Scenario, str, Path],
    factors: Union[Mapping[str, Sequence[Any]], Sequence[Factor]],
    kpis: Optional[Sequence[str]] = None,
    journal_folder: Optional[Path] = None,
    fresh: bool = False,
    seed: Optional[int] = None,
    replications: Optional[int] = None,
    progress: Optional[SweepProgress] = None,
    before_run: Optional[Callable[[int, int], None]] = None,
    check: Optional[Callable[[Scenario], None]] = None,
    file: Optional[str] = None,
    **run_kwargs: Any,
) -> SweepResult:
    """Run every combination of ``factors`` (``{"points.*.tents": [2, 3]}``) on ``scenario``.

    ``kpis`` are flattened KPI keys (default ``DEFAULT_KPIS``) for sweep.csv and the charts;
    every KPI is kept in the result. With ``journal_folder`` (report.sweep.sweep_to_folder gives
    its results folder's partial copy) each finished combination is recorded there and the sweep
    is resumable: run again with the same design, it skips the combinations already done
    (``fresh`` discards them). Nothing else is written: the caller writes the results.
    ``run_kwargs`` go to :func:`run_scenario` (``jobs=``...).
    ``check(scenario)`` is called on every combination before anything runs (raise to refuse);
    ``before_run(done, total)`` once the work left is known, before any simulation.
    ``file`` names where a given Scenario came from (report.html's provenance).
    """
    started = time.perf_counter()
    if not isinstance(scenario, Scenario):
        from ..scenario import load_scenario

        file = str(scenario)
        scenario = load_scenario(scenario)
    file = file or "(from Python)"
    scenario = with_fixed(scenario, seed, replications, file)
    factors = as_factors(factors)
    kpis = list(kpis) if kpis else list(DEFAULT_KPIS)
    check_kpis(kpis, scenario)
    combinations = design(scenario, factors)
    if check is not None:
        for combination in combinations:
            check(combination.scenario)
    digest = design_hash(scenario, factors)

    journal: Optional[Journal] = None
    done: dict[str, dict[str, Any]] = {}
    if journal_folder is not None:
        staging = Path(journal_folder)
        if fresh and staging.exists():
            import shutil

            shutil.rmtree(staging)
        staging.mkdir(parents=True, exist_ok=True)
        journal = Journal(staging, {"journal_schema": JOURNAL_SCHEMA, "design_hash": digest, "scenario": scenario.name,
                                    "factors": [{"path": f.path, "values": list(f.values)} for f in factors],
                                    "seed": scenario.seed, "replications": scenario.replications,
                                    "combinations": len(combinations), "simsampling_version": __version__})
        done = journal.load()
        journal.start()

    rows: list[SweepRow] = []
    ran = 0
    total = len(combinations)
    finished = sum(c.key in done for c in combinations)
    if before_run is not None:
        before_run(finished, total)
    for combination in combinations:
        names = {f.path: v for f, v in zip(factors, combination.values)}
        record = done.get(combination.key)
        if record is not None:
            rows.append(SweepRow(combination.index, combination.key, names, record["kpis"], record.get("elapsed_s", 0.0),
                                 resumed=True, littles_law_passed=record.get("littles_law_passed", True)))
        else:
            result = run_scenario(combination.scenario, **run_kwargs)
            # Through JSON, so a resumed sweep and an uninterrupted one hold the very same numbers.
            tree = json.loads(json.dumps(result.summary["kpis"], allow_nan=False))
            row = SweepRow(combination.index, combination.key, names, tree, result.elapsed_s,
                           littles_law_passed=bool(result.littles_law.passed))
            if journal is not None:
                journal.add(row.record())
            rows.append(row)
            ran += 1
            finished += 1
        if progress is not None:
            progress(finished, total, names)
    if any(k.startswith("chain.") for k in kpis) and rows:
        missing = [k for k in kpis if k not in flatten(rows[0].kpis)]
        if missing:
            raise ScenarioError([Problem("--kpi", None, k, "is not a KPI of this scenario; kpis.csv of a run lists every KPI")
                                 for k in missing])
    result = SweepResult(scenario=scenario, factors=factors, kpis=kpis, rows=rows, design_hash=digest, ran=ran,
                         elapsed_s=time.perf_counter() - started, file=file)
    return result
