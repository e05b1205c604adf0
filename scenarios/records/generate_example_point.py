"""Write example-point.csv: a SYNTHETIC day of records of one sampling point, for `simsampling fit`.

Run from anywhere:

    python scenarios/records/generate_example_point.py          # rewrites example-point.csv
    python scenarios/records/generate_example_point.py --check  # only checks that it is up to date

Nothing in it was observed. The day is simulated by simsampling's own reference (SimPy)
model from laws chosen here, so that a fit can be checked against known answers: one point,
2 stations, each with a registrar paired with the sampler, 2,400 residents arriving with a
morning rush above what the stations swab (a line of about half an hour by 09:00) and a
smaller evening peak (uniformly within each slot, everyone comes, nobody early or late). Registration (the QR and tube scan) takes a Weibull
time of shape 2.2 and scale 12 s (mean 10.6 s); the swab station a gamma time of shape 4 and
scale 6 s (mean 24 s). The table has what a registration system would export: the arrival
(joining the line), the scan (registration done), the swab start and end, and the station,
with a date and times to a tenth of a second.

Six bad records are appended on purpose, one of each kind `fit` reports: a time that is
text, a swab that ends before it starts, a record of the next day, a record crossing
midnight, a row with a missing cell, and a record without its station.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

import numpy as np

from simsampling.generated import write_or_check

OUT = Path(__file__).resolve().parent / "example-point.csv"
DAY = "2022-03-19"
SCENARIO = {
    "name": "example-point-truth",
    "seed": 20220319,
    "replications": 1,
    "clock": {"open": "07:00", "close": "20:00"},
    "points": [{
        "id": "example-point",
        "population": 2400,
        "tents": 2,
        "stages": {
            "registration": {"servers": "per_tent", "qr_share": 1.0,
                             "service_s": {"qr": {"dist": "weibull", "shape": 2.2, "scale": 12.0}}},
            "swab": {"service_s": {"dist": "gamma", "shape": 4.0, "scale": 6.0}},
        },
    }],
    "arrivals": {
        "kind": "slots", "show_up": 1.0, "lateness_min": {"dist": "fixed", "value": 0},
        "slots": [
            {"start": "07:00", "end": "08:00", "share": 0.15},
            {"start": "08:00", "end": "09:00", "share": 0.17},
            {"start": "09:00", "end": "11:00", "share": 0.20},
            {"start": "11:00", "end": "14:00", "share": 0.13},
            {"start": "14:00", "end": "17:00", "share": 0.17},
            {"start": "17:00", "end": "19:30", "share": 0.18},
        ],
    },
}
BAD_ROWS = [
    ["arrival", "scan", "swab_start", "swab_end", "station"],  # placeholder header, not written
    [f"{DAY} 12:00:01.0", f"{DAY} 12:00:15.2", f"{DAY} 12:00:16.0", "twelve past", "T1"],
    [f"{DAY} 12:10:00.0", f"{DAY} 12:10:09.5", f"{DAY} 12:10:30.0", f"{DAY} 12:10:05.0", "T2"],
    ["2022-03-20 08:00:00.0", "2022-03-20 08:00:11.0", "2022-03-20 08:00:12.0", "2022-03-20 08:00:40.0", "T1"],
    [f"{DAY} 23:59:50.0", f"{DAY} 23:59:58.0", "2022-03-20 00:00:02.0", "2022-03-20 00:00:30.0", "T2"],
    [f"{DAY} 13:00:00.0", f"{DAY} 13:00:10.0", f"{DAY} 13:00:12.0"],
    [f"{DAY} 13:30:00.0", f"{DAY} 13:30:08.0", f"{DAY} 13:30:09.0", f"{DAY} 13:30:35.0", ""],
]


def render() -> str:
    from simsampling.scenario import validate_scenario
    from simsampling.draws import draw_residents
    from simsampling.model.point import simulate_point

    scenario = validate_scenario(SCENARIO)
    point = scenario.points[0]
    log = simulate_point(point, scenario.hours, draw_residents(scenario, point, 0), 0)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["resident", "arrival", "scan", "swab_start", "swab_end", "station"])
    columns = (log.arrival_s, log.end["registration"], log.start["swab"], log.end["swab"])
    order = np.argsort(log.arrival_s, kind="stable")
    for i in order.tolist():
        writer.writerow([f"r{int(log.resident[i]):05d}", *(f"{DAY} {clock(c[i])}" for c in columns), f"T{int(log.station[i]) + 1}"])
    for k, row in enumerate(BAD_ROWS[1:]):
        writer.writerow([f"bad{k + 1}", *row])
    return buffer.getvalue()


def clock(seconds: float) -> str:
    tenths = int(round(seconds * 10))
    return f"{tenths // 36000:02d}:{tenths // 600 % 60:02d}:{tenths // 10 % 60:02d}.{tenths % 10}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the CSV differs")
    args = parser.parse_args(argv)
    text = render()
    return write_or_check(OUT, text, args.check, f"{text.count(chr(10)) - 1} records, {len(BAD_ROWS) - 1} of them bad on purpose")


if __name__ == "__main__":
    sys.exit(main())
