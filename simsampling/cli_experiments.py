"""The ``compare`` and ``sweep`` commands (registered by cli.py; the work is in experiment/ and report/).

Same conventions as ``run``: bad input (scenarios, ``--vary``, ``--kpi``, a results
folder taken) exits with status 2 and one line per problem, before anything runs.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from rich.console import Console

from .choices import INTERRUPTED, OS_FAILURE
from .scenario import Problem, ScenarioError, load_scenario
from .scenario.schema import MAX_REPLICATIONS
from .stopping import ProcessDied, interruption
from .cli_folder import results_target, target_free
from .cli_options import add_run_arguments, bounded_int
from .labels import counted
from .terminal import printable, progress_bar, say, shown

if TYPE_CHECKING:  # tables and process pools are imported by the commands that use them, not by validate
    from rich.table import Table

RunOptions = Callable[[argparse.Namespace, Any, str], dict]
"""cli.run_options: the ``run_scenario`` keywords of a command's engine and executor options."""



def add_parsers(commands) -> None:
    """Add ``compare`` and ``sweep`` to the command line's subparsers."""
    compare = commands.add_parser(
        "compare", help="run scenarios with common random numbers and compare their KPIs (paired CIs)",
        description="Run two or more scenarios with the same seed and replications (common random numbers: the "
        "same residents in each) and write a folder comparing them with the first: differences and paired 95% CIs.")
    compare.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO", help="scenario files; the first is the baseline A")
    _common(compare, "results/compare-<timestamp>")

    sweep = commands.add_parser(
        "sweep", help="run every combination of scenario field values (full factorial), resumable",
        description="Run a full factorial design over scenario fields, all with the same seed and replications. "
        "An interrupted sweep, run again with the same command, skips the combinations already done.")
    sweep.add_argument("scenario", type=Path, help="scenario file (YAML)")
    sweep.add_argument("--vary", action="append", metavar="PATH=VALUES", required=True,
                       help="a factor: a dotted field path (* = every item of a list) and comma-separated values, "
                       "e.g. points.*.tents=2,3,4 or arrivals.show_up=0.9,0.95; repeat for more factors")
    sweep.add_argument("--kpi", action="append", metavar="KEY",
                       help="a KPI for sweep.csv and the charts, as in kpis.csv (e.g. wait_min.total.p90); repeat for "
                       "more (default: finish_h, sampled_by_deadline_share, wait_min.total.p90, utilization.swab, "
                       "staff_hours, waiting_over_capacity_person_min)")
    _common(sweep, None)
    sweep.add_argument("--out", "-o", type=Path, required=True, help="results folder (its unfinished sweep, if any, "
                       "is resumed from the hidden .<name>.partial folder beside it)")
    sweep.add_argument("--fresh", action="store_true", help="discard an unfinished sweep of this --out and start over")


def _common(parser: argparse.ArgumentParser, out: Optional[str]) -> None:
    parser.add_argument("--replications", "-r", type=bounded_int(1, MAX_REPLICATIONS),
                        help="replications of every scenario (default: the first scenario's)")
    add_run_arguments(parser, seed="random seed of every scenario (default: the first scenario's)", out=out,
                      quiet="no progress bar or table")


def _ready(options: dict[str, Any], scenarios, err: Console, quiet: bool, runs: int = 1) -> dict[str, Any]:
    """``options`` with the engine the runs use: the first run after installing says it compiles the engine,
    or runs on SimPy while it compiles aside (``experiment.warm_up``, as ``run`` does)."""
    from .experiment.warm_up import ready_options

    return ready_options(options, scenarios, (lambda text: None) if quiet else (lambda text: say(err, text)), runs)


# ---------------------------------------------------------------- compare


def run_compare(args, out: Console, err: Console, run_options: RunOptions) -> int:
    """``simsampling compare``; ``run_options(args, scenario, file)`` (cli.py's) gives each run's keywords."""
    from .experiment.compare import compare_scenarios
    from .experiment.factorial import with_fixed
    from .report import ResultsExistError
    from .report.compare import write_comparison

    if len(args.scenarios) < 2:
        raise ScenarioError([Problem("compare", None, "", "give at least two scenario files to compare")])
    scenarios = _parse_all(args.scenarios, load_scenario)
    seed = args.seed if args.seed is not None else scenarios[0].seed
    replications = args.replications if args.replications is not None else scenarios[0].replications
    fixed = [with_fixed(s, seed, replications, str(f)) for s, f in zip(scenarios, args.scenarios)]
    options = {}
    for scenario, file in zip(fixed, args.scenarios):
        options = run_options(args, scenario, str(file))
    target = results_target(args.out, "compare-" + "-vs-".join(s.name for s in scenarios)[:80])
    target_free(target, args.force, err, args.quiet)
    if not args.quiet:
        say(err, f"common random numbers: every scenario runs with seed {seed} and {counted(replications, 'replication')}")
    options = _ready(options, fixed, err, args.quiet)
    total = sum(replications * len(s.points) for s in fixed)
    offsets = [sum(replications * len(s.points) for s in fixed[:i]) for i in range(len(fixed))]
    with progress_bar(err, args.quiet) as progress:
        task = progress.add_task("comparing: simulating", total=total)
        comparison = compare_scenarios(
            scenarios, replications=replications, seed=seed, files=[str(f) for f in args.scenarios],
            progress=lambda index, done, _total: progress.update(task, completed=offsets[index] + done),
            **options)
        progress.update(task, description="comparing: writing results")
        try:
            write_comparison(comparison, target, force=args.force)
        except ResultsExistError as exc:
            raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    if not args.quiet:
        for table in compare_tables(comparison, out):
            out.print(table)
        for note in comparison.notes[1:]:
            say(out, note)
    for label, result in zip(comparison.labels, comparison.results):
        if not result.littles_law.passed:
            say(err, f"warning: self-check failed in {label} ({result.scenario.name}): see its summary.json")
    say(out, f"results written to {target}")
    return 0


def compare_tables(comparison, console: Console) -> list[Table]:
    """The headline KPIs: one table with every scenario's mean and 95% CI and each difference with A, or, when
    that is wider than the terminal, one narrower table per scenario compared with A (means and differences)."""
    whole = _compare_table(comparison, comparison.labels[1:], with_ci=True)
    if _fits(whole, console):
        return [whole]
    return [_compare_table(comparison, [label], with_ci=False) for label in comparison.labels[1:]]


def _fits(table: Table, console: Console) -> bool:
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update(max_width=100_000), table).maximum
    return natural <= console.width


def _compare_table(comparison, others: list[str], with_ci: bool) -> Table:
    from rich import box
    from rich.table import Table

    from .report.compare import fmt_diff, fmt_leaf, headline_rows

    base = comparison.labels[0]
    compared = [base, *others]
    names = " vs ".join(f"{label}: {shown(comparison.results[comparison.labels.index(label)].scenario.name)}"
                        for label in compared)
    table = Table(title=f"{names}\n{counted(comparison.replications, 'replication')}, seed {comparison.seed}, common random "
                        "numbers; differences with paired 95% CIs", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("KPI", ratio=1, overflow="fold", min_width=12)
    for label in compared:
        table.add_column(f"{label} (95% CI)" if with_ci else label, justify="right", no_wrap=True)
    for label in others:
        table.add_column(f"{label}−{base}", justify="right", no_wrap=True)
        table.add_column("paired 95% CI", justify="right", no_wrap=True)
        table.add_column("sig.", justify="center", no_wrap=True)
    for key, label, fmt in headline_rows(comparison):
        row = comparison.table[key]
        cells = [label]
        for lbl in compared:
            mean, ci = fmt_leaf(row[lbl], fmt)
            cells.append(f"{mean} ({ci})" if ci and with_ci else mean)
        for lbl in others:
            cells += list(fmt_diff(row["differences"][f"{lbl}-{base}"], fmt))
        table.add_row(*cells)
    return table


# ---------------------------------------------------------------- sweep


def run_sweep(args, out: Console, err: Console, run_options: RunOptions) -> int:
    """``simsampling sweep``; ``run_options`` as for :func:`run_compare`."""
    from .experiment.factors import parse_vary
    from .experiment.factorial import with_fixed
    from .report import ResultsExistError
    from .report.folder import partial_folder
    from .report.sweep import sweep_to_folder

    scenario = load_scenario(args.scenario)
    factors = _parse_all(args.vary, parse_vary)
    file = str(args.scenario)
    base = with_fixed(scenario, args.seed, args.replications, file)
    options = run_options(args, base, file)  # refuses a bad executor before the design is built
    target_free(args.out, args.force, err, args.quiet)
    options = _ready(options, base, err, args.quiet, runs=math.prod(len(factor.values) for factor in factors))
    state = {"done": 0, "total": 0}
    partial = partial_folder(args.out)

    with progress_bar(err, args.quiet) as progress:
        task = progress.add_task(f"{printable(scenario.name)}: sweeping", total=None)

        def before_run(done: int, total: int) -> None:
            state.update(done=done, total=total)
            progress.update(task, total=total, completed=done)
            if done and not args.quiet:
                say(err, f"resuming: {done} of {total} combinations already done ({partial})")

        def report(done: int, total: int, factors_now) -> None:
            state["done"] = done
            progress.update(task, completed=done)

        try:
            result = sweep_to_folder(base, factors, args.out, force=args.force, kpis=args.kpi, fresh=args.fresh,
                           progress=report, before_run=before_run,
                           check=lambda s: run_options(args, s, file), file=file, **options)
        except KeyboardInterrupt as exc:
            progress.stop()
            say(err, _saved(interruption(exc), state, partial))
            return INTERRUPTED
        except OSError:  # a full disk, say: cli.main names it; the finished combinations stay resumable
            progress.stop()
            if state["done"]:
                say(err, _saved("stopped", state, partial))
            raise
        except ResultsExistError as exc:  # the folder was taken while the sweep ran; its journal is kept
            raise ScenarioError([Problem(str(args.out), None, "--out", str(exc).removeprefix(f"{args.out} ")
                                         + f"; the finished sweep is kept in {partial}")]) from None
        except ProcessDied as exc:
            progress.stop()
            say(err, _saved(str(exc), state, partial))
            return OS_FAILURE
    if not args.quiet:
        for table in sweep_tables(result, out):
            out.print(table)
        legend = factor_legend(result)
        if legend:
            say(out, f"factors: {legend}")
    failed = [row.index for row in result.rows if not row.littles_law_passed]
    if failed:
        say(err, f"warning: self-check failed in combination(s) {failed}: see summary.json")
    resumed = f" ({result.resumed} resumed from an interrupted sweep)" if result.resumed else ""
    say(out, f"{len(result.rows)} combinations{resumed}; results written to {args.out}")
    return 0


def _saved(what: str, state: dict, partial: Path) -> str:
    if not state["total"]:
        return f"{what}: no results were written"
    return (f"{what}: {state['done']} of {state['total']} combinations are saved in {partial}; "
            "run the same command again to resume")


def sweep_tables(result, console: Console) -> list[Table]:
    """The combinations with the chosen KPIs' means; factors named by their last distinct part; when the KPIs
    do not fit the terminal side by side, several tables, each repeating the factors."""
    groups: list[list[str]] = [[]]
    for kpi in result.kpis:
        trial = groups[-1] + [kpi]
        if groups[-1] and not _fits(_sweep_table(result, trial), console):
            groups.append([kpi])
        else:
            groups[-1] = trial
    return [_sweep_table(result, kpis, part=(i + 1, len(groups))) for i, kpis in enumerate(groups)]


def factor_legend(result) -> str:
    """"tents = points.*.tents; ..." for the factors whose short name differs from their path (empty if none)."""
    from .labels import short_names

    paths = [f.path for f in result.factors]
    return "; ".join(f"{name} = {path}" for name, path in zip(short_names(paths), paths) if name != path)


def _sweep_table(result, kpis: list[str], part: tuple[int, int] = (1, 1)) -> Table:
    import textwrap

    from rich import box
    from rich.table import Table

    from .report.html import formatted
    from .labels import kpi_format, kpi_label, short_names

    more = f" ({part[0]} of {part[1]})" if part[1] > 1 else ""
    table = Table(title=f"{shown(result.scenario.name)}: {len(result.rows)} combinations, {result.scenario.replications} "
                        f"replications each, seed {result.scenario.seed} (common random numbers){more}",
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("#", justify="right", no_wrap=True)
    for name in short_names([f.path for f in result.factors]):
        table.add_column(shown(name), justify="right", no_wrap=True)
    for kpi in kpis:
        table.add_column("\n".join(shown(part) for part in textwrap.wrap(kpi_label(kpi), 16)), justify="right", no_wrap=True)
    for row in result.rows:
        cells = [str(row.index)] + [shown(row.factors[f.path]) for f in result.factors]
        cells += [formatted(row.leaf(kpi)["mean"], kpi_format(kpi)) for kpi in kpis]
        table.add_row(*cells)
    return table


def _parse_all(items, parse) -> list:
    """``parse`` each item; the problems of every item together (one ScenarioError), not only the first's."""
    parsed, problems = [], []
    for item in items:
        try:
            parsed.append(parse(item))
        except ScenarioError as exc:
            problems += exc.problems
    if problems:
        raise ScenarioError(problems)
    return parsed
