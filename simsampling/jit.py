"""Compiled code: where numba caches it, and whether a function's code is cached.

Imported by the modules that compile (model/fast/, metrics.py) before numba; it
imports nothing of the package. experiment/warm_up.py decides what a run compiles first.

numba compiles the fast engine (model/fast/) and the metrics' loops (metrics.py)
at their first call after an install, then caches the machine code: later runs load
it in about half a second. numba caches beside the sources (``__pycache__``) when the
package folder is writable; an install in a read-only place (a system site-packages,
a container image) caches in the user's cache folder instead (``cache_folder``), so
that only the first run compiles. ``NUMBA_CACHE_DIR``, if set, wins.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Optional

PACKAGE = Path(__file__).resolve().parent


def _writable(folder: Path) -> bool:
    """Whether numba could cache in ``folder/__pycache__`` (tried, as numba does: permissions may not tell)."""
    try:
        cache = folder / "__pycache__"
        cache.mkdir(exist_ok=True)
        tempfile.TemporaryFile(dir=cache).close()
        return True
    except OSError:
        return False


def user_cache_folder() -> Path:
    """The user's cache folder for compiled code (``~/.cache/simsampling/numba`` on Linux, XDG_CACHE_HOME honoured)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("simsampling", appauthor=False)) / "numba"


def cache_folder() -> Optional[Path]:
    """Where compiled code goes: None for numba's default (beside the sources), or the folder used instead."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    return None if _writable(PACKAGE) and _writable(PACKAGE / "model") else user_cache_folder()


def configure_cache() -> None:
    """Point numba's cache at ``cache_folder()``; called before numba compiles anything of the package."""
    folder = cache_folder()
    if folder is None or os.environ.get("NUMBA_CACHE_DIR"):
        return
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    numba = sys.modules.get("numba")
    if numba is not None:  # imported already (by the user): set its configuration too
        numba.config.CACHE_DIR = str(folder)


def cached(dispatcher) -> bool:
    """Whether numba holds or has cached compiled code of a dispatcher (True when it cannot tell)."""
    if dispatcher.overloads:
        return True
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # pragma: no cover - numba without a cache index: do not claim a compilation
        return True
