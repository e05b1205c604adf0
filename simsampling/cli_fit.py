"""`simsampling fit RECORDS.csv`: service times and arrivals fitted from a point's own records.

Writes a results folder (whole or not at all): ``scenario.yaml``, a scenario that
``simsampling run`` accepts, with the fit's figures in comments; ``fit.json``, every
figure of the fit; ``qq-<stage>.png`` per stage fitted; ``arrivals.png``.
Exit status: 0 done; 1 the records or the folder cannot be read or written; 2 bad input
(no usable column, too few records, a bad record with ``--strict``, folder taken).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from . import __version__
from .choices import BAD_INPUT, LAW_CHOICES, OS_FAILURE
from .cli_folder import results_target
from .scenario import ScenarioError, validate_scenario
from .scenario.schema import MAX_SERVERS
from .terminal import say

if TYPE_CHECKING:
    import numpy as np

SHOWN_BAD = 20
INCONSISTENT_SHARE = 0.05
"""More negative times than this share and a stage's measure does not fit the point's layout."""


def add_parser(commands) -> None:
    fit = commands.add_parser(
        "fit", help="fit service times and arrivals from a point's records (CSV of per-resident timestamps)",
        description="Reads per-resident timestamps (columns arrival, scan, swab_start, swab_end, station; any subset) "
                    "and writes a scenario with the fitted service times and arrivals per 15 minutes.")
    fit.add_argument("records", type=Path, help="records table (CSV with a header row)")
    fit.add_argument("--out", type=Path, help="results folder (default: results/fit-<records>-<timestamp>)")
    fit.add_argument("--force", action="store_true", help="replace an existing results folder")
    fit.add_argument("--strict", action="store_true", help="refuse the file if any record is bad (default: skip bad records, with a count)")
    fit.add_argument("--law", choices=LAW_CHOICES, default="auto",
                     help="law written to the scenario: auto (lowest AIC, or the records' own times if the KS test rejects every law) or one law")
    fit.add_argument("--quiet", "-q", action="store_true", help="print only problems")


def run_fit(args, out: Console, err: Console) -> int:
    import numpy as np  # here, as the fitting: the command line's parser (and validate) loads no numpy

    from .fitting import MIN_TIMES, arrival_slots, fit_stage, stage_times, stations_seen
    from .records import TIME_COLUMNS, RecordsError, read_records
    from .report import ResultsExistError, check_target
    from .report.folder import results_folder  # the package does not re-export it

    try:
        records = read_records(args.records)
    except RecordsError as exc:
        say(err, str(exc))
        return OS_FAILURE if exc.os_error else BAD_INPUT
    for bad in records.bad[:SHOWN_BAD]:
        say(err, f"{args.records}:{bad.line}: {bad.column + ': ' if bad.column else ''}{bad.message}")
    if len(records.bad) > SHOWN_BAD:
        say(err, f"{args.records}: and {len(records.bad) - SHOWN_BAD} more bad records (all listed in fit.json)")
    if records.bad and args.strict:
        say(err, f"{args.records}: {len(records.bad)} bad record(s): refused (--strict); nothing was written")
        return BAD_INPUT
    if not records.count:
        say(err, f"{args.records}: no usable record ({len(records.bad)} bad); nothing was written")
        return BAD_INPUT
    if records.bad:
        say(err, f"{args.records}: skipped {len(records.bad)} bad record(s) of {records.count + len(records.bad)}; "
            f"fitted from the other {records.count}")
    if records.ignored_columns:
        say(err, f"{args.records}:1: ignored column(s) {', '.join(records.ignored_columns)} "
            f"(known: {', '.join(TIME_COLUMNS)}, station)")

    measured = stage_times(records)
    fits = []
    for stage, (times, how, _) in measured.items():
        negative = np.count_nonzero(times < 0)
        if negative > INCONSISTENT_SHARE * times.size:
            # A scan before the station's previous resident left the registrar: not a registrar paired with the station.
            say(err, f"{args.records}: {stage}: {negative:,} of {times.size:,} times come out negative ({how}): "
                "the records do not fit that layout; not fitted")
            continue
        if np.count_nonzero(times > 0) < MIN_TIMES:
            say(err, f"{args.records}: {stage}: only {np.count_nonzero(times > 0)} times measured "
                f"({how}); at least {MIN_TIMES} are needed: not fitted")
            continue
        fits.append(fit_stage(stage, times, how, args.law))
    if not any(f.stage == "swab" for f in fits):
        say(err, f"{args.records}: no swab times: the records need swab_start and swab_end, or swab_end with station "
            f"and scan or arrival (at least {MIN_TIMES} residents); nothing was written")
        return BAD_INPUT
    arrival, arrival_from = _arrivals(records)

    name = "fit-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", args.records.stem).strip("-._")[:60] or "records")
    target = results_target(args.out, name)
    try:
        check_target(target, args.force)
    except ResultsExistError as exc:
        say(err, f"{target}: --out: {str(exc).removeprefix(f'{target} ')}")
        return BAD_INPUT
    stations, stations_from = stations_seen(records)
    if stations is not None and stations > MAX_SERVERS:
        say(err, f"{args.records}: the records show {stations:,} stations ({stations_from}), more than a point can have "
            f"({MAX_SERVERS:,}): fit one point's records at a time; nothing was written")
        return BAD_INPUT
    slots, open_at, close_at = arrival_slots(arrival)
    text = scenario_text(name, records, fits, slots, open_at, close_at, stations, stations_from, arrival_from)
    try:
        validate_scenario(_yaml_load(text), file="scenario.yaml")
    except ScenarioError as exc:  # a fault of ours, not of the records: say so plainly
        raise RuntimeError(f"the fitted scenario does not validate: {exc.problems}") from None
    summary = _summary(args, records, fits, slots, stations, stations_from, arrival_from)
    try:
        with results_folder(target, args.force) as folder:
            from .report.fit_charts import arrivals_chart, qq_chart

            (folder / "scenario.yaml").write_text(text, encoding="utf-8")
            (folder / "fit.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
            for fit in fits:
                qq_chart(fit, folder / f"qq-{fit.stage}.png")
            arrivals_chart(slots, arrival.size, folder / "arrivals.png")
    except OSError as exc:  # results_folder's WriteError names the folder and says nothing was written
        say(err, f"{exc.filename or target}: cannot be written ({exc.strerror or exc})")
        return OS_FAILURE
    if not args.quiet:
        _print(out, fits, records, target)
    return 0


def _arrivals(records) -> tuple[np.ndarray, str]:
    """Each resident's arrival: its first time recorded (``arrival`` where the record has it)."""
    import numpy as np

    from .records import TIME_COLUMNS

    first = np.fmin.reduce([records.times[c] for c in TIME_COLUMNS if c in records.times])
    missing = int(np.isnan(records.times["arrival"]).sum()) if records.has("arrival") else records.count
    if not missing:
        return first, "arrival"
    return first, f"arrival, or the first time recorded where it is missing ({missing:,} records)"


def _yaml_load(text: str):
    import yaml

    return yaml.safe_load(text)


def _flow(dist: dict) -> str:
    """A distribution as a YAML flow mapping: ``{dist: gamma, shape: 2.1, scale: 14}``."""
    parts = []
    for key, value in dist.items():
        if isinstance(value, list):
            value = "[" + ", ".join(f"{v:g}" for v in value) + "]"
        elif isinstance(value, float):
            value = f"{value:.6g}"
        parts.append(f"{key}: {value}")
    return "{" + ", ".join(parts) + "}"


def _law_comments(fit, indent: str) -> list[str]:
    lines = [f"{indent}# {fit.times.size:,} times, {fit.how}; mean {fit.times.mean():.1f} s, sd {fit.times.std(ddof=1):.1f} s"
             + (f"; {fit.left_out} of 0 s or less left out of the laws' fits" if fit.left_out else "")]
    for law in sorted(fit.fits, key=lambda f: f.aic):
        lines.append(f"{indent}#   {law.law:9} {_flow(law.params)}: AIC {law.aic:.1f}, KS D {law.ks_statistic:.3f} p {law.ks_pvalue:.2g}")
    lines.append(f"{indent}# written: {fit.chosen} ({fit.reason})")
    return lines


def scenario_text(name, records, fits, slots, open_at, close_at, stations, stations_from, arrival_from) -> str:
    by_stage = {f.stage: f for f in fits}
    bad = f", {len(records.bad)} bad record(s) skipped" if records.bad else ""
    lines = [
        f"# Fitted by `simsampling fit {records.path.name}` (simsampling {__version__}, {datetime.now():%Y-%m-%d %H:%M}):",
        f"# {records.count:,} records{bad}{', of ' + str(records.day) if records.day else ''}. Service times: maximum-likelihood",
        "# fits (scipy.stats, location 0); the chosen law has the lowest AIC unless the KS test rejects it",
        "# at 1 % (then the records' own times, empirical). KS p-values are optimistic: the parameters",
        "# were fitted to the same times. See fit.json and qq-<stage>.png beside this file.",
        f"name: {json.dumps(name)}",
        "replications: 10",
        f"clock: {{open: \"{open_at}\", close: \"{close_at}\"}}   # the quarter-hours of the first and last arrival",
        "points:",
        f"  - id: {json.dumps(name.removeprefix('fit-'))}",   # quoted: a name like 2022-03-19 stays text
        f"    population: {records.count}        # residents in the records (everyone who came)",
        f"    tents: {stations or 1}" + (f"                 # {stations_from}" if stations else "                 # stations: not in the records: set your own"),
        "    queue: shared",
        "    stages:",
    ]
    if "registration" in by_stage:
        lines += ["      registration:               # a registrar paired with each station (scan, then the swab chair)",
                  "        servers: per_tent",
                  "        qr_share: 1               # every resident's time comes from the fitted law below",
                  "        service_s:"]
        lines += _law_comments(by_stage["registration"], "          ")
        lines.append(f"          qr: {_flow(by_stage['registration'].dist)}")
    lines += ["      swab:"]
    lines += _law_comments(by_stage["swab"], "        ")
    lines.append(f"        service_s: {_flow(by_stage['swab'].dist)}")
    lines += [
        f"arrivals:                         # arrivals per 15 minutes, from {arrival_from}",
        "  kind: slots",
        "  show_up: 1",
        "  lateness_min: {dist: fixed, value: 0}",
        "  slots:",
    ]
    lines += [f"    - {{start: \"{s['start']}\", end: \"{s['end']}\", share: {s['share']!r}}}" for s in slots]
    return "\n".join(lines) + "\n"


def _summary(args, records, fits, slots, stations, stations_from, arrival_from) -> dict:
    import numpy as np

    from .fitting import records_waits

    waits = records_waits(records)
    return {
        "records": str(args.records),
        "day": str(records.day) if records.day else None,
        "records_used": records.count,
        "records_skipped": len(records.bad),
        "bad_records": [{"line": b.line, "column": b.column, "message": b.message} for b in records.bad],
        "ignored_columns": records.ignored_columns,
        "stations": stations,
        "stations_from": stations_from,
        "arrivals_from": arrival_from,
        "slots": slots,
        "stages": {
            f.stage: {
                "measured_as": f.how,
                "n": int(f.times.size),
                "left_out": f.left_out,
                "mean_s": float(f.times.mean()),
                "sd_s": float(f.times.std(ddof=1)),
                "chosen": f.chosen,
                "why": f.reason,
                "written": f.dist if f.chosen != "empirical" else {"dist": "empirical", "values": len(f.dist["values"])},
                "laws": {law.law: {"params": law.params, "loglik": law.loglik, "aic": law.aic,
                                   "ks_statistic": law.ks_statistic, "ks_pvalue": law.ks_pvalue} for law in f.fits},
            }
            for f in fits
        },
        "records_waits_s": {k: {"n": int(v.size), "mean": float(v.mean()) if v.size else None,
                                "p90": float(np.percentile(v, 90)) if v.size else None} for k, v in waits.items()},
    }


def _print(out: Console, fits, records, target: Path) -> None:
    from rich.table import Table

    table = Table(title=f"{records.count:,} records fitted", title_justify="left")
    for column in ("stage", "times", "mean (s)", "law written", "parameters", "KS p"):
        table.add_column(column)
    for fit in fits:
        chosen = next((f for f in fit.fits if f.law == fit.chosen), None)
        table.add_row(fit.stage, f"{fit.times.size:,}", f"{fit.times.mean():.1f}", fit.chosen,
                      _flow(chosen.params) if chosen else f"{len(fit.dist['values']):,} values",
                      f"{chosen.ks_pvalue:.2g}" if chosen else "-")
    out.print(table)
    say(out, f"wrote {target}/ (scenario.yaml, fit.json, qq-*.png, arrivals.png); try: simsampling run {target}/scenario.yaml")
