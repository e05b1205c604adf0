"""``--replications auto``: as many replications as a target precision needs.

The procedure (documented in docs/experiments.md):

1. run ``n0`` replications (default 5);
2. for every target KPI (a dotted path of summary.json's ``kpis``, e.g. ``finish_h`` or
   ``wait_min.total.p90``) compute the 95% t half-width ``t(0.975, n-1) * s / sqrt(n)``
   over the replications, exactly as summary.json's ``ci95``;
3. stop when every half-width is within its target: absolute (``finish_h=0.05`` hours) or
   relative to the mean (``--precision 0.05``: 5% of |mean|); or when ``max_replications``
   is reached (the target is then reported as not met);
4. otherwise run the next batch, which brings ``n`` to the projected need
   ``n * max(h / target)^2``, at least ``n + MIN_BATCH`` and at most ``2 n`` (a variance
   estimated on a few replications is rough: never more than double), capped at the max.

Replications are keyed by their number (``SeedSequence(seed, spawn_key=(replication, ...))``):
a batch runs replications ``n .. m-1`` with ``run_scenario(first_replication=n)`` and the
batches are merged, so the result is the same as one run of ``m`` replications. The KPIs
(summary.json, kpis.csv, points.csv) are identical; the mean series of the charts and
timeseries.csv are added in another order and may differ in the last bit (1e-16 relative).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

import numpy as np

from ..choices import AUTO_FIRST as N0
from ..choices import AUTO_KPIS as DEFAULT_KPIS
from ..choices import AUTO_MAX as MAX_DEFAULT
from ..choices import AUTO_PRECISION as DEFAULT_PRECISION
from ..metrics import Band, SeriesBands, pad
from ..scenario import Problem, ScenarioError
from ..scenario.schema import MAX_REPLICATIONS, Scenario
from .replicate import RunResult, run_scenario, same_steps

MIN_BATCH = 2


@dataclass(frozen=True)
class Target:
    """A KPI (dotted path) and its wanted 95% half-width: absolute, or relative to |mean|."""

    kpi: str
    absolute: Optional[float] = None
    relative: Optional[float] = None

    def limit(self, mean: float) -> float:
        return self.absolute if self.absolute is not None else self.relative * abs(mean)

    def describe(self) -> str:
        return f"±{self.absolute:g}" if self.absolute is not None else f"±{self.relative:.1%} of the mean"


@dataclass
class Precision:
    """Where one KPI stands after a step of the procedure."""

    kpi: str
    n: int
    mean: Optional[float]
    half_width: Optional[float]
    target: Optional[float]
    met: bool

    def as_dict(self) -> dict[str, Any]:
        return {"kpi": self.kpi, "n": self.n, "mean": self.mean, "half_width": self.half_width,
                "target_half_width": self.target, "met": self.met}


@dataclass
class SequentialReport:
    """How many replications the procedure used, and whether the target was met."""

    replications: int
    met: bool
    max_replications: int
    n0: int
    targets: list[Target]
    precision: list[Precision]
    batches: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "sequential: 95% t half-width per target KPI, batches until within target",
            "replications": self.replications,
            "target_met": self.met,
            "n0": self.n0,
            "max_replications": self.max_replications,
            "batches": self.batches,
            "targets": [{"kpi": t.kpi, "absolute": t.absolute, "relative": t.relative} for t in self.targets],
            "kpis": [p.as_dict() for p in self.precision],
        }

    def line(self) -> str:
        worst = ", ".join(
            f"{p.kpi} ±{p.half_width:.3g} (target ±{p.target:.3g})" if p.half_width is not None and p.target is not None
            else f"{p.kpi}: no half-width" for p in self.precision)
        verdict = "target met" if self.met else f"target NOT met at the maximum of {self.max_replications}"
        return f"replications auto: {self.replications} replications, {verdict}: {worst}"


def kpi_values(run_kpis: Sequence[dict[str, Any]], path: str) -> list[Optional[float]]:
    """The per-replication values of a dotted KPI path; ``KeyError`` names an unknown path."""
    values = []
    for kpis in run_kpis:
        node: Any = kpis
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(path)
            node = node[part]
        if isinstance(node, dict):
            raise KeyError(path)
        values.append(None if node is None else float(node))
    return values


def check_kpi_path(run_kpis_example: dict[str, Any], path: str) -> bool:
    try:
        kpi_values([run_kpis_example], path)
    except KeyError:
        return False
    return True


def half_width(values: Sequence[Optional[float]]) -> tuple[Optional[float], Optional[float], int]:
    """Mean, 95% t half-width (as summary.json's ci95) and n of the finite values."""
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(finite.size)
    if n == 0:
        return None, None, 0
    if n < 2:
        return float(finite.mean()), None, n
    from scipy import stats  # only when replications are summarised: not for every import of the package

    return float(finite.mean()), float(stats.t.ppf(0.975, n - 1) * finite.std(ddof=1) / math.sqrt(n)), n


def assess(run_kpis: Sequence[dict[str, Any]], targets: Sequence[Target]) -> list[Precision]:
    out = []
    for target in targets:
        mean, half, n = half_width(kpi_values(run_kpis, target.kpi))
        limit = None if mean is None else target.limit(mean)
        met = half is not None and limit is not None and half <= limit
        out.append(Precision(target.kpi, n, mean, half, limit, met))
    return out


def next_size(n: int, precision: Sequence[Precision], maximum: int) -> int:
    """The size after the next batch: the projected need, within [n + MIN_BATCH, 2 n] and the max."""
    need = n + MIN_BATCH
    for p in precision:
        if p.met:
            continue
        if p.half_width is None or not p.target:
            need = max(need, 2 * n)  # no estimate (or a zero target): double
        else:
            need = max(need, math.ceil(n * (p.half_width / p.target) ** 2))
    return max(n + 1, min(need, 2 * n, maximum))


def with_replications(scenario: Scenario, replications: int) -> Scenario:
    return scenario.model_copy(update={"replications": replications})


def _merge_band(a: Band, b: Band) -> Band:
    if a.n == 0:
        return b
    if b.n == 0:
        return a

    length = max(a.total.size, b.total.size)
    ta, la, ha, tb, lb, hb = (pad(x, length) for x in (a.total, a.low, a.high, b.total, b.low, b.high))
    return Band(n=a.n + b.n, total=ta + tb, low=np.minimum(la, lb), high=np.maximum(ha, hb))


def _merge_bands(a: SeriesBands, b: SeriesBands) -> SeriesBands:
    if a.sampled.n == 0:
        return b
    if b.sampled.n == 0:
        return a
    merged = SeriesBands(step_s=a.step_s)
    for name in ("queue", "busy"):
        left, right = getattr(a, name), getattr(b, name)
        setattr(merged, name, {stage: _merge_band(left.get(stage, Band()), right.get(stage, Band()))
                               for stage in dict.fromkeys([*left, *right])})
    for name in ("queue_total", "arrived", "sampled"):
        setattr(merged, name, _merge_band(getattr(a, name), getattr(b, name)))
    merged.hourly_sampled = [*a.hourly_sampled, *b.hourly_sampled]
    return merged


def merge_results(first: RunResult, later: RunResult) -> RunResult:
    """Two runs of consecutive replications of the same scenario as one run (``first`` holds the lower numbers)."""
    if first.step_s != later.step_s:  # a replication that ran for weeks took coarser steps (steps.py): a copy of
        finer = copy.deepcopy(first if first.step_s < later.step_s else later)  # the finer run is put in them
        finer.step_s = max(first.step_s, later.step_s)
        same_steps(finer)
        first, later = (finer, later) if first.step_s < later.step_s else (first, finer)
    total = first.replications + later.replications
    merged = replace(first)  # a shallow copy: fields are replaced below, never mutated
    merged.__dict__.pop("summary", None)
    merged.__dict__.pop("point_summaries", None)
    merged.scenario = with_replications(first.scenario, total)
    merged.elapsed_s = first.elapsed_s + later.elapsed_s
    merged.run_kpis = [*first.run_kpis, *later.run_kpis]
    merged.point_kpis = {pid: [*kpis, *later.point_kpis.get(pid, [])] for pid, kpis in first.point_kpis.items()}
    merged.point_bands = {pid: _merge_bands(bands, later.point_bands[pid]) for pid, bands in first.point_bands.items()}
    merged.run_bands = _merge_bands(first.run_bands, later.run_bands)
    merged.wait_counts = {stage: first.wait_counts.get(stage, 0) + later.wait_counts.get(stage, 0)
                          for stage in dict.fromkeys([*first.wait_counts, *later.wait_counts])}
    merged.chain_bands = {name: _merge_band(first.chain_bands.get(name, Band()), later.chain_bands.get(name, Band()))
                          for name in dict.fromkeys([*first.chain_bands, *later.chain_bands])}
    little = replace(first.littles_law)
    little.stages_checked += later.littles_law.stages_checked
    gap = later.littles_law.max_relative_gap
    if math.isnan(gap) or (not math.isnan(little.max_relative_gap) and gap > little.max_relative_gap):
        little.max_relative_gap, little.worst = gap, later.littles_law.worst
    merged.littles_law = little
    merged.timelines = {**later.timelines, **first.timelines}
    return merged


def parse_target(text: str, relative: float) -> Target:
    """``KPI`` (relative ``relative``) or ``KPI=HALF_WIDTH`` (absolute, in the KPI's unit)."""
    kpi, _, value = text.partition("=")
    kpi = kpi.strip()
    if not value:
        return Target(kpi, relative=relative)
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"half-width {value!r} must be a positive number")
    return Target(kpi, absolute=number)


def run_sequential(
    scenario: Scenario,
    targets: Sequence[Target] = tuple(Target(k, relative=DEFAULT_PRECISION) for k in DEFAULT_KPIS),
    n0: int = N0,
    max_replications: int = MAX_DEFAULT,
    first_kwargs: Optional[dict[str, Any]] = None,
    on_batch=None,
    **run_kwargs: Any,
) -> tuple[RunResult, SequentialReport]:
    """Run batches of replications until every target half-width is met, or the max.

    ``first_kwargs`` go to the first batch only (it holds replication 0: ``persons_file``,
    ``keep_logs``); ``run_kwargs`` (``jobs``, ``executor``, ``engine`` ...) to every batch.
    ``on_batch(n, precision)`` is called after each batch. Unknown KPI paths raise
    ``ScenarioError`` naming ``--kpi``.
    """
    if not 2 <= n0 <= max_replications <= MAX_REPLICATIONS:
        raise ValueError(f"need 2 <= n0 ({n0}) <= max_replications ({max_replications}) <= {MAX_REPLICATIONS}")
    targets = list(targets)
    result = run_scenario(with_replications(scenario, n0), **{**run_kwargs, **(first_kwargs or {})})
    unknown = [t.kpi for t in targets if not check_kpi_path(result.run_kpis[0], t.kpi)]
    if unknown:
        raise ScenarioError([Problem("<arguments>", None, "--kpi", f"unknown KPI {kpi!r}: use a dotted path of summary.json "
                                     "kpis with a number, e.g. finish_h or wait_min.total.p90") for kpi in unknown])
    batches = [n0]
    while True:
        n = result.replications
        precision = assess(result.run_kpis, targets)
        if on_batch is not None:
            on_batch(n, precision)
        met = all(p.met for p in precision)
        if met or n >= max_replications:
            break
        size = next_size(n, precision, max_replications)
        later = run_scenario(with_replications(scenario, size - n), first_replication=n, **run_kwargs)
        result = merge_results(result, later)
        batches.append(size - n)
    report = SequentialReport(replications=result.replications, met=met, max_replications=max_replications,
                              n0=n0, targets=targets, precision=precision, batches=batches)
    result.summary["replications_auto"] = report.as_dict()
    return result, report


def replications_for(scenario: Scenario, targets: Sequence[Target], n0: int = N0,
                     max_replications: int = MAX_DEFAULT, **run_kwargs: Any) -> int:
    """Only the number of replications the procedure picks (for optimise and compare)."""
    _, report = run_sequential(scenario, targets, n0=n0, max_replications=max_replications, **run_kwargs)
    return report.replications
