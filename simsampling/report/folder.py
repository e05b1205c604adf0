"""A results folder that appears whole or not at all, and never replaces one silently.

Files are written into a hidden temporary folder beside the target, which is
renamed into place only when everything is written. An interrupted run removes
its temporary folder; an existing non-empty target is refused unless forced.
A resumable job (a sweep) keeps a persistent ``.<name>.partial`` folder instead
(:func:`partial_folder`), promoted the same way once complete.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator, Optional


class ResultsExistError(Exception):
    """The chosen results folder already holds results."""


def default_folder(scenario_name: str, root: Path = Path("results"), now: Optional[datetime] = None) -> Path:
    """``results/<name>-<YYYYmmdd-HHMMSS>``, with a suffix if that name is taken."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario_name).strip("-.") or "run"
    candidate = root / f"{slug}-{stamp}"
    suffix = 2
    while candidate.exists():
        candidate = root / f"{slug}-{stamp}-{suffix}"
        suffix += 1
    return candidate


def check_target(target: Path, force: bool) -> None:
    """Refuse a target that is a file, or a non-empty folder without ``force``."""
    if target.exists() and not target.is_dir():
        raise ResultsExistError(f"{target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ResultsExistError(f"{target} already holds results; choose another --out or add --force to replace it")


@contextmanager
def results_folder(target: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it becomes ``target``."""
    check_target(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        yield staging
        promote(staging, target, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def promote(staging: Path, target: Path, force: bool = False) -> None:
    """Rename the filled folder ``staging`` into place as ``target`` (replacing it only with ``force``)."""
    check_target(target, force)
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, retired / target.name)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)


def partial_folder(target: Path) -> Path:
    """The persistent in-progress folder of a resumable job (a sweep): ``.<name>.partial`` beside ``target``.

    Unlike the temporary folder of :func:`results_folder` it survives an interruption, so the
    job can pick up where it stopped; :func:`promote` turns it into ``target`` when done.
    """
    return Path(target).parent / f".{Path(target).name}.partial"
