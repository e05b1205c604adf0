"""Text on the terminal: a scenario's names are data, never markup, emoji codes or escape sequences.

rich reads ``[bold]`` in any text it renders as markup (a name holding ``[/]``
raises, ``[link=...]`` makes a hyperlink) and ``:x:`` as an emoji; a name holding
an escape sequence would reach the terminal raw. Every console is made here
without emoji, plain lines go through :func:`say`, and text placed inside
markup (tables, progress descriptions) through :func:`shown`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from .scenario.errors import printable

if TYPE_CHECKING:  # the bar is imported by the commands that show one, not by validate
    from rich.progress import Progress

__all__ = ["console", "printable", "progress_bar", "say", "shown"]


def console(stderr: bool = False) -> Console:
    """A console that never turns text into emoji or highlights it."""
    return Console(stderr=stderr, highlight=False, emoji=False)


def shown(text: Any) -> str:
    """Text for a place rich renders as markup: control characters shown escaped, ``[`` escaped."""
    return escape(printable(str(text)))


def progress_bar(err: Console, quiet: bool) -> Progress:
    """A progress bar on ``err`` (none when ``quiet`` or not a terminal) whose descriptions are plain text:
    give them through :func:`printable`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=quiet or not err.is_terminal,
                    transient=False)


def say(where: Console, text: Any) -> None:
    """Print one plain line: no markup, control characters shown escaped, never cut."""
    where.print(printable(str(text)), markup=False, emoji=False, soft_wrap=True)
