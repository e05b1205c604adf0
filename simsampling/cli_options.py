"""The options every command that runs scenarios shares, described once.

``run``, ``optimise``, ``advise``, ``compare`` and ``sweep`` take the same ``--seed``,
``--out``, ``--jobs``, engine and executor, ``--force`` and ``--quiet``; each names only what
differs (whose seed, where the folder goes by default, what ``--quiet`` silences).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Optional

from .choices import DEFAULT_ENGINE, DEFAULT_EXECUTOR, ENGINES, EXECUTORS
from .scenario.reading import whole_number

MAX_SEED = 2**63 - 1
MAX_JOBS = 1024


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number (of any length, without Python's digit limit) within ``low..high``."""
    def parse(text: str) -> int:
        try:
            value = whole_number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            shown_value = text.strip() if len(text.strip()) <= 30 else f"{text.strip()[:12]}... ({len(text.strip()):,} characters)"
            raise argparse.ArgumentTypeError(f"{shown_value} is outside {low}..{high}")
        return value

    return parse


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor``, ``--scheduler`` and ``--engine``, for every command that runs scenarios
    (pass them on with ``cli.run_options``)."""
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=DEFAULT_EXECUTOR,
        help="where tasks run: serial (this process), processes (--jobs local processes, the default) "
        "or dask (a Dask cluster: --scheduler, or a local one of --jobs processes); results are identical",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --executor dask)"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help=f"simulation engine: fast (points in its scope only), simpy, or auto: fast where it can, "
        f"simpy elsewhere (default {DEFAULT_ENGINE}); results are identical",
    )


def add_run_arguments(parser: argparse.ArgumentParser, seed: str, out: Optional[str], quiet: str) -> None:
    """``--seed`` (``seed``: its help), ``--out`` (``out``: its default in words; None: the command adds its
    own), ``--jobs``, the engine and executor, ``--force`` and ``--quiet`` (``quiet``: what it silences)."""
    parser.add_argument("--seed", type=bounded_int(0, MAX_SEED), help=seed)
    if out is not None:
        parser.add_argument("--out", "-o", type=Path, help=f"results folder (default: {out})")
    parser.add_argument("--jobs", "-j", type=bounded_int(1, MAX_JOBS), default=1, help="worker processes (default 1)")
    add_engine_arguments(parser)
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty results folder")
    parser.add_argument("--quiet", "-q", action="store_true", help=quiet)
