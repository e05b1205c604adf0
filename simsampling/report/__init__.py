"""From a finished run to a results folder: summary, tables, charts, resolved scenario, report.html."""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import sys
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Optional, Sequence, Union

from ..advice import RunAdvice, run_advice
from ..advice.ranking import Ranking
from ..experiment import RunResult
from .files import (
    write_chain,
    write_flow,
    write_kpis,
    write_labs,
    write_persons,
    write_points,
    write_queue_by_point,
    write_scenario,
    write_stations,
    write_summary,
    write_throughput,
    write_timeseries,
)
from .folder import ResultsExistError, check_target, default_folder, results_folder
from .forked import Prepared, aside, prepared
from .html import write_report_html

__all__ = ["ResultsExistError", "charts_drawer", "check_target", "default_folder", "results_writer", "write_report_html",
           "write_results"]


CHARTS, TABLES = "the process drawing the charts", "the process writing the tables"
TABLES_AND_CHARTS = "the process writing the tables and drawing the charts"
"""What a forked child of the results' writing is called if it dies (``stopping.ProcessDied``)."""

DRAWER_POINTS = 20
"""Up to this many points, a run's charts are drawn by a process started with the run (``charts_drawer``),
handed the run pickled (about 0.3 MB a point); a larger run's charts by a child forked after it, sharing its memory."""


def charts_drawer(points: int) -> ContextManager[Optional[Prepared]]:
    """A process that imports matplotlib now (half a second of CPU), while this one simulates a run of
    ``points`` points, to draw its charts when ``write_results`` hands it the run; None for a large run."""
    if points > DRAWER_POINTS:
        return contextlib.nullcontext(None)
    return prepared(functools.partial(importlib.import_module, ".charts", __name__), CHARTS)


def _draw_charts(result: RunResult, folder: Path, advice: RunAdvice, rota_point: Optional[str]) -> list[Path]:
    """Every chart of the run."""
    from .charts import write_charts  # here: only the processes that draw import matplotlib

    return write_charts(result, folder, advice, rota_point)


def _draw_advised_charts(result: RunResult, folder: Path, handed: tuple[Ranking, Optional[str]]) -> list[Path]:
    """The charts that follow the advice, by the child that drew the others (``_plain_tables``), handed the
    advice's ranking and the rota's point once the run is diagnosed."""
    from .charts import write_advised_charts

    ranking, rota_point = handed
    return write_advised_charts(result, folder, ranking, rota_point)


def _charts_aside(result: RunResult, folder: Path, drawer: Optional[Prepared], advice: RunAdvice,
                  rota_point: Optional[str]) -> ContextManager[Callable[[], list[Path]]]:
    """Draw the charts in another process: ``drawer`` if given (handed the run without its residents), else a fork."""
    if drawer is None:
        return aside(functools.partial(_draw_charts, result, folder, advice, rota_point), CHARTS)
    light = copy.copy(result)  # the computed summaries come along; the residents' logs are not drawn
    light.first_logs, light.persons_file = [], None
    return _drawn_by(drawer, functools.partial(_draw_charts, light, folder, advice, rota_point))


@contextlib.contextmanager
def _drawn_by(drawer: Prepared, work: Callable[[], list[Path]]) -> Iterator[Callable[[], list[Path]]]:
    """``work`` handed to ``drawer``; leaving the block early ends the drawer before the caller removes the
    folder it draws into (it lives as long as the run, beyond the results folder)."""
    try:
        yield drawer.start(work)
    except BaseException:
        drawer.end()
        raise


def write_results(result: RunResult, target: Union[str, Path], force: bool = False,
                  provenance: Optional[dict[str, Any]] = None, table_format: str = "csv",
                  more: Optional[Callable[[Path], Sequence[tuple[str, str, Any]]]] = None,
                  advice: Optional[RunAdvice] = None, rota_point: Optional[str] = None,
                  drawer: Optional[Prepared] = None) -> Path:
    """Write every output of ``result`` into ``target``, whole or not at all.

    The charts are drawn meanwhile in other processes (``drawer``, from ``charts_drawer``; a child forked
    now, ``forked.aside``; for a city, the child that wrote the tables: ``plain_charts_aside``), two at a
    time (``charts.write_charts``): matplotlib takes longer than the tables, and the second core is free by then.

    ``provenance`` adds rows to report.html's provenance table (e.g. ``{"executor": "dask"}``).
    ``table_format``: ``csv`` or ``parquet`` for persons and timeseries (the other tables are CSV).
    ``more(folder)`` writes further files into the folder and returns report.html sections to add after
    the key figures, as (anchor, label, HTML) (``run --advise``: the impact view).
    ``advice`` is the run's diagnosis (``advice.run_advice``; made here with the default
    target when not given, while the tables that do not need it are written: ``results_writer``).
    ``rota_point`` is the id of the point rota.png shows (default: the
    point whose stations were closed longest, or the first to act on).
    ``drawer``: the process of ``charts_drawer``, started with the run.
    """
    _check_rota_point(result, rota_point)
    with results_writer(result, target, force=force, table_format=table_format) as finish:
        finish(advice if advice is not None else run_advice(result), provenance=provenance, more=more,
               rota_point=rota_point, drawer=drawer)
    return Path(target)


def _check_rota_point(result: RunResult, rota_point: Optional[str]) -> None:
    if rota_point is not None and rota_point not in {point.id for point in result.scenario.points}:
        raise ValueError(f"rota_point: {rota_point!r} is not a point of the scenario")


TABLES_ASIDE_FROM_POINTS = DRAWER_POINTS
"""From this many points on, the tables that do not need the diagnosis are written by a forked child while this
process diagnoses the run (a city's kpis.csv, scenario.yaml and flow.json: seconds); a smaller run's take less
than forking."""
TABLES_ASIDE_FROM_RESIDENTS = 50_000
"""Residents kept in memory from which a run of fewer points also writes those tables aside: persons.csv of
200,000 residents takes about 0.5 s of CPU and polars' import 0.3 s more, which the other core, idle while
this process diagnoses the run, then takes instead (a fork costs milliseconds)."""


def tables_aside(result: RunResult) -> bool:
    """Whether ``results_writer`` writes the tables that need no advice in a forked child: for a run of many
    points or of many residents kept in memory (persons.csv), in a process that has not loaded polars yet
    (persons.csv streamed during the run loads it). A child forked after polars started its threads would
    wait for them for ever when it writes a large table: a fork copies only the thread that forks."""
    large = (len(result.scenario.points) >= TABLES_ASIDE_FROM_POINTS
             or sum(log.population for log in result.first_logs) >= TABLES_ASIDE_FROM_RESIDENTS)
    return large and "polars" not in sys.modules


def plain_charts_aside(result: RunResult) -> bool:
    """Whether the child that writes the tables aside (``tables_aside``) then draws the charts, those that need no
    advice while the run is diagnosed (``charts.write_plain_charts``), the others once handed the advice's ranking
    (``charts.write_advised_charts``): for a run whose charts are not drawn by a drawer started with it
    (``charts_drawer``: a city). A process forked for the charts after the diagnosis would import matplotlib and
    warm it up again (the Xi'an round: 0.3 and 0.5 s of CPU) on the path after the diagnosis."""
    return tables_aside(result) and len(result.scenario.points) > DRAWER_POINTS


def _plain_tables(result: RunResult, staging: Path, table_format: str, charts: bool = False) -> None:
    """Every table that does not depend on the run's advice (the rest: ``results_writer``'s ``finish``), then with
    ``charts`` the charts that do not either (``plain_charts_aside``)."""
    write_kpis(result.summary, staging)
    write_persons(result, staging, table_format)
    write_timeseries(result, staging, table_format)
    if len(result.scenario.points) > 1:
        write_queue_by_point(result, staging)
    write_throughput(result, staging)
    if result.scenario.chain is not None:
        write_chain(result, staging)
        write_labs(result, staging)
    write_scenario(result.scenario, staging)
    write_flow(result, staging)
    write_stations(result, staging)
    if charts:
        from .charts import write_plain_charts

        # With a helper of its own, forked warm: the main process, diagnosing meanwhile, ends first (the Xi'an
        # round: this child drew alone for about 0.4 s after it, the other core idle).
        write_plain_charts(result, staging / "charts", processes=2)


@contextlib.contextmanager
def results_writer(result: RunResult, target: Union[str, Path], force: bool = False,
                   table_format: str = "csv") -> Iterator[Callable[..., None]]:
    """Open ``target``'s results folder (``ResultsExistError`` now, before any work) and write the tables that
    do not need the run's advice, in a forked child for a run of many points (``tables_aside``), while the caller
    diagnoses the run. A city's child then draws the charts that need no advice either (``plain_charts_aside``),
    and waits to be handed the advice's ranking (``RunAdvice.charted``) to draw the others: matplotlib is
    imported and warmed up once, by the process that has the time for it. ``finish(advice, provenance=None,
    more=None, rota_point=None, drawer=None)`` writes the rest (arguments as for ``write_results``) and waits for
    the child. Leaving the block without calling ``finish`` (an error) leaves nothing written."""
    target = Path(target)
    result.summary  # noqa: B018 - computed once here, not again in the child and in this process
    finished = []
    with results_folder(target, force=force) as staging:
        charts_drawn = plain_charts_aside(result)
        plain = functools.partial(_plain_tables, result, staging, table_format, charts_drawn)
        if charts_drawn:
            child = prepared(plain, TABLES_AND_CHARTS, then=functools.partial(_draw_advised_charts, result, staging / "charts"))
        else:
            child = aside(plain, TABLES) if tables_aside(result) else contextlib.nullcontext(plain)
        with child as tables:

            def finish(advice: RunAdvice, provenance: Optional[dict[str, Any]] = None,
                       more: Optional[Callable[[Path], Sequence[tuple[str, str, Any]]]] = None,
                       rota_point: Optional[str] = None, drawer: Optional[Prepared] = None) -> None:
                _check_rota_point(result, rota_point)
                if charts_drawn:  # the child's charts, once its tables are written
                    charts = contextlib.nullcontext(functools.cache(tables.start((advice.charted, rota_point))))
                else:
                    charts = _charts_aside(result, staging / "charts", drawer, advice, rota_point)
                with charts as drawn:
                    summary = advice.summary(result)
                    write_summary(summary, staging)
                    write_points(summary, staging)
                    (drawn if charts_drawn else tables)()  # the child's tables: report.html reads scenario.yaml
                    sections = more(staging) if more is not None else ()
                    write_report_html(result, staging, charts=drawn(), provenance=provenance,  # reads the charts
                                      sections=sections, advice=advice)
                finished.append(True)

            yield finish
            if not finished:
                raise RuntimeError("results_writer: the block ended without finish(advice)")
