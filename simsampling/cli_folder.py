"""The results folder as every command takes it: refused as bad input when it cannot be used, and cleared of
what a killed run left beside it (report/folder.py does the work; this says it on the terminal)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .scenario import Problem, ScenarioError
from .terminal import say


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
