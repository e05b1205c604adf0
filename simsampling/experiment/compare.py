"""Compare scenarios under common random numbers, with paired confidence intervals.

Random streams are keyed by (seed, replication, point id, stream), so scenarios
run with the same seed and replications see the same residents (show-ups,
arrival times, service times) at points with the same id. Replication r of
scenario B is then paired with replication r of A: the difference B - A is
estimated from the per-replication differences (a paired t-interval), which is
far tighter than comparing two independent confidence intervals.
"""

from __future__ import annotations

import math
import re
import string
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union

from .. import __version__
from ..labels import kpi_format, kpi_label
from ..metrics import estimate, flatten
from ..scenario import Problem, Scenario, ScenarioError, load_scenario
from .replicate import RunResult, run_scenario
from .factorial import with_fixed

SUMMARY_SCHEMA = 1
LABELS = string.ascii_uppercase

MAIN_KPIS = tuple((key, kpi_label(key), kpi_format(key)) for key in (
    "finish_h", "sampled_by_deadline_share", "sampled_total", "unserved", "wait_min.total.p90",
    "time_in_system_min.p90", "queue_max.total", "utilization.swab", "overtime_min", "staff_hours",
    "waiting_over_capacity_person_min"))
"""(flattened KPI, label, format) of the headline table (command line and report.html)."""

CompareProgress = Callable[[int, int, int], None]
"""Called as progress(scenario_index, done, total) as each scenario's tasks finish."""


def paired(a: Sequence[Any], b: Sequence[Any]) -> dict[str, Any]:
    """The mean of ``b - a`` over replications where both are finite, a 95% t-interval and significance.

    ``significant`` is true when the interval excludes 0, null without an interval (fewer than two pairs).
    """
    diffs = [float(y) - float(x) for x, y in zip(a, b) if _finite(x) and _finite(y)]
    leaf = estimate(diffs)
    ci = leaf["ci95"]
    leaf["significant"] = None if ci is None else bool(ci[0] > 0 or ci[1] < 0)
    return leaf


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class Comparison:
    results: list[RunResult]
    labels: list[str]
    """A, B, C... in the order given; B-A, C-A... are the differences."""
    files: list[str]
    notes: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def seed(self) -> int:
        return self.results[0].scenario.seed

    @property
    def replications(self) -> int:
        return self.results[0].replications

    @cached_property
    def per_replication(self) -> list[dict[str, list[Any]]]:
        """For each scenario, flattened KPI -> its value in each replication."""
        tables = []
        for result in self.results:
            flat = [flatten(kpis) for kpis in result.run_kpis]
            keys = list(dict.fromkeys(k for rep in flat for k in rep))
            tables.append({k: [rep.get(k) for rep in flat] for k in keys})
        return tables

    @cached_property
    def kpi_keys(self) -> list[str]:
        return list(dict.fromkeys(k for table in self.per_replication for k in table))

    @cached_property
    def table(self) -> dict[str, dict[str, Any]]:
        """KPI -> {"A": leaf, "B": leaf, ..., "differences": {"B-A": paired leaf, ...}}; a KPI a scenario lacks: null."""
        rows = {}
        base = self.labels[0]
        for key in self.kpi_keys:
            row: dict[str, Any] = {}
            for label, values in zip(self.labels, self.per_replication):
                row[label] = estimate(values[key]) if key in values else None
            differences = {}
            for label, values in zip(self.labels[1:], self.per_replication[1:]):
                first = self.per_replication[0]
                if key in values and key in first:
                    diff = paired(first[key], values[key])
                    baseline = row[base]["mean"] if row[base] else None
                    diff["relative"] = (diff["mean"] / baseline if diff["mean"] is not None and baseline else None)
                    differences[f"{label}-{base}"] = diff
                else:
                    differences[f"{label}-{base}"] = None
            row["differences"] = differences
            rows[key] = row
        return rows

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The content of the comparison's summary.json (schema in docs/experiments.md)."""
        return {
            "schema_version": SUMMARY_SCHEMA,
            "kind": "compare",
            "simsampling_version": __version__,
            "seed": self.seed,
            "replications": self.replications,
            "common_random_numbers": True,
            "baseline": self.labels[0],
            "scenarios": [
                {"label": label, "name": result.scenario.name, "file": file, "folder": folder_name(label, result),
                 "points": len(result.scenario.points),
                 "population": sum(p.population for p in result.scenario.points),
                 "stations": result.stations, "elapsed_s": round(result.elapsed_s, 3),
                 "littles_law_passed": bool(result.littles_law.passed)}
                for label, result, file in zip(self.labels, self.results, self.files)
            ],
            "notes": list(self.notes),
            "kpis": self.table,
        }


def folder_name(label: str, result: RunResult) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", result.scenario.name).strip("-.")[:60] or "scenario"
    return f"{label}-{slug}"


def compare_scenarios(
    scenarios: Sequence[Union[Scenario, str, Path]],
    jobs: int = 1,
    replications: Optional[int] = None,
    seed: Optional[int] = None,
    progress: Optional[CompareProgress] = None,
    files: Optional[Sequence[str]] = None,
    **run_kwargs: Any,
) -> Comparison:
    """Run each scenario with the same seed and replications (the first scenario's unless given) and compare.

    ``scenarios`` are :class:`Scenario` objects or scenario files; the first is the baseline A.
    ``files`` names where given Scenario objects came from (for notes and summary.json).
    ``run_kwargs`` go to :func:`run_scenario` (``engine=``, ``executor=``...).
    """
    started = time.perf_counter()
    if len(scenarios) < 2:
        raise ScenarioError([Problem("compare", None, "", "give at least two scenarios to compare")])
    if len(scenarios) > len(LABELS):
        raise ScenarioError([Problem("compare", None, "", f"at most {len(LABELS)} scenarios can be compared at once")])
    loaded: list[Scenario] = []
    files_given, files = list(files or []), []
    for item in scenarios:
        if isinstance(item, Scenario):
            loaded.append(item)
            files.append(str(files_given[len(files)]) if files_given else "")
        else:
            loaded.append(load_scenario(item))
            files.append(str(item))
    seed = loaded[0].seed if seed is None else seed
    replications = loaded[0].replications if replications is None else replications
    notes = [f"Common random numbers: every scenario ran with seed {seed} and {replications} replications, so "
             "points with the same id see the same residents; differences are paired by replication."]
    fixed = []
    for label, scenario, file in zip(LABELS, loaded, files):
        changed = [f"{what} {old} -> {new}" for what, old, new in
                   (("seed", scenario.seed, seed), ("replications", scenario.replications, replications)) if old != new]
        if changed:
            notes.append(f"{label} ({file or scenario.name}): {', '.join(changed)}.")
        fixed.append(with_fixed(scenario, seed, replications, file or "<scenario>"))
    ids = [{p.id for p in s.points} for s in fixed]
    for label, scenario_ids in zip(LABELS[1:], ids[1:]):
        if not scenario_ids & ids[0]:
            notes.append(f"{label} shares no point id with A: its residents are drawn independently of A's, "
                         "so the pairing gains nothing (the intervals stay valid).")
    results = []
    for index, scenario in enumerate(fixed):
        report = None if progress is None else (lambda done, total, index=index: progress(index, done, total))
        results.append(run_scenario(scenario, jobs=jobs, progress=report, **run_kwargs))
    return Comparison(results=results, labels=list(LABELS[: len(fixed)]), files=files, notes=notes,
                      elapsed_s=time.perf_counter() - started)
