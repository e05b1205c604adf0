"""The command line: a thin shell over the Python API.

Exit status: 0 done; 1 an operating-system failure (a path that cannot be read or
written, a full disk, a scheduler that cannot be reached, `app`'s port taken or Streamlit
missing: one line naming the path or address and the cause); 2 bad input (scenario,
arguments, results folder taken); 3 a target that cannot be met (optimise, advise: the
reason names the field to change; nothing written); 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (nothing
written). A worker or forked child that died is exit 1, one line saying which and how.
None shows a traceback. Text from a scenario is printed through terminal.py: never
markup, emoji or raw control characters.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence

from rich.console import Console

from .choices import BAD_INPUT, INFEASIBLE, INTERRUPTED, OS_FAILURE
from .stopping import ProcessDied, interruption, stopped_by_signals
from .collector import for_a_command, kept_frozen, left_at_exit, left_to_the_system
from . import __version__
from .choices import AUTO_FIRST, AUTO_KPIS, AUTO_MAX, AUTO_PRECISION, DEFAULT_MAX_P90_WAIT_MIN, FORMATS, KEEP_LOGS_UP_TO
from .cli_advise import add_parser as add_advise_parser
from .cli_advise import advise_run, advise_sections, print_sentences, run_advise
from .cli_app import add_parser as add_app_parser
from .cli_app import run_app
from .cli_experiments import add_parsers as add_experiment_parsers
from .cli_fit import add_parser as add_fit_parser
from .cli_fit import run_fit
from .cli_experiments import run_compare, run_sweep
from .cli_folder import release_targets, results_target, target_free
from .cli_options import add_run_arguments, bounded_int
from .cli_animate import add_parser as add_animate_parser
from .cli_animate import run_animate
from .scenario import Problem, Scenario, ScenarioError, load_scenario, validate_scenario
from .scenario.schema import MAX_REPLICATIONS
from .labels import counted
from .terminal import console, printable, progress_bar, say, shown

if TYPE_CHECKING:  # the simulation (numpy, the metrics) is imported by the commands that run one, not by validate
    from rich.table import Table

    from .advice import RunAdvice
    from .experiment import RunResult
    from .report.forked import Prepared

SAY_ESTIMATE_FROM_S = 30.0


def _positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 0 < value < 10_000:
        raise argparse.ArgumentTypeError(f"{value:g} must be more than 0 and under 10000 minutes")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simsampling",
        description="Simulate mass nucleic-acid sampling: stations, staff and queues at sampling points.",
    )
    parser.add_argument("--version", action="version", version=f"simsampling {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a scenario and write a results folder")
    run.add_argument("scenario", type=Path, help="scenario file (YAML)")
    run.add_argument("--replications", "-r", type=_replications, help="replications, or auto: as many as --precision needs (default: the scenario's)")
    add_sequential_arguments(run)
    add_run_arguments(run, seed="random seed (default: the scenario's)", out="results/<name>-<timestamp>",
                      quiet="no progress bar or summary table")
    run.add_argument(
        "--persons",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write persons.csv, every resident of the first replication (default: for rounds of up to "
        f"{KEEP_LOGS_UP_TO:,} residents; --persons streams it to disk for any size)",
    )
    run.add_argument("--max-p90-wait", type=_positive_minutes, default=DEFAULT_MAX_P90_WAIT_MIN, metavar="MIN",
                     help="the p90 total wait the advice holds each point to: headroom is how far the arrival plan "
                     f"can be pushed before passing it (default {DEFAULT_MAX_P90_WAIT_MIN:g} min)")
    run.add_argument("--rota-point", metavar="ID", help="the point rota.png shows (default: the point whose stations "
                     "were closed longest, or the first to act on)")
    run.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="persons and timeseries as csv (default) or parquet (typed columns, read by pandas and polars "
        "in a fraction of CSV's time); the other tables are always CSV",
    )
    run.add_argument(
        "--memory-check",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse a run whose estimated memory exceeds what is available (default); "
        "--no-memory-check runs it anyway (the estimate errs high)",
    )

    run.add_argument("--advise", action="store_true",
                     help="also measure every lever against this run (one more / one fewer tent, checker, desk; QR "
                     "share; a shorter calling plan) and add the impact view to the folder and report.html")

    add_optimise_parser(commands)
    add_advise_parser(commands)

    add_experiment_parsers(commands)
    add_fit_parser(commands)

    add_animate_parser(commands)

    add_app_parser(commands)

    validate = commands.add_parser("validate", help="check a scenario file without running it")
    validate.add_argument("scenario", type=Path, help="scenario file (YAML)")
    return parser


def run_options(args, scenario: Scenario, file: str) -> dict:
    """The keyword arguments of ``run_scenario`` for ``--jobs``, ``--executor``, ``--scheduler``, ``--engine``.

    Refuses, as bad input and before anything runs, an executor that cannot run
    here and ``--engine fast`` on a point out of the fast engine's scope.
    """
    from .experiment.executors import ExecutorUnavailable, check_executor, check_scheduler
    from .experiment.replicate import EngineScopeError, plan_engines

    try:
        check_executor(args.executor, args.scheduler)
    except ExecutorUnavailable as exc:
        raise ScenarioError([Problem(file, None, "--executor", str(exc))]) from None
    except ValueError as exc:
        raise ScenarioError([Problem(file, None, "--scheduler", str(exc))]) from None
    if args.scheduler is not None:
        check_scheduler(args.scheduler)  # unreachable: an operating-system failure (exit 1), before anything runs
    try:
        plan_engines(scenario, args.engine)
    except EngineScopeError as exc:
        shown = 10
        problems = [
            Problem(file, None, "--engine", f"point {point}: the fast engine cannot simulate {reason}; use --engine auto or simpy")
            for point, reason in exc.points[:shown]
        ]
        if len(exc.points) > shown:
            problems.append(Problem(file, None, "--engine", f"and {len(exc.points) - shown} more points out of the fast engine's scope"))
        raise ScenarioError(problems) from None
    return {"jobs": args.jobs, "executor": args.executor, "scheduler": args.scheduler, "engine": args.engine}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    out, err = console(), console(stderr=True)
    try:
        with stopped_by_signals():  # SIGTERM and SIGHUP stop a command as Ctrl-C does
            return _command(args, out, err)
    except ScenarioError as exc:
        for problem in exc.problems:
            say(err, problem)
        return BAD_INPUT
    except OSError as exc:
        say(err, failure_line(exc))
        return OS_FAILURE
    except ProcessDied as exc:
        say(err, f"{exc}; no results were written")
        return OS_FAILURE
    except KeyboardInterrupt as exc:
        say(err, f"{interruption(exc)}: no results were written")
        return INTERRUPTED
    finally:
        release_targets()  # a default folder made for the command and left empty


def _command(args, out: Console, err: Console) -> int:
    """The command ``args`` names, run."""
    if args.command == "validate":
        return _validate(args, out)
    if args.command == "optimise":
        return _optimise(args, out, err)
    if args.command == "compare":
        return run_compare(args, out, err, run_options)
    if args.command == "sweep":
        return run_sweep(args, out, err, run_options)
    if args.command == "fit":
        return run_fit(args, out, err)
    if args.command == "animate":
        return run_animate(args, out, err)
    if args.command == "advise":
        return run_advise(args, out, err, run_options)
    if args.command == "app":
        return run_app(args, out, err)
    return _run(args, out, err)


def command(argv: Optional[Sequence[str]] = None) -> int:
    """The ``simsampling`` command (``python -m simsampling``): :func:`main`, then the process ends without freeing
    the run's objects one by one or the interpreter's last collections walking them (``collector.left_to_the_system``):
    every file is written and closed by then, and ``atexit`` handlers run as before. Tests call ``main``: their
    process goes on. Meanwhile the collector runs as a command's process needs (``collector.for_a_command``)."""
    for_a_command()
    with left_to_the_system():
        return main(argv)


def failure_line(exc: OSError) -> str:
    """An operating-system failure in one line: the path or address, then the cause."""
    cause = exc.strerror or str(exc) or type(exc).__name__
    return cause if exc.filename is None else f"{exc.filename}: {cause}"


def _validate(args, out: Console) -> int:
    scenario = load_scenario(args.scenario)
    population = sum(p.population for p in scenario.points)
    stations = sum(p.stations for p in scenario.points)
    say(out, f"{args.scenario}: OK: {scenario.name}, {len(scenario.points)} point(s), "
             f"{population:,} residents, {stations} stations, {counted(scenario.replications, 'replication')}")
    return 0


def _with_overrides(scenario: Scenario, args, file: str) -> Scenario:
    """Apply --seed and --replications through validation, like any other input."""
    if args.seed is None and args.replications in (None, "auto"):
        return scenario  # validating it again would cost a city's run more than a second
    data = scenario.model_dump(mode="json", exclude_none=True)
    if args.seed is not None:
        data["seed"] = args.seed
    if args.replications is not None and args.replications != "auto":
        data["replications"] = args.replications
    return validate_scenario(data, file=file)


def _run(args, out: Console, err: Console) -> int:
    # What the run keeps, from its scenario on, is frozen for the collector (``collector.kept_frozen``): before
    # its workers start, the collections would walk a city's scenario, then numba's modules, while the other core
    # waits (the Xi'an round: 0.2-0.3 s).
    with kept_frozen():
        return _load_and_run(args, out, err)


def _load_and_run(args, out: Console, err: Console) -> int:
    from .report import charts_drawer

    scenario = _with_overrides(load_scenario(args.scenario), args, str(args.scenario))
    if args.rota_point is not None and args.rota_point not in {point.id for point in scenario.points}:
        raise ScenarioError([Problem(str(args.scenario), None, "--rota-point",
                                     f"{args.rota_point!r} is not the id of a point of the scenario")])
    target = results_target(args.out, scenario.name)
    target_free(target, args.force, err, args.quiet)
    # The charts' process starts first: it imports matplotlib while this one loads the engine and simulates
    # (it is ended, unused, when the run stops before its charts).
    with charts_drawer(len(scenario.points)) as drawer:
        return _simulate_and_write(args, out, err, scenario, target, drawer)


def _simulate_and_write(args, out: Console, err: Console, scenario: Scenario, target: Path,
                        drawer: Optional[Prepared]) -> int:
    """``run`` once its scenario is loaded and its target free: simulate, diagnose, write, say."""
    from .experiment import estimate as run_estimate
    from .experiment import run_scenario
    from .advice import run_advice
    from .report import ResultsExistError, results_writer
    from .report.folder import WriteError, scratch_beside

    options = run_options(args, scenario, str(args.scenario))
    estimate = run_estimate.estimate_run(scenario, args.jobs, keep_logs=None if args.persons is None else False,
                                         persons=bool(args.persons), engine=args.engine)
    if args.memory_check:
        run_estimate.check_memory(estimate, str(args.scenario))
    if estimate.wall_s > SAY_ESTIMATE_FROM_S and not args.quiet:
        say(err, estimate.describe())
    from .experiment.warm_up import warm_up

    # The first run after installing compiles the engine: said here, not behind a progress bar stuck at 0.
    options["engine"] = warm_up(scenario, args.engine, args.jobs, lambda text: None if args.quiet else say(err, text))

    # The scratch folder beside the target also shows, before the run, that results can be written there.
    with scratch_beside(target, "persons") as scratch, progress_bar(err, args.quiet) as progress:
        name = printable(scenario.name)  # a progress description is plain text
        task = progress.add_task(f"{name}: simulating", total=scenario.replications * len(scenario.points))
        first_kwargs = {"keep_logs": None if args.persons is None else False,
                        "persons_file": Path(scratch) / f"persons.{args.format}" if args.persons else None}
        sequential = None
        try:
            if args.replications == "auto":
                from .experiment.sequential import run_sequential

                progress.update(task, description=f"{name}: simulating (replications auto)", total=None)
                result, sequential = run_sequential(scenario, sequential_targets(args), n0=args.initial_replications,
                                                    max_replications=args.max_replications, first_kwargs=first_kwargs,
                                                    **options)
            else:
                result = run_scenario(
                    scenario,
                    **options,
                    progress=lambda done, total: progress.update(task, completed=done),
                    **first_kwargs,
                )
        except OSError as exc:  # persons.csv streamed beside the target: a full disk names the target
            if exc.filename is not None:
                raise
            raise WriteError(target, exc) from exc
        try:
            # A city's tables that need no advice are written aside while this process diagnoses the run.
            with kept_frozen(), results_writer(result, target, force=args.force, table_format=args.format) as finish:
                progress.update(task, description=f"{name}: diagnosing")
                advice = run_advice(result, args.max_p90_wait)
                impact = advise_run(result, args, progress, str(args.scenario)) if args.advise else None
                progress.update(task, description=f"{name}: writing results")
                finish(advice, rota_point=args.rota_point, more=advise_sections(impact) if impact else None,
                       drawer=drawer)
        except ResultsExistError as exc:
            raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    if not result.littles_law.passed:
        say(err, f"warning: self-check failed: the time series and the residents' waits disagree (Little's law, "
                 f"{result.littles_law.worst}); the queue series and charts may be wrong, see checks in summary.json")
    if not args.quiet:
        out.print(_summary_table(result, advice))
        print_sentences(advice.sentences, out)
        if impact is not None:
            say(out, "Each change measured against this run (paired 95% CIs; advice.csv, report.html):")
            print_sentences(impact.sentences, out)
    if sequential is not None:
        say(out, sequential.line())
    if result.engine is not None:
        say(out, result.engine.describe())
    say(out, f"results written to {target}")
    left_at_exit(result, advice)  # a city's takes a tenth of a second to free, on the path to the command's end
    return 0


def _summary_table(result: RunResult, advice: Optional[RunAdvice] = None) -> Table:
    """The main KPIs, the same rows as report.html's table (``advice`` made when not given)."""
    from .advice import run_advice
    from rich.table import Table

    from .report.html import summary_kpi_rows

    advice = advice if advice is not None else run_advice(result, check_by_simulation=False)
    table = Table(title=f"{shown(result.scenario.name)}: {counted(result.replications, 'replication')}, seed {result.scenario.seed}",
                  title_justify="left")
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    waiting_area = any(point.waiting_area is not None for point in result.scenario.points)
    for row in summary_kpi_rows(advice.summary(result), len(result.scenario.points), waiting_area):
        table.add_row(row.label, row.mean, row.ci95.replace(" – ", " - "))
    return table


# ------------------------------------------------------------------ --replications auto and optimise


def _replications(text: str):
    """``--replications``: a whole number, or ``auto`` (experiment/sequential.py)."""
    if text.strip().lower() == "auto":
        return "auto"
    return bounded_int(1, MAX_REPLICATIONS)(text)


def add_sequential_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``--replications auto``: the target KPIs, their half-width, the first batch and the max."""
    parser.add_argument("--precision", type=float, default=AUTO_PRECISION,
                        help="with --replications auto: wanted 95%% CI half-width relative to the mean "
                        f"(default {AUTO_PRECISION:g} = 5%%)")
    parser.add_argument("--kpi", action="append", metavar="KPI[=HALF_WIDTH]",
                        help="with --replications auto: a target KPI, a dotted path of summary.json kpis, optionally "
                        "with an absolute half-width in its unit (repeatable; default: "
                        f"{', '.join(AUTO_KPIS)})")
    parser.add_argument("--initial-replications", type=bounded_int(2, MAX_REPLICATIONS), default=AUTO_FIRST,
                        help=f"with --replications auto: the first batch (default {AUTO_FIRST})")
    parser.add_argument("--max-replications", type=bounded_int(2, MAX_REPLICATIONS), default=AUTO_MAX,
                        help=f"with --replications auto: stop here if the target is not met (default {AUTO_MAX})")


def sequential_targets(args) -> list:
    from .experiment import sequential

    file = str(args.scenario)
    if not (args.precision > 0 and args.precision < float("inf")):
        raise ScenarioError([Problem(file, None, "--precision", f"{args.precision:g} must be a positive fraction of the mean")])
    if args.initial_replications > args.max_replications:
        raise ScenarioError([Problem(file, None, "--max-replications",
                                     f"{args.max_replications} is below --initial-replications {args.initial_replications}")])
    targets = []
    for text in args.kpi or sequential.DEFAULT_KPIS:
        try:
            targets.append(sequential.parse_target(text, args.precision))
        except ValueError as exc:
            raise ScenarioError([Problem(file, None, "--kpi", f"{text}: {exc}")]) from None
    return targets


def add_optimise_parser(commands) -> None:
    opt = commands.add_parser("optimise", help="least staff-hours per point (stations, temperature checkers, "
                              "registration desks) meeting a deadline and a wait limit, or the best split of a fixed "
                              "total of stations; exit status 3 when no staffing can meet the target")
    opt.add_argument("scenario", type=Path, help="scenario file (YAML)")
    opt.add_argument("--deadline", type=float, metavar="H",
                     help="hours from the first opening by which each point must finish (default: the scenario's deadline)")
    opt.add_argument("--max-p90-wait", type=float, metavar="MIN", help="limit of the 90th percentile of the total wait (minutes)")
    opt.add_argument("--confidence", type=float, default=0.9,
                     help="share of realisations that must meet every constraint (default 0.9)")
    opt.add_argument("--assurance", type=float, default=0.95,
                     help="confidence with which that share is established (Clopper-Pearson lower bound; default 0.95)")
    opt.add_argument("--fit-waiting-area", action="store_true",
                     help="also keep the line inside each point's waiting_area (waiting_peak_overflow == 0)")
    opt.add_argument("--calling-span", action="store_true",
                     help="also search the span of the calling plan: the longest plans (half an hour apart) whose "
                     "residents can all arrive by the deadline")
    opt.add_argument("--total-stations", type=int, metavar="N",
                     help="allocation mode: share N stations over the points so that the latest point finishes earliest")
    opt.add_argument("--replications", "-r", type=_replications,
                     help="replications per evaluation (default: the scenario's, at least what --confidence needs); "
                     "auto: picked by the sequential procedure on the scenario as given")
    add_sequential_arguments(opt)
    add_run_arguments(opt, seed="random seed of the search (default: the scenario's)",
                      out="results/<name>-optimise-<timestamp>", quiet="no line per evaluation")


def _optimise(args, out: Console, err: Console) -> int:
    from .experiment.optimise import InfeasibleTarget, allocate_stations, optimise_staffing, success_run_size
    from .experiment.sequential import replications_for
    from .report import ResultsExistError
    from .report.folder import partial_folder
    from .report.optimise import write_optimise

    file = str(args.scenario)
    scenario = _with_overrides(load_scenario(args.scenario), args, file)
    target = results_target(args.out, f"{scenario.name}-optimise")
    target_free(target, args.force, err, args.quiet)
    if args.total_stations is None and args.deadline is None and args.max_p90_wait is None and not args.fit_waiting_area:
        raise ScenarioError([Problem(file, None, "--deadline", "give --deadline, --max-p90-wait or --fit-waiting-area "
                                     "(or --total-stations for the allocation mode)")])
    options = run_options(args, scenario, file)
    line = (lambda text: None) if args.quiet else (lambda text: say(err, text))
    from .experiment.warm_up import warm_up

    options["engine"] = warm_up(scenario, options["engine"], args.jobs, line, runs=None)  # a search: compiled first, said
    replications = None if args.replications in (None, "auto") else args.replications
    if args.replications == "auto":
        replications = replications_for(scenario, sequential_targets(args), n0=args.initial_replications,
                                        max_replications=args.max_replications, **options)
        if args.total_stations is None:
            replications = max(replications, success_run_size(args.confidence, args.assurance)) if 0 < args.confidence < 1 and 0 < args.assurance < 1 else replications
        line(f"replications auto: {replications} replications per evaluation")
    # Every evaluation is journalled beside the target: run the same command again to resume.
    journal_folder = partial_folder(target)
    resuming = journal_folder.exists()
    journal_folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.total_stations is not None:
            result = allocate_stations(scenario, args.total_stations, replications=replications, say=line,
                                       journal_folder=journal_folder, file=file, **options)
        else:
            result = optimise_staffing(scenario, args.deadline, args.max_p90_wait, confidence=args.confidence,
                                       fit_waiting_area=args.fit_waiting_area, assurance=args.assurance,
                                       replications=replications, say=line, journal_folder=journal_folder,
                                       calling_span=args.calling_span, file=file, **options)
    except InfeasibleTarget as exc:
        shutil.rmtree(journal_folder, ignore_errors=True)  # not a result: nothing is left behind
        for point, reason in exc.reasons.items():
            say(err, f"{file}: infeasible: point {point}: {reason}")
        say(err, "no results were written")
        return INFEASIBLE
    except ScenarioError:  # arguments refused: a new journal holds nothing worth resuming
        if not resuming:
            shutil.rmtree(journal_folder, ignore_errors=True)
        raise
    try:
        write_optimise(result, target, force=args.force)
    except ResultsExistError as exc:
        raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    shutil.rmtree(journal_folder, ignore_errors=True)
    summary = result.summary()
    if result.mode == "stations":
        by_point = {e.point_id: e for e in result.verification}
        for p in summary["points"][:10]:
            say(out, f"{p['id']}: {by_point[p['id']].describe()}")
        if len(summary["points"]) > 10:
            say(out, f"and {len(summary['points']) - 10} more points: answer.csv")
        verdict = "verified with seed" if result.verified else "NOT verified with seed"
        say(out, f"{summary['stations_before']} stations before, {summary['stations_after']} after; "
                 f"{summary['staff_hours_scheduled_before']:,.0f} staff-hours scheduled before, "
                 f"{summary['staff_hours_scheduled_after']:,.0f} after; {verdict} {result.verify_seed} "
                 f"({counted(result.replications, 'replication')})")
    else:
        last = result.allocation_steps[-1]
        answer = ", ".join(f"{pid}: {n}" for pid, n in list(result.answers.items())[:10])
        say(out, f"allocation of {result.total} stations: {answer}; latest point {last['latest_point']} "
                 f"finishes at {last['finish_h']:.2f} h")
    say(out, f"results written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(command())
