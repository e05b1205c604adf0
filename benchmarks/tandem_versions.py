"""This checkout's two engines against another version's, on speed_record.py's three-stage tandem, in one run.

    python benchmarks/tandem_versions.py --baseline main                 # this checkout against main
    python benchmarks/tandem_versions.py --baseline 64e0d0e --rounds 5   # against a commit, more rounds
    python benchmarks/tandem_versions.py --baseline main --revision HEAD  # a commit, not the files as they are

The other version is exported with ``git archive`` into a temporary folder (the repository
is not touched) and both versions run the same tandem (``speed_record.tandem_scenario``:
temperature pool -> registration desks -> swab stations, about ``--residents`` walk-ins) in
fresh subprocesses, alternately, ``--rounds`` times each: one round times the SimPy engine
once and the fast engine ``speed_record.FAST_INNER`` times on the version's own draws of the
same scenario (untimed: the draws, a warm-up, the fast engine's compilation or cache load).
A shared machine's load changes during a run; alternating the versions exposes both to it
alike, and the ratios (this checkout / the baseline, in residents per second, from the
medians, and from the best runs, the least disturbed by other work) are what to read. The last lines check that both versions' logs have the same
timestamps (the same figures, to the bit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ONE_ROUND = r"""
import gc, hashlib, json, sys, time
sys.path.insert(0, {bench!r})
import numpy as np
from speed_record import FAST_INNER, tandem_scenario
from simsampling.draws import draw_residents
from simsampling.model import simulate_point
from simsampling.model.fast import simulate_point_fast
scenario, _servers, _utilisation = tandem_scenario({residents}, {utilisation})
point, hours = scenario.points[0], scenario.hours
draws = draw_residents(scenario, point, 0)
simulate_point_fast(point, hours, draws, 0)  # compilation or cache load, untimed

def timed(run):
    gc.collect()
    start = time.perf_counter()
    log = run()
    return time.perf_counter() - start, log

simpy_s, log = timed(lambda: simulate_point(point, hours, draws, 0))
fast_s = [timed(lambda: simulate_point_fast(point, hours, draws, 0))[0] for _ in range(FAST_INNER)]
digest = hashlib.sha256(b"".join(np.ascontiguousarray(log.start[s]).tobytes() + np.ascontiguousarray(log.end[s]).tobytes()
                                 for s in ("temperature", "registration", "swab"))).hexdigest()
print(json.dumps({{"residents": int(draws.count), "simpy_s": simpy_s, "fast_s": fast_s, "digest": digest}}))
"""


def export(revision: str, folder: Path) -> Path:
    """The ``simsampling`` package of ``revision``, exported into ``folder`` (read from git, nothing written to the repository)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "simsampling"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def one_round(source: Path, residents: int, utilisation: float) -> dict:
    code = ONE_ROUND.format(bench=str(HERE), residents=residents, utilisation=utilisation)
    env = dict(os.environ, PYTHONPATH=str(source))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=str(source))
    if done.returncode:
        raise SystemExit(f"tandem_versions.py: the run of {source} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="a git revision to compare with (a branch, a tag, a commit)")
    parser.add_argument("--revision", help="the revision compared with the baseline (default: this checkout as it is)")
    parser.add_argument("--residents", type=int, default=100_000, help="expected walk-ins at the tandem point (default 100000)")
    parser.add_argument("--utilisation", type=float, default=0.8, help="utilisation of each stage, at most (default 0.8)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each version, alternating (default 3)")
    args = parser.parse_args(argv)
    print(f"python benchmarks/tandem_versions.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPUs: {os.cpu_count()}; "
          f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="tandem-baseline-") as scratch:
        this = ROOT
        if args.revision:
            (Path(scratch) / "this").mkdir()
            this = export(args.revision, Path(scratch) / "this")
        (Path(scratch) / "baseline").mkdir()
        versions = {"baseline " + args.baseline: export(args.baseline, Path(scratch) / "baseline"), "this checkout": this}
        runs: dict[str, list[dict]] = {name: [] for name in versions}
        for _ in range(args.rounds):
            for name, source in versions.items():
                runs[name].append(one_round(source, args.residents, args.utilisation))
    print(f"rounds: {args.rounds} of each version, alternating; load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(f"{'version':<22} {'residents':>9}  {'SimPy engine s, median (best)':>30}  {'fast engine s, median (best)':>30}")
    rate, best = {}, {}
    for name, rounds in runs.items():
        residents = rounds[0]["residents"]
        simpy_s = [r["simpy_s"] for r in rounds]
        fast_s = [t for r in rounds for t in r["fast_s"]]
        rate[name] = (residents / statistics.median(simpy_s), residents / statistics.median(fast_s))
        best[name] = (residents / min(simpy_s), residents / min(fast_s))
        print(f"{name:<22} {residents:>9,}  {statistics.median(simpy_s):>21.4f} ({min(simpy_s):.4f})  "
              f"{statistics.median(fast_s):>21.4f} ({min(fast_s):.4f})")
    print()
    for what, rates in (("medians", rate), ("best runs", best)):
        base, this = rates[f"baseline {args.baseline}"], rates["this checkout"]
        print(f"this checkout / baseline, residents per second ({what}): SimPy engine {this[0] / base[0]:.3f}, "
              f"fast engine {this[1] / base[1]:.3f}")
    digests = {r["digest"] for rounds in runs.values() for r in rounds}
    print(f"same timestamps in every run of both versions: {'yes' if len(digests) == 1 else 'NO'}")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
