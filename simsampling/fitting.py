"""From a point's records to a scenario: service times per stage, arrivals per 15 minutes.

What each stage's time is, from the columns a point recorded (docs/outputs.md, ``fit``):

* swab: ``swab_end - swab_start``; without ``swab_start``, the gap between two swab ends at
  the same station while the next resident was already waiting (registered, or arrived,
  before the previous swab ended): the station's whole cycle, which is what ``service_s``
  means in the model (hand disinfection included);
* registration (paired with a station): ``scan`` minus the moment the resident could start
  (its arrival, or the previous resident of that station leaving the registrar for the
  swab chair), which needs ``arrival``, ``scan``, ``swab_start`` and ``station``.

Each stage's times are fitted by maximum likelihood (scipy.stats, location fixed at 0) with
a lognormal, a gamma and a Weibull law; the lowest AIC wins unless its Kolmogorov-Smirnov
test rejects it at 1 %, and then the records themselves (empirical) are used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Optional

import numpy as np
from pydantic import TypeAdapter, ValidationError

from .choices import LAWS
from .records import Records
from .scenario.distributions import Duration

MIN_TIMES = 20
"""Fewer measured times than this and a stage is not fitted (its law would be a guess)."""
BIN_S = 900.0
REJECT_P = 0.01
EMPIRICAL_MAX = 10_000


@dataclass(frozen=True)
class LawFit:
    law: str
    params: dict  # as the scenario file writes them
    loglik: float
    aic: float
    ks_statistic: float
    ks_pvalue: float
    frozen: object  # scipy frozen distribution

    def quantiles(self, probabilities: np.ndarray) -> np.ndarray:
        return self.frozen.ppf(probabilities)


@dataclass(frozen=True)
class StageFit:
    stage: str
    how: str  # how the times were measured
    times: np.ndarray
    left_out: int  # times of 0 s or less: outside every law's support
    fits: tuple[LawFit, ...]
    chosen: str
    reason: str

    @property
    def dist(self) -> dict:
        """The chosen law as a scenario distribution."""
        if self.chosen == "empirical":
            values = np.round(np.sort(self.times), 1)
            if values.size > EMPIRICAL_MAX:  # evenly spaced order statistics keep the shape
                values = values[np.linspace(0, values.size - 1, EMPIRICAL_MAX).round().astype(int)]
            return {"dist": "empirical", "values": [float(v) for v in values]}
        fit = next(f for f in self.fits if f.law == self.chosen)
        return {"dist": fit.law, **fit.params}


def stage_times(records: Records) -> dict[str, tuple[np.ndarray, str, np.ndarray]]:
    """Per stage: (times in seconds, how they were measured, records' lines used)."""
    out: dict[str, tuple[np.ndarray, str, np.ndarray]] = {}
    times, station = records.times, records.station
    if records.has("swab_start", "swab_end"):
        ok = ~np.isnan(times["swab_start"]) & ~np.isnan(times["swab_end"])
        out["swab"] = ((times["swab_end"] - times["swab_start"])[ok], "swab_end - swab_start", records.line[ok])
    elif records.has("swab_end") and station is not None and (records.has("scan") or records.has("arrival")):
        ready = times["scan"] if records.has("scan") else times["arrival"]
        gaps, lines = _busy_gaps(times["swab_end"], ready, station, records.line)
        out["swab"] = (gaps, "gap between swab ends at a station while the next resident waited", lines)
    if records.has("arrival", "scan", "swab_start") and station is not None:
        durations, lines = _paired_registration(times["arrival"], times["scan"], times["swab_start"], station, records.line)
        out["registration"] = (durations, "scan - max(arrival, previous resident of the station to the swab chair)", lines)
    return out


def _by_station(station: np.ndarray, key: np.ndarray):
    """Indices of each station's records in order of ``key`` (NaN keys left out)."""
    for name in sorted(set(station.tolist())):
        members = np.flatnonzero((station == name) & ~np.isnan(key))
        yield members[np.argsort(key[members], kind="stable")]


def _busy_gaps(end: np.ndarray, ready: np.ndarray, station: np.ndarray, line: np.ndarray):
    gaps, lines = [], []
    for members in _by_station(station, end):
        previous, current = members[:-1], members[1:]
        waited = ready[current] <= end[previous]
        gaps.append((end[current] - end[previous])[waited])
        lines.append(line[current][waited])
    return np.concatenate(gaps) if gaps else np.empty(0), np.concatenate(lines) if lines else np.empty(0, dtype=np.int64)


def _paired_registration(arrival, scan, swab_start, station, line):
    durations, lines = [], []
    ok = ~np.isnan(arrival) & ~np.isnan(scan)
    for members in _by_station(station, np.where(ok, swab_start, np.nan)):
        freed = np.concatenate([[-np.inf], swab_start[members[:-1]]])
        began = np.maximum(arrival[members], freed)
        durations.append(scan[members] - began)
        lines.append(line[members])
    return np.concatenate(durations) if durations else np.empty(0), np.concatenate(lines) if lines else np.empty(0, dtype=np.int64)


def fit_law(law: str, times: np.ndarray) -> LawFit:
    """Maximum-likelihood fit of one law (location 0) with its goodness of fit."""
    from scipy import stats  # only when fitting: the command line (validate) does not load scipy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if law == "lognormal":
            s, _, scale = stats.lognorm.fit(times, floc=0)
            frozen = stats.lognorm(s, scale=scale)
            mean = scale * math.exp(s * s / 2)
            params = {"mean": mean, "sd": mean * math.sqrt(math.expm1(s * s))}
        elif law == "gamma":
            shape, _, scale = stats.gamma.fit(times, floc=0)
            frozen = stats.gamma(shape, scale=scale)
            params = {"shape": shape, "scale": scale}
        elif law == "weibull":
            shape, _, scale = stats.weibull_min.fit(times, floc=0)
            frozen = stats.weibull_min(shape, scale=scale)
            params = {"shape": shape, "scale": scale}
        else:
            raise ValueError(f"unknown law {law!r}")
        loglik = float(np.sum(frozen.logpdf(times)))
        ks = stats.kstest(times, frozen.cdf)
    params = {key: float(f"{value:.6g}") for key, value in params.items()}
    return LawFit(law, params, loglik, 4.0 - 2.0 * loglik, float(ks.statistic), float(ks.pvalue), frozen)


_DURATION = TypeAdapter(Duration)


def _writable(fit: LawFit) -> bool:
    """Whether a scenario accepts the fitted parameters (a near-constant stage can fit a Weibull of shape 10^4)."""
    try:
        _DURATION.validate_python({"dist": fit.law, **fit.params})
    except ValidationError:
        return False
    return all(math.isfinite(v) for v in fit.params.values()) and math.isfinite(fit.aic)


def fit_stage(stage: str, times: np.ndarray, how: str, choice: str = "auto") -> StageFit:
    """Fit every law to a stage's times and choose one (``choice``: auto, a law, or empirical).

    Times of 0 s or less lie outside every law's support: they are left out of the laws' fits
    (and kept in the empirical distribution, clipped at 0). A law whose parameters a scenario
    would refuse is not a candidate.
    """
    positive = times[times > 0]
    left_out = int(times.size - positive.size)
    times = np.maximum(times, 0.0)
    fits = tuple(fit for fit in (fit_law(law, positive) for law in LAWS) if _writable(fit)) if np.ptp(positive) > 0 else ()
    if choice != "auto" and (choice == "empirical" or any(f.law == choice for f in fits)):
        return StageFit(stage, how, times, left_out, fits, choice, "chosen with --law")
    if not fits:
        return StageFit(stage, how, times, left_out, fits, "empirical", "no law can be fitted to these times: the records' own times are used")
    best = min(fits, key=lambda f: f.aic)
    if best.ks_pvalue < REJECT_P:
        reason = (f"every law is rejected by the KS test at 1 % (best, {best.law}: p = {best.ks_pvalue:.2g}): "
                  "the records' own times are used")
        return StageFit(stage, how, times, left_out, fits, "empirical", reason)
    why = f"lowest AIC, KS p = {best.ks_pvalue:.2g}" + (f" ({choice} could not be fitted)" if choice != "auto" else "")
    return StageFit(stage, how, times, left_out, fits, best.law, why)


def arrival_slots(arrival: np.ndarray) -> tuple[list[dict], str, str]:
    """Arrivals per 15 minutes as calling slots (shares of those who came), and the opening hours around them."""
    first = math.floor(float(np.min(arrival)) / BIN_S)
    last = min(math.floor(float(np.max(arrival)) / BIN_S), 24 * 4 - 1)
    counts = np.bincount(np.clip(np.floor(arrival / BIN_S).astype(int) - first, 0, last - first), minlength=last - first + 1)
    slots = [
        {"start": hhmm((first + k) * BIN_S), "end": hhmm((first + k + 1) * BIN_S), "share": float(f"{c / arrival.size:.12g}")}
        for k, c in enumerate(counts.tolist()) if c
    ]
    # Shares printed to 12 digits: make them add up to one exactly enough for the loader (1e-6).
    return slots, hhmm(first * BIN_S), hhmm((last + 1) * BIN_S)


def hhmm(seconds: float) -> str:
    minutes = int(round(seconds / 60.0))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def stations_seen(records: Records) -> tuple[Optional[int], str]:
    """How many stations the records show, and how that was found (None: they do not say)."""
    if records.station is not None:
        return len(set(records.station.tolist())), "station ids in the records"
    if records.has("swab_start", "swab_end"):
        start, end = records.times["swab_start"], records.times["swab_end"]
        ok = ~np.isnan(start) & ~np.isnan(end)
        events = np.concatenate([np.stack([start[ok], np.ones(ok.sum())], 1), np.stack([end[ok], -np.ones(ok.sum())], 1)])
        events = events[np.lexsort((events[:, 1], events[:, 0]))]  # an end before a start at the same instant
        return int(np.cumsum(events[:, 1]).max()) if events.size else None, "most swabs under way at once"
    return None, "not in the records"


def records_waits(records: Records) -> dict[str, np.ndarray]:
    """The waits the records show (seconds), to compare a run of the fitted scenario with."""
    times = records.times
    waits = {}
    if records.has("arrival", "swab_end"):
        waits["time_in_system"] = times["swab_end"] - times["arrival"]
    if records.has("scan", "swab_start"):
        waits["swab"] = times["swab_start"] - times["scan"]
    return {k: v[~np.isnan(v)] for k, v in waits.items()}
