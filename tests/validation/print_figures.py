"""Print the figures behind docs/validation.md (the same cases the tests check).

    python tests/validation/print_figures.py          # all tables
    python tests/validation/print_figures.py ciw      # only the Ciw comparison (~40 s)
    python tests/validation/print_figures.py headroom # the diagnosis' headroom against bisection (~15 s)
    python tests/validation/print_figures.py flows    # only stages as data (a plain stage, a divert)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # test_ciw_peer imports relatively

from test_erlang_c import (  # noqa: E402
    CONFIDENCE,
    erlang_c,
    mmc_mean_wait,
    pk_mean_wait,
    replicate,
    swab_only,
    t_interval,
)
from validation.test_flow_theory import MEAN_S, REPLICATIONS as FLOW_REPLICATIONS, RHO, diverted_counts, plain_mm1  # noqa: E402
from validation.test_ciw_peer import (  # noqa: E402
    CASES,
    REPLICATIONS,
    STAGES,
    ciw_waits,
    jackson_wait,
    simsampling_waits,
    welch,
)


def ciw_peer() -> None:
    print(f"| case | stage | servers | utilisation | simsampling (s) | Ciw (s) | difference, {CONFIDENCE:.0%} CI (s) | half-width / mean | Welch p | Jackson Wq (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in CASES:
        ours, theirs = simsampling_waits(case), ciw_waits(case)
        for k, stage in enumerate(STAGES):
            diff, half, p = welch(ours[:, k], theirs[:, k])
            mean = (ours[:, k].mean() + theirs[:, k].mean()) / 2
            theory = f"{jackson_wait(case, k):.2f}" if case.exponential else "-"
            print(f"| {case.label} ({case.rate_per_hour:.0f}/h) | {stage} | {case.servers[k]} | {case.utilisation(k):.3f} | "
                  f"{ours[:, k].mean():.2f} | {theirs[:, k].mean():.2f} | {diff:+.2f} [{diff - half:.2f}, {diff + half:.2f}] | "
                  f"{half / mean:.0%} | {p:.3f} | {theory} |")
    print(f"\n{REPLICATIONS} replications of each simulator per case.")


def headroom() -> None:
    """The cases of test_headroom.py: the fluid estimate, the check by simulation and bisection by simulation."""
    from simsampling import run_scenario
    from simsampling.advice import run_advice
    from simsampling.scenario import validate_scenario
    from validation.test_headroom import CALLING, SLOTS, TARGET, WALK_IN, bisected

    print("| case | headroom | estimate (stated precision) | check by simulation (precision) | bisection by simulation |")
    print("|---|---|---|---|---|")
    for data, kind, low, high in ((SLOTS, "calling_plan", 0.0, 11.0), (CALLING, "calling_plan", 0.0, 14.0),
                                  (WALK_IN, "walk_in_rate", 1.0, 4.0)):
        scenario = validate_scenario(data)
        result = run_scenario(scenario, executor="serial")
        estimate = run_advice(result, TARGET, check_by_simulation=False).diagnosis.points[0].headroom
        checked = run_advice(result, TARGET).diagnosis.points[0].headroom
        unit = "h earlier" if kind == "calling_plan" else "x the rate"
        print(f"| {data['name']} | {unit} | {estimate.value:.2f} (±{estimate.precision:.2f}) | {checked.value:.2f} "
              f"(±{checked.precision:.2f}) | {bisected(scenario, kind, low, high):.2f} |")


def flows() -> None:
    from scipy import stats

    means, waited = plain_mm1()
    print(f"plain stage at the entrance, M/M/1 rho {RHO}, mean {MEAN_S:.0f} s, {FLOW_REPLICATIONS} replications: "
          f"Wq theory {mmc_mean_wait(1, MEAN_S, RHO):.2f} s, simulated {means.mean():.2f} [{', '.join(f'{x:.2f}' for x in t_interval(means))}]; "
          f"P(wait) theory {RHO}, simulated {waited.mean():.4f} [{', '.join(f'{x:.4f}' for x in t_interval(waited))}]")
    for share in (0.02, 0.3):
        counts = diverted_counts(share)
        checked, diverted = (sum(column) for column in zip(*counts))
        print(f"divert share {share}: {diverted:,} of {checked:,} diverted ({diverted / checked:.4f}), "
              f"binomial {CONFIDENCE:.0%} interval {[int(x) for x in stats.binom.interval(CONFIDENCE, checked, share)]}; "
              f"per replication: {', '.join(f'{d}/{n}' for n, d in counts)}")


def main() -> None:
    if sys.argv[1:] == ["ciw"]:
        ciw_peer()
        return
    if sys.argv[1:] == ["headroom"]:
        headroom()
        return
    if sys.argv[1:] == ["flows"]:
        flows()
        return
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
    print()
    flows()
    print()
    ciw_peer()


if __name__ == "__main__":
    main()
