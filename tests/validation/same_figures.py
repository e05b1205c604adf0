"""Every shipped scenario's results folder, this checkout against another revision: the same figures?

    python tests/validation/same_figures.py --baseline main               # every shipped scenario
    python tests/validation/same_figures.py --baseline main --revision HEAD scenarios/one-point-demo.yaml
    python tests/validation/same_figures.py --baseline main --jobs 2 scenarios/beibei-district.yaml   # both on 2 workers

The baseline's package (and ``--revision``'s, if given; else this checkout as it is) is
exported with ``git archive`` into a temporary folder (the repository is not touched); both versions run each scenario with ``simsampling run`` (the
one-point scenarios once per engine, ``fast`` and ``simpy``; districts with the engine they
choose) into folders of their own, and the folders are compared file by file:

* JSON (summary.json, flow.json, ...): every leaf both versions write, by its path, must be
  equal (numbers to the bit); run times (``elapsed_s``) and ``schema_version`` are left out;
* CSV: every column both versions write, cell by cell, in the same row order;
* other files (charts, report.html, scenario.yaml): counted as byte-identical or not, for
  information (labels and layouts may change without a figure changing).

Keys or columns only one version writes are listed (a new output is not a changed figure).
The exit status is 0 when every compared figure is the same.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*ROOT.glob("scenarios/*.yaml"), *ROOT.glob("scenarios/calibration/*.yaml")])
IGNORED = {"elapsed_s", "schema_version"}
"""JSON keys that may differ between versions without a figure changing."""


def export(revision: str, folder: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "simsampling"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def in_revision(revision: str, scenario: Path) -> bool:
    """Whether ``revision`` has the scenario file (a scenario added since cannot run on it)."""
    path = scenario.resolve().relative_to(ROOT).as_posix()
    return subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{revision}:{path}"], capture_output=True).returncode == 0


def points_of(scenario: Path) -> int:
    import yaml

    data = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    return 2 if "points_file" in data else len(data.get("points", []))


def run(source: Path, scenario: Path, out: Path, engine: str, options: tuple[str, ...] = ()) -> float:
    env = dict(os.environ, PYTHONPATH=str(source), SIMSAMPLING_NO_ASIDE="1")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "simsampling", "run", str(scenario), "--out", str(out), "--quiet",
                           "--engine", engine, *options], env=env, cwd=str(source), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"same_figures.py: {scenario.name} failed under {source}:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key not in IGNORED:
                yield from leaves(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from leaves(inner, f"{path}[{index}]")
    else:
        yield path, value


def compare_json(a: Path, b: Path) -> tuple[int, list[str], int]:
    """(figures compared, those that differ, leaves only one version has)."""
    left, right = dict(leaves(json.loads(a.read_text()))), dict(leaves(json.loads(b.read_text())))
    common = left.keys() & right.keys()
    return len(common), sorted(k for k in common if left[k] != right[k]), len(left.keys() ^ right.keys())


def numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text == ""
    return True


def compare_csv(a: Path, b: Path) -> tuple[int, list[str], int]:
    """(cells compared, columns that differ, columns or rows only one version has).

    Rows are paired in order; when the versions have different numbers of rows (a long table
    such as kpis.csv, to which a version adds KPIs), rows are paired by their key, the columns
    that hold text, and a row only one version has is a new row, not a changed figure.
    """
    with a.open(newline="", encoding="utf-8") as x, b.open(newline="", encoding="utf-8") as y:
        left, right = list(csv.reader(x)), list(csv.reader(y))
    head_a, head_b = (left[0], right[0]) if left and right else ([], [])
    common = [c for c in head_a if c in head_b]
    ia, ib = [head_a.index(c) for c in common], [head_b.index(c) for c in common]
    rows_a, rows_b = left[1:], right[1:]
    new_rows = 0
    if len(rows_a) != len(rows_b):
        key = [k for k, (i, j) in enumerate(zip(ia, ib))
               if not all(numeric(r[i]) for r in rows_a) or not all(numeric(r[j]) for r in rows_b)]
        keyed_a = {tuple(r[ia[k]] for k in key): r for r in rows_a}
        keyed_b = {tuple(r[ib[k]] for k in key): r for r in rows_b}
        if key and len(keyed_a) == len(rows_a) and len(keyed_b) == len(rows_b):
            new_rows = len(keyed_a.keys() ^ keyed_b.keys())
            shared = [k for k in keyed_a if k in keyed_b]
            rows_a, rows_b = [keyed_a[k] for k in shared], [keyed_b[k] for k in shared]
    cells, differ = 0, set()
    for row_a, row_b in zip(rows_a, rows_b):
        for column, i, j in zip(common, ia, ib):
            cells += 1
            if row_a[i] != row_b[j]:
                differ.add(column)
    if len(rows_a) != len(rows_b):
        differ.add(f"<{abs(len(rows_a) - len(rows_b))} rows only in one version>")
    return cells, sorted(differ), len(set(head_a) ^ set(head_b)) + new_rows


def compare_folders(a: Path, b: Path) -> dict[str, Any]:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    report = {"files": len(files_a & files_b), "only_one": sorted(str(p) for p in files_a ^ files_b), "figures": 0,
              "differ": [], "new_keys": 0, "identical_bytes": 0}
    for name in sorted(files_a & files_b):
        left, right = a / name, b / name
        if left.read_bytes() == right.read_bytes():
            report["identical_bytes"] += 1
        compare = {".json": compare_json, ".csv": compare_csv}.get(name.suffix)
        if compare is None:
            continue
        figures, differ, new = compare(left, right)
        report["figures"] += figures
        report["new_keys"] += new
        report["differ"] += [f"{name}: {d}" for d in differ]
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="a git revision to compare with (a branch, a tag, a commit)")
    parser.add_argument("--revision", help="the revision compared with the baseline (default: this checkout as it is)")
    parser.add_argument("--jobs", type=int, help="both versions run with --jobs (default: simsampling's, one process)")
    parser.add_argument("--executor", help="both versions run with --executor (default: simsampling's)")
    parser.add_argument("scenarios", nargs="*", type=Path, help="scenario files (default: every shipped one)")
    args = parser.parse_args(argv)
    options = (*(("--jobs", str(args.jobs)) if args.jobs else ()), *(("--executor", args.executor) if args.executor else ()))
    scenarios = [p.resolve() for p in args.scenarios] or SHIPPED
    print(f"python tests/validation/same_figures.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    failed = 0
    totals = {"files": 0, "figures": 0, "identical_bytes": 0}
    with tempfile.TemporaryDirectory(prefix="same-figures-") as scratch:
        scratch = Path(scratch)
        versions = {"baseline": args.baseline, "this": args.revision}
        for name, revision in versions.items():
            if revision is None:
                versions[name] = ROOT
            else:
                (scratch / f"{name}-src").mkdir()
                versions[name] = export(revision, scratch / f"{name}-src")
        for scenario in scenarios:
            if not in_revision(args.baseline, scenario):
                print(f"{scenario.relative_to(ROOT)}: not in {args.baseline}, not compared")
                continue
            engines = ("fast", "simpy") if points_of(scenario) == 1 else ("auto",)
            for engine in engines:
                folders = {name: scratch / name / f"{scenario.stem}-{engine}" for name in versions}
                times = {name: run(source, scenario, folders[name], engine, options) for name, source in versions.items()}
                report = compare_folders(folders["baseline"], folders["this"])
                for key in totals:
                    totals[key] += report[key]
                failed += bool(report["differ"])
                print(f"{scenario.relative_to(ROOT)} ({engine}): {report['files']} files, {report['figures']:,} figures compared, "
                      f"{'all the same' if not report['differ'] else 'DIFFERENT: ' + '; '.join(report['differ'][:8])}; "
                      f"{report['identical_bytes']} files byte-identical; {report['new_keys']} keys, columns or keyed rows in one version only"
                      + (f"; files in one version only: {', '.join(report['only_one'])}" if report["only_one"] else "")
                      + f" ({times['baseline']:.0f} s, {times['this']:.0f} s)")
                for name in folders.values():
                    subprocess.run(["rm", "-rf", str(name)], check=True)
    print(f"\n{totals['files']} files in both versions' folders, {totals['figures']:,} figures compared: "
          f"{'every figure the same' if not failed else f'{failed} run(s) with different figures'}; "
          f"{totals['identical_bytes']} files byte-identical")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
