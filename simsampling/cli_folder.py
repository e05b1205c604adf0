"""The results folder as every command takes it: ``--out``, or a default folder made for the command; refused as
bad input when it cannot be used, and cleared of what a killed run left beside it (report/folder.py does the
work; this says it on the terminal)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Optional

from rich.console import Console

from .scenario import Problem, ScenarioError
from .terminal import say


_MADE: list[Path] = []
"""Default folders made by ``results_target`` in this process, not yet given back (``release_targets``)."""


def results_target(given: Optional[Path], name: str) -> Path:
    """Where a command writes: ``--out`` as given, or a default folder for ``name`` under results/, made now and
    empty (``default_folder(reserve=True)``), so that two commands started in the same second take two folders,
    where the second was refused as if the user had asked for the first's. ``release_targets`` removes it again
    if the command ends without writing into it."""
    from .report import default_folder
    from .report.folder import RESULTS_ROOT

    if given is not None:
        return given
    if not os.path.lexists(RESULTS_ROOT):  # made with it: given back with it
        _MADE.append(RESULTS_ROOT)
    target = default_folder(name, reserve=True)
    _MADE.append(target)
    return target


def release_targets() -> None:
    """Remove the default folders this process made and left empty, and results/ if it made it and it is empty
    now: a command that stopped before its results (bad input found later, an interruption, a failure) leaves
    nothing behind. Results renamed into one stay."""
    while _MADE:
        with contextlib.suppress(OSError):  # not empty (the results), or gone
            _MADE.pop().rmdir()


def target_free(target: Path, force: bool, err: Console, quiet: bool = False) -> None:
    """Refuse, as bad input, a results folder that cannot be used; remove what a killed run left beside it."""
    from .report import ResultsExistError, check_target
    from .report.folder import clean_leftovers

    try:
        check_target(target, force)
    except ResultsExistError as exc:
        raise ScenarioError([Problem(str(target), None, "--out", str(exc).removeprefix(f"{target} "))]) from None
    removed = clean_leftovers(target)
    if removed and not quiet:
        more = f" and {len(removed) - 3} more" if len(removed) > 3 else ""
        say(err, f"removed {len(removed)} folder(s) left beside {target} by an interrupted run: "
                 + ", ".join(path.name for path in removed[:3]) + more)
