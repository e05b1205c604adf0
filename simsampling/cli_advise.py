"""``simsampling advise``: the impact of every lever, and ``run --advise`` (registered by cli.py).

Same conventions as ``run``: bad input exits with status 2 before anything runs, and the
results folder appears whole or not at all. The work is in advice/impact.py, the folder in
report/advice.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from .choices import DEFAULT_MAX_P90_WAIT_MIN, RANK_BY
from .scenario import Problem, ScenarioError, load_scenario
from .scenario.schema import MAX_REPLICATIONS
from .cli_folder import results_target, target_free
from .cli_options import add_run_arguments, bounded_int
from .terminal import printable, progress_bar, say

if TYPE_CHECKING:  # the measuring (numpy, the engines) is imported where advice is measured, not by validate
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from .advice.impact import Impact

TOP_ROWS = 10
"""District: point rows of the terminal table."""


def add_parser(commands) -> None:
    """Add ``advise`` to the command line's subparsers."""
    advise = commands.add_parser(
        "advise", help="what one more or one fewer tent, checker, desk or server of any stage, a higher QR share or a "
        "shorter calling plan changes (paired 95%% CIs), ranked by effect per staff-hour",
        description="Run the scenario as written and once per lever (one more / one fewer tent with its staff, "
        "temperature checker, registration desk, server of any other stage with its own; QR share up by 0.1; the "
        "calling plan one hour shorter), all with "
        "the same seed and replications (common random numbers), and write what each changes with paired 95% CIs, "
        "ranked by effect per staff-hour; for a district, per point, with moves of tents inside a town.")
    advise.add_argument("scenario", type=Path, help="scenario file (YAML)")
    add_target_arguments(advise)
    advise.add_argument("--rank-by", choices=tuple(RANK_BY), help="the KPI the levers are ranked by (default: the "
                        "finish when the scenario misses its deadline, else the p90 wait)")
    advise.add_argument("--lever", action="append", metavar="NAME",
                        help="only these levers (repeatable; default all: tent+1, tent-1, checker+1, checker-1, desk+1, "
                        "desk-1, <stage>+1 and <stage>-1 for every other stage with servers of its own, qr+0.1, calls-1h)")
    advise.add_argument("--replications", "-r", type=bounded_int(1, MAX_REPLICATIONS),
                        help="replications of every run (default: the scenario's)")
    add_run_arguments(advise, seed="random seed of every run (default: the scenario's)",
                      out="results/<name>-advise-<timestamp>", quiet="no progress bar or table")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deadline", type=float, metavar="H",
                        help="hours from the first opening by which each point must finish (default: the scenario's)")
    parser.add_argument("--max-p90-wait", type=float, metavar="MIN", default=DEFAULT_MAX_P90_WAIT_MIN,
                        help=f"the p90 wait a point must stay within (default {DEFAULT_MAX_P90_WAIT_MIN:g} min)")


def run_advise(args, out: Console, err: Console, run_options: Callable[..., dict[str, Any]]) -> int:
    from .advice.impact import levers_named, measure_impact
    from .experiment.factorial import with_fixed
    from .experiment.warm_up import ready_options
    from .report import ResultsExistError
    from .report.advice import write_advice

    file = str(args.scenario)
    scenario = with_fixed(load_scenario(args.scenario), args.seed, args.replications, file)
    levers = levers_named(args.lever, scenario)
    target = results_target(args.out, f"{scenario.name}-advise")
    target_free(target, args.force, err, args.quiet)
    options = run_options(args, scenario, file)
    line = (lambda text: None) if args.quiet else (lambda text: say(err, text))
    # The scenario, then a run per lever; a district's levers per point and moves: compiled first.
    options = ready_options(options, scenario, line, runs=len(levers) + 1 if len(scenario.points) == 1 else None)
    name = printable(scenario.name)  # a progress description is plain text
    with progress_bar(err, args.quiet) as progress:
        task = progress.add_task(f"{name}: advising", total=None)
        impact = measure_impact(scenario, levers, deadline_h=args.deadline, max_p90_wait_min=args.max_p90_wait,
                                rank_by=args.rank_by, file=file,
                                progress=lambda done, total: progress.update(task, completed=done, total=total),
                                **options)
        progress.update(task, description=f"{name}: writing results")
        try:
            write_advice(impact, target, force=args.force)
        except ResultsExistError as exc:
            raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    if not args.quiet:
        print_impact(impact, out)
    say(out, f"results written to {target}")
    return 0


def advise_run(result, args, progress: Progress, file: str) -> Impact:
    """``run --advise``: the levers measured against the run just made (its replications are the baseline)."""
    from .advice.impact import measure_impact

    options = {key: getattr(args, key) for key in ("jobs", "executor", "scheduler", "engine") if hasattr(args, key)}
    task = progress.add_task(f"{printable(result.scenario.name)}: measuring the levers", total=None)
    return measure_impact(result.scenario, deadline_h=getattr(args, "deadline", None),
                          max_p90_wait_min=getattr(args, "max_p90_wait", None) or DEFAULT_MAX_P90_WAIT_MIN,
                          baseline=result, file=file, after_diagnosis=True,
                          progress=lambda done, total: progress.update(task, completed=done, total=total), **options)


def advise_sections(impact: Impact) -> Callable[[Path], list]:
    """For ``write_results(more=...)``: the impact view's files into the run's folder, and its report.html section."""
    from .report.advice import advice_section, write_advice_files

    def more(folder: Path) -> list:
        return [("advice", "What to change", advice_section(impact, write_advice_files(impact, folder)))]

    return more


def _with_ci(key: str, leaf: dict) -> str:
    """"−23.5 ±3.1": the paired mean change and the half-width of its 95% CI."""
    from .advice.words import signed

    if not leaf or leaf.get("mean") is None:
        return ""
    ci = leaf.get("ci95")
    half = f" ±{signed(key, (ci[1] - ci[0]) / 2).lstrip('+')}" if ci else ""
    return signed(key, leaf["mean"]) + half


def impact_table(effects, title: str, with_point: bool, numbered: bool = False) -> Table:
    """The effects' rows: rank (or, ``numbered``, the place in this list), lever, p90 wait, finish, staff-hours, verdict."""
    from rich import box
    from rich.table import Table

    from .advice.targets import NAMES, UNITS

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("lever (change)", ratio=1, overflow="fold")
    for key in ("wait_min.total.p90", "finish_h", "staff_hours"):
        table.add_column(f"{NAMES[key]} {UNITS[key].replace('staff-hours', '')}".strip(), justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for place, effect in enumerate(effects, start=1):
        change = effect.change.describe() if effect.change is not None and effect.change.applies else ""
        name = (f"{effect.point_id}: " if with_point else "") + effect.lever.label + (f" ({change})" if change else "")
        table.add_row(str(place if numbered else effect.rank), name, *(_with_ci(k, effect.deltas.get(k) or {})
                                                for k in ("wait_min.total.p90", "finish_h", "staff_hours")),
                      effect.verdict.replace("_", " "))
    return table


def print_sentences(sentences: Sequence[str], out: Console) -> None:
    """Sentences that say what to do, one bullet each (wrapped lines indented under the text): the impact
    view's, and the run's diagnosis."""
    from rich.table import Table
    from rich.text import Text

    said = Table.grid(padding=(0, 1))
    said.add_column(no_wrap=True)
    said.add_column()
    for sentence in sentences:
        said.add_row("•", Text(printable(sentence)))  # a name in a sentence stays text
    out.print(said)


def print_impact(impact: Impact, out: Console) -> None:
    """The sentences, then the levers' table (a district: every point at once, then the best per point)."""
    print_sentences(impact.sentences, out)
    reps = f"{impact.baseline.replications} replications; paired 95% CI as ±half-width"
    if impact.district:
        out.print(impact_table([e for e in impact.district_effects() if e.applies],
                               f"Every point at once ({reps})", False))
        best = impact.best_per_point()[:TOP_ROWS]
        if best:
            out.print(impact_table(best, f"One change per point, what to act on first (advice.csv has all "
                                         f"{len(impact.point_effects()):,} effects, ranked)", True, numbered=True))
    else:
        out.print(impact_table([e for e in impact.effects if e.applies], f"Levers, best first ({reps})", False))
