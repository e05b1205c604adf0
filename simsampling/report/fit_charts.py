"""Charts of `simsampling fit`: a QQ chart per stage, and the arrivals per 15 minutes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .chart_style import plt, save

_COLOURS = {"lognormal": "#1f77b4", "gamma": "#2ca02c", "weibull": "#d62728"}


def qq_chart(fit, path: Path) -> None:
    """Observed quantiles against each fitted law's: the closer to the diagonal, the better."""
    times = np.sort(fit.times[fit.times > 0])
    probabilities = (np.arange(1, times.size + 1) - 0.5) / times.size
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=110)
    top = float(times.max())
    for law in fit.fits:
        mark = " (chosen)" if law.law == fit.chosen else ""
        ax.plot(law.quantiles(probabilities), times, ".", ms=3, alpha=0.6, color=_COLOURS[law.law],
                label=f"{law.law}{mark}: KS p = {law.ks_pvalue:.2g}")
        top = max(top, float(law.quantiles(probabilities[-1:])[0]))
    ax.plot([0, top], [0, top], color="0.3", lw=1, label="observed = fitted")
    ax.set_xlabel("fitted quantile (s)")
    ax.set_ylabel("observed time (s)")
    chosen = "the records themselves (empirical)" if fit.chosen == "empirical" else fit.chosen
    ax.set_title(f"{fit.stage}: {times.size:,} times; written to the scenario: {chosen}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    save(fig, path, dpi=fig.dpi)


def arrivals_chart(slots: list[dict], total: int, path: Path) -> None:
    """Residents arriving per 15 minutes, as the scenario's slots call them."""
    fig, ax = plt.subplots(figsize=(8, 3.6), dpi=110)
    starts = [int(s["start"][:2]) + int(s["start"][3:]) / 60 for s in slots]
    ax.bar(starts, [s["share"] * total for s in slots], width=0.25, align="edge", color="#1f77b4")
    ax.set_xlabel("time of day (h)")
    ax.set_ylabel("arrivals per 15 min")
    ax.set_title(f"{total:,} arrivals in the records", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    save(fig, path, dpi=fig.dpi)
