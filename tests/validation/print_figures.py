"""Print the figures behind docs/validation.md (the same cases the tests check).

    python tests/validation/print_figures.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_erlang_c import (  # noqa: E402
    CONFIDENCE,
    erlang_c,
    mmc_mean_wait,
    pk_mean_wait,
    replicate,
    swab_only,
    t_interval,
)


def main() -> None:
    print(f"| case | replications | theory Wq (s) | simulated Wq (s), {CONFIDENCE:.0%} CI | theory P(wait) | simulated P(wait), CI |")
    print("|---|---|---|---|---|---|")
    for stations, mean_service, rho, reps in ((4, 60.0, 0.8, 50), (1, 60.0, 0.5, 30), (10, 120.0, 0.7, 30)):
        scenario = swab_only(stations, {"dist": "exponential", "mean": mean_service}, rho * stations / mean_service * 3600)
        means, waited = replicate(scenario, reps)
        low, high = t_interval(means)
        plow, phigh = t_interval(waited)
        print(f"| M/M/{stations}, rho {rho}, mean swab {mean_service:.0f} s | {reps} | {mmc_mean_wait(stations, mean_service, rho):.2f} | "
              f"{means.mean():.2f} [{low:.2f}, {high:.2f}] | {erlang_c(stations, rho * stations):.4f} | {waited.mean():.4f} [{plow:.4f}, {phigh:.4f}] |")
    for label, service, second in (("M/D/1", {"dist": "fixed", "value": 60.0}, 3600.0),
                                   ("M/G/1 lognormal sd 40 s", {"dist": "lognormal", "mean": 60.0, "sd": 40.0}, 40.0**2 + 3600.0)):
        lam = 0.7 / 60.0
        means, waited = replicate(swab_only(1, service, lam * 3600), 30)
        low, high = t_interval(means)
        plow, phigh = t_interval(waited)
        print(f"| {label}, rho 0.7, mean 60 s | 30 | {pk_mean_wait(lam, 60.0, second):.2f} | {means.mean():.2f} [{low:.2f}, {high:.2f}] | "
              f"0.7000 | {waited.mean():.4f} [{plow:.4f}, {phigh:.4f}] |")


if __name__ == "__main__":
    main()
