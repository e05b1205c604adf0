"""Compiled code: where numba caches it, whether a run must compile first, and saying so.

numba compiles the fast engine (model/fast.py) and the metrics' loops (metrics.py)
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
from typing import Callable, Optional

PACKAGE = Path(__file__).resolve().parent
COMPILE_S = {"engine": 35.0, "metrics": 4.0}
"""CPU seconds numba takes to compile each part on the development machine (2 cores, Python 3.11.7,
x86_64 Linux): the fast engine's kernel 35 s, the metrics' loops 4 s (benchmarks/end_to_end.py,
part ``compile``)."""


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


def cold_parts(fast_engine: bool, home: bool = False) -> list[str]:
    """The parts (``engine``, ``metrics``) this process would compile before running; empty when all are cached.

    ``home``: the fast engine's door-to-door teams are used too."""
    configure_cache()
    from . import metrics

    parts = [] if all(cached(d) for d in metrics.dispatchers()) else ["metrics"]
    if fast_engine:
        from .model import fast

        if fast.JIT and not all(cached(d) for d in fast.dispatchers(home)):
            parts.insert(0, "engine")
    return parts


def compile_notice(parts: list[str]) -> str:
    """What to say before compiling ``parts``."""
    return f"compiling the simulation engine (once, about {round(sum(COMPILE_S[p] for p in parts))} s)"


def warm_up(scenario, engines: tuple[str, ...], say: Callable[[str], None]) -> None:
    """Compile (or load) what a run of ``scenario`` on ``engines`` (one per point) needs, saying so first if it must compile.

    The smallest point runs once, outside the run, on the fast engine if any point
    uses it: its types are those of the run, so the run's own calls (and its
    worker processes, from the cache) find the code compiled.
    """
    fast = [point for point, engine in zip(scenario.points, engines) if engine == "fast"]
    parts = cold_parts(bool(fast), any(point.home is not None for point in fast))
    if not parts:
        return
    say(compile_notice(parts))
    from .experiment.replicate import simulate_task

    # A small copy of each kind of point the run has (the same features, so the same compiled types).
    kinds = {}
    for point, engine in zip(scenario.points, engines):
        kinds.setdefault((engine, point.home is not None), point)
    for (engine, _), point in kinds.items():
        small = point.model_copy(update={"population": min(point.population, 100)})
        simulate_task(scenario.model_copy(update={"points": [small]}), 0, 0, keep_log=False, engine=engine)
