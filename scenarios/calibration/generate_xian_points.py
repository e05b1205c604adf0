"""Write xian-2021-points.csv: the points of Xi'an's round of 25-26 Dec 2021 (calibration case).

Run from anywhere:

    python scenarios/calibration/generate_xian_points.py            # rewrites xian-2021-points.csv beside it
    python scenarios/calibration/generate_xian_points.py --check    # only checks that the CSV is up to date

The totals of the real round are public (sources in docs/calibration.md): 4,485 points and
11,808 stations (Beijing Youth Daily, 25 Dec 2021; Xinhua, 26 Dec 2021) and 11,582,600
residents sampled from 12:00 on 25 Dec to 12:00 on 26 Dec (Xinhua, 26 Dec 2021). Every point
gets one station per tent, so tents sum to 11,808.

What is real and what is not:

* The counts of points and stations are real. The residents on the points' rosters are the
  *eligible* residents, not the number sampled: the number sampled divided by the share of a
  roster the scenario samples (``COVERAGE``: 0.5 % at home, and of the others 95 % at their
  call plus half of the 5 % who miss it at the mop-up, all our guesses, the project's
  defaults), 11,878,067 in all, 91.7 % of Xi'an's 12,952,907 residents of the 2020 census.
  With a population of the number sampled, no-shows could never be made up and the round
  would end about 290,000 short.
* Nothing below the totals is real: the points are synthetic. Xi'an's real point list was
  never published in a form we have.
* Residents are spread over the districts and counties by approximate shares of the 2020
  census (figures rounded to about 10,000 and recalled from the census bulletins, not copied
  from a table: treat them as approximate, G). "Xixian" is the Xixian New Area as far as Xi'an
  administers it, taken as the remainder of Xi'an's 2020 census total of about 12.95 million.
  The eligible residents are fewer than the census count, so every district is scaled by the
  same factor (about 0.917): G.
* Points are spread over districts by the same shares, with outer districts and counties
  weighted 1.15 (G: scattered villages need more, smaller points). Within a district a point's
  weight is 0.6 + 0.8 x (the mean of two uniform draws), i.e. residents per point vary by
  roughly +-40 % around the district mean (G), giving about 1,400-3,700 residents per point
  (guide: one point per 2,000-3,000, M-H; Xi'an's average was 2,582).
* Tents are shared out over all points in proportion to residents (largest remainders), at
  least two per point (G: one station alone stops the point whenever its sampler restocks or
  changes gear), about 981 residents per station on average, as Xi'an's totals imply (the
  national guide of 2022 asks for one station per 600-800: Xi'an was above it).
* ``arrivals.batch_households``: each point calls its roster through in ``CALLS`` = 41 calls,
  every 15 minutes from 12:00 to 22:00, so that the mop-up (22:30-24:00) comes after the last
  call (G: the pace of the real calls was not published). That is the roster divided by 2.6
  residents per household and by 41, rounded up: 15-38 households per call, around the usual
  batch of about 20 (M), on average about 94 residents per station-hour called (89 come);
  points with more residents per station are called faster than their stations swab (about
  100 an hour) and finish later.

All splits use largest remainders, so the totals are exact whatever the draws. Random numbers
come from numpy's PCG64 with a fixed seed and only ``Generator.random`` (uniform doubles), so
the table is the same on every run and machine.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path

import numpy as np

from simsampling.generated import write_or_check

SEED = 20211225
SAMPLED = 11_582_600  # sampled 12:00 25 Dec - 12:00 26 Dec 2021 (Xinhua, 26 Dec 2021)
HOME_SHARE, SHOW_UP, MOP_UP_SHARE = 0.005, 0.95, 0.5  # as in xian-2021-round.yaml (G)
COVERAGE = HOME_SHARE + (1 - HOME_SHARE) * (SHOW_UP + (1 - SHOW_UP) * MOP_UP_SHARE)
RESIDENTS = round(SAMPLED / COVERAGE)  # eligible residents on the rosters: 11,878,067
POINTS = 4_485  # (Beijing Youth Daily, 25 Dec 2021)
STATIONS = 11_808  # (idem); one station per tent
MIN_TENTS = 2  # a point has at least two stations (G)
OUTER_WEIGHT = 1.15  # more, smaller points outside the city core (G)
CALLS = 41  # calls from 12:00 to 22:00, every 15 minutes (G, see above)
HOUSEHOLD_SIZE = 2.6  # as in xian-2021-round.yaml
OUT = Path(__file__).resolve().parent / "xian-2021-points.csv"

# id prefix, name (pinyin), 2020 census residents in thousands (approximate, G), outer?
DISTRICTS = [
    ("xc", "Xincheng qu", 800, False),
    ("bl", "Beilin qu", 760, False),
    ("lh", "Lianhu qu", 1_020, False),
    ("yt", "Yanta qu", 2_030, False),
    ("wy", "Weiyang qu", 1_890, False),
    ("bq", "Baqiao qu", 1_100, False),
    ("ca", "Chang'an qu", 1_360, False),
    ("lt", "Lintong qu", 710, True),
    ("yl", "Yanliang qu", 280, True),
    ("gl", "Gaoling qu", 420, True),
    ("hy", "Huyi qu", 560, True),
    ("ltn", "Lantian xian", 510, True),
    ("zz", "Zhouzhi xian", 560, True),
    ("xx", "Xixian xinqu", 950, False),
]


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole numbers proportional to ``weights`` that sum to ``total`` exactly.

    Ties in the remainders go to the earlier item, so the result is deterministic.
    """
    quotas = total * weights / weights.sum()
    counts = np.floor(quotas).astype(np.int64)
    short = total - int(counts.sum())
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def share_tents(populations: np.ndarray, total: int) -> np.ndarray:
    """Tents in proportion to residents, at least ``MIN_TENTS`` per point, summing to ``total``."""
    quotas = total * populations / populations.sum()
    tents = np.maximum(np.floor(quotas).astype(np.int64), MIN_TENTS)
    while tents.sum() < total:  # the largest shortfall against the quota first
        tents[int(np.argmax(quotas - tents))] += 1
    while tents.sum() > total:  # only if the minimum pushed us over
        spare = np.where(tents > MIN_TENTS, tents - quotas, -np.inf)
        tents[int(np.argmax(spare))] -= 1
    return tents


def build_rows() -> tuple[list[list], list[tuple]]:
    rng = np.random.default_rng(SEED)
    census = np.array([d[2] for d in DISTRICTS], dtype=float)
    outer = np.array([OUTER_WEIGHT if d[3] else 1.0 for d in DISTRICTS])
    residents = largest_remainder(RESIDENTS, census)
    points = largest_remainder(POINTS, census * outer)

    ids, names, pops = [], [], []
    for (prefix, name, _, _), people, count in zip(DISTRICTS, residents, points):
        weights = 0.6 + 0.8 * rng.random((count, 2)).mean(axis=1)
        pops.append(largest_remainder(int(people), weights))
        for k in range(count):
            ids.append(f"{prefix}-{k + 1:04d}")
            names.append(f"{name} caiyangdian {k + 1:04d}")
    populations = np.concatenate(pops)
    tents = share_tents(populations, STATIONS)

    rows = [
        [pid, name, int(pop), int(t), math.ceil(pop / HOUSEHOLD_SIZE / CALLS)]
        for pid, name, pop, t in zip(ids, names, populations, tents)
    ]
    summary = []
    start = 0
    for (prefix, name, _, _), count in zip(DISTRICTS, points):
        part = rows[start : start + count]
        start += count
        summary.append((prefix, name, count, sum(r[2] for r in part), sum(r[3] for r in part)))
    assert len(rows) == POINTS
    assert sum(r[2] for r in rows) == RESIDENTS
    assert sum(r[3] for r in rows) == STATIONS
    assert min(r[3] for r in rows) >= MIN_TENTS
    return rows, summary


def render(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "population", "tents", "arrivals.batch_households"])
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the CSV differs")
    args = parser.parse_args(argv)
    rows, summary = build_rows()
    text = render(rows)

    print(f"{'district':16} {'points':>6} {'residents':>10} {'stations':>8} {'per point':>9} {'per station':>11}")
    for _, name, count, people, tents in summary:
        print(f"{name:16} {count:6,} {people:10,} {tents:8,} {people / count:9,.0f} {people / tents:11,.0f}")
    print(f"{'total':16} {len(rows):6,} {RESIDENTS:10,} {STATIONS:8,} {RESIDENTS / len(rows):9,.0f} {RESIDENTS / STATIONS:11,.0f}")
    ratio = [r[2] / r[3] for r in rows]
    print(f"residents per point {min(r[2] for r in rows):,}-{max(r[2] for r in rows):,}; "
          f"tents per point {min(r[3] for r in rows)}-{max(r[3] for r in rows)}; "
          f"residents per station {min(ratio):,.0f}-{max(ratio):,.0f}")

    return write_or_check(OUT, text, args.check)


if __name__ == "__main__":
    sys.exit(main())
