"""The command line: a thin shell over the Python API.

Exit status: 0 done; 2 bad input (scenario, arguments, results folder taken);
130 interrupted (nothing written). Bad input never shows a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .experiment import RunResult, run_scenario
from .experiment import estimate as run_estimate
from .experiment.replicate import KEEP_LOGS_UP_TO
from .scenario import Problem, Scenario, ScenarioError, load_scenario, validate_scenario
from .scenario.schema import MAX_REPLICATIONS

BAD_INPUT = 2
INTERRUPTED = 130
SAY_ESTIMATE_FROM_S = 30.0


def _bounded_int(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simsampling",
        description="Simulate mass nucleic-acid sampling: stations, staff and queues at sampling points.",
    )
    parser.add_argument("--version", action="version", version=f"simsampling {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario and write a results folder")
    run.add_argument("scenario", type=Path, help="scenario file (YAML)")
    run.add_argument("--replications", "-r", type=_bounded_int(1, MAX_REPLICATIONS), help="replications (default: the scenario's)")
    run.add_argument("--seed", type=_bounded_int(0, 2**63 - 1), help="random seed (default: the scenario's)")
    run.add_argument("--out", "-o", type=Path, help="results folder (default: results/<name>-<timestamp>)")
    run.add_argument("--jobs", "-j", type=_bounded_int(1, 1024), default=1, help="worker processes (default 1)")
    run.add_argument("--force", action="store_true", help="replace an existing non-empty results folder")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary table")
    run.add_argument(
        "--persons",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write persons.csv, every resident of the first replication (default: for rounds of up to "
        f"{KEEP_LOGS_UP_TO:,} residents; --persons streams it to disk for any size)",
    )
    run.add_argument(
        "--memory-check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse a run whose estimated memory exceeds what is available (default); "
        "--no-memory-check runs it anyway (the estimate errs high)",
    )

    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario", type=Path, help="scenario file (YAML)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    out = Console(stderr=False, highlight=False)
    err = Console(stderr=True, highlight=False)
    try:
        if args.command == "validate":
            return _validate(args, out)
        return _run(args, out, err)
    except ScenarioError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, soft_wrap=True)
        return BAD_INPUT
    except KeyboardInterrupt:
        err.print("interrupted: no results were written", markup=False)
        return INTERRUPTED


def _validate(args, out: Console) -> int:
    scenario = load_scenario(args.scenario)
    population = sum(p.population for p in scenario.points)
    stations = sum(p.stations for p in scenario.points)
    out.print(
        f"{args.scenario}: OK: {scenario.name}, {len(scenario.points)} point(s), "
        f"{population:,} residents, {stations} stations, {scenario.replications} replications",
        markup=False,
        soft_wrap=True,
    )
    return 0


def _with_overrides(scenario: Scenario, args, file: str) -> Scenario:
    """Apply --seed and --replications through validation, like any other input."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    if args.seed is not None:
        data["seed"] = args.seed
    if args.replications is not None:
        data["replications"] = args.replications
    return validate_scenario(data, file=file)


def _run(args, out: Console, err: Console) -> int:
    from .report import ResultsExistError, check_target, default_folder, write_results

    scenario = _with_overrides(load_scenario(args.scenario), args, str(args.scenario))
    target = args.out if args.out is not None else default_folder(scenario.name)
    try:
        check_target(target, args.force)
    except ResultsExistError as exc:
        raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    estimate = run_estimate.estimate_run(scenario, args.jobs, keep_logs=None if args.persons is None else False, persons=bool(args.persons))
    if args.memory_check:
        _check_memory(estimate, str(args.scenario))
    if estimate.wall_s > SAY_ESTIMATE_FROM_S and not args.quiet:
        err.print(estimate.describe(), markup=False)

    show = not args.quiet and err.is_terminal
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.persons-", dir=target.parent) as scratch, Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{scenario.name}: simulating", total=scenario.replications * len(scenario.points))
        result = run_scenario(
            scenario,
            jobs=args.jobs,
            progress=lambda done, total: progress.update(task, completed=done),
            keep_logs=None if args.persons is None else False,
            persons_file=Path(scratch) / "persons.csv" if args.persons else None,
        )
        progress.update(task, description=f"{scenario.name}: writing results")
        try:
            write_results(result, target, force=args.force)
        except ResultsExistError as exc:
            raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    if not result.littles_law.passed:
        err.print(
            f"warning: self-check failed: the time series and the residents' waits disagree (Little's law, "
            f"{result.littles_law.worst}); the queue series and charts may be wrong, see checks in summary.json",
            markup=False,
            soft_wrap=True,
        )
    if not args.quiet:
        out.print(_summary_table(result))
    out.print(f"results written to {target}", markup=False, soft_wrap=True)
    return 0


def _check_memory(estimate: run_estimate.Estimate, file: str) -> None:
    """Refuse, as bad input, a run that would not fit in memory: better now than after an hour.

    The problem names the lever that holds the most memory.
    """
    available = run_estimate.available_memory()
    if available is None or estimate.memory_bytes <= available:
        return
    lever = max(estimate.memory_parts, key=estimate.memory_parts.get)
    message = (
        f"{estimate.describe()}, but only {available / 2**30:.1f} GiB of memory is available; "
        "use --no-persons, fewer replications or fewer --jobs, "
        "split the round into smaller scenarios, or run anyway with --no-memory-check"
    )
    raise ScenarioError([Problem(file, None, lever, message)])


def _summary_table(result: RunResult) -> Table:
    kpis = result.summary["kpis"]
    table = Table(title=f"{result.scenario.name}: {result.replications} replications, seed {result.scenario.seed}", title_justify="left")
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")

    def row(label: str, leaf: dict, fmt: str = "{:,.1f}") -> None:
        mean = "n/a" if leaf["mean"] is None else fmt.format(leaf["mean"])
        ci = "" if not leaf["ci95"] else f"{fmt.format(leaf['ci95'][0])} - {fmt.format(leaf['ci95'][1])}"
        table.add_row(label, mean, ci)

    deadline = result.summary["round"]["deadline_h"]
    row("residents sampled (points and home)", kpis["sampled_total"], "{:,.0f}")
    if kpis["home_residents"]["mean"]:
        row("  of whom sampled at home", kpis["home_sampled"], "{:,.0f}")
    row("unserved (turned away, left, or never visited)", {**kpis["unserved"], "mean": kpis["unserved"]["mean"] + kpis["home_unserved"]["mean"], "ci95": None}, "{:,.0f}")
    for key, label in (("balked", "  left on seeing the line"), ("reneged", "  left the line, out of patience")):
        if kpis[key]["mean"]:
            row(label, kpis[key], "{:,.0f}")
    if kpis["not_called"]["mean"]:
        row("never called (calling plan too long)", kpis["not_called"], "{:,.0f}")
    row(f"last sample (h from opening; deadline {deadline:g} h)", kpis["finish_h"], "{:,.2f}")
    row("sampled by the deadline", kpis["sampled_by_deadline_share"], "{:.1%}")
    if len(result.scenario.points) > 1:
        row("points finished by the deadline", kpis["points_finished_by_deadline_share"], "{:.1%}")
    row("overtime (min after the last closing)", kpis["overtime_min"])
    row("throughput per station-hour", kpis["throughput_per_station_hour"])
    row("staff-hours", kpis["staff_hours"], "{:,.0f}")
    row("residents per sampler-hour", kpis["residents_per_sampler_hour"])
    if kpis["stations_closed_min"]["mean"]:
        row("station-minutes closed for lack of staff", kpis["stations_closed_min"], "{:,.0f}")
    if any(point.waiting_area is not None for point in result.scenario.points):
        row("person-minutes waiting outside the marked area", kpis["waiting_over_capacity_person_min"], "{:,.0f}")
    row("time in system p90 (min)", kpis["time_in_system_min"]["p90"])
    for stage, utilization in kpis["utilization"].items():
        row(f"{stage}: wait p90 (min)", kpis["wait_min"][stage]["p90"])
        row(f"{stage}: utilisation", utilization, "{:.0%}")
    return table


if __name__ == "__main__":
    sys.exit(main())
