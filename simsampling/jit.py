"""Compiled code: where numba caches it, and whether a function's code is cached.

Imported by the modules that compile (model/fast/, metrics.py) before numba; it
imports nothing of the package. experiment/warm_up.py decides what a run compiles first.

numba compiles the fast engine (model/fast/) and the metrics' loops (metrics.py)
at their first call after an install, then caches the machine code: later runs load
it in about half a second. numba caches beside the sources (``__pycache__``) when the
package folder is writable; an install in a read-only place (a system site-packages,
a container image) caches in the user's cache folder instead (``cache_folder``), so
that only the first run compiles. ``NUMBA_CACHE_DIR``, if set, wins.

:func:`import_numba` is how the package imports numba: after ``configure_cache``, and
with numba's array support loaded without its probe for scipy's BLAS, which imports
scipy.linalg (a quarter of a second of CPU in every process that simulates) for
linear algebra none of our compiled code does (docs/architecture.md).
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


BLAS_PROBE = "scipy.linalg.cython_blas"
"""What numba's array support imports when it is loaded, to know whether ``np.dot`` may call BLAS."""


def import_numba():
    """numba, its cache pointed at ``cache_folder()`` and its array support loaded without probing for BLAS.

    numba loads ``numba.np.arraymath`` at the first compile or cache load of a process; that
    module imports scipy.linalg to set a flag only ``np.convolve`` and ``np.correlate`` read
    (they then multiply in a loop). Our compiled code calls neither, nor any linear algebra
    (``np.dot`` and ``np.linalg`` would still import scipy.linalg when compiled). So the probe is
    made to fail, for that one import: the module is loaded here, first, with the probe's module
    marked missing, and the mark is taken away at once. A process that imported either already
    is left as it is.
    """
    configure_cache()
    import numba

    _load_cached_code_without_refresh()
    if "numba.np.arraymath" not in sys.modules and BLAS_PROBE not in sys.modules:
        sys.modules[BLAS_PROBE] = None  # type: ignore[assignment]  (import raises ImportError: no probe)
        try:
            import numba.np.arraymath  # noqa: F401
        except ImportError:  # pragma: no cover - a numba whose array support moved: loaded as numba likes
            pass
        finally:
            del sys.modules[BLAS_PROBE]
    return numba


def _load_cached_code_without_refresh() -> None:
    """numba loads a function's cached code without refreshing its target first.

    Before it loads code from its cache, numba refreshes its CPU target: it imports and installs
    every typing and lowering registry it has (numpy's functions, random numbers, typed containers,
    jitclasses...), which only compiling uses: about 0.2 s of CPU, half of what a run spends loading
    the engine and the metrics' loops (benchmarks/README.md). Compiling refreshes first anyway (numba's
    ``CompilerBase``), and so does the first lowering numba cannot find, so a process that compiles
    after loading is as before. Loaded code is machine code that calls numba's C helpers (installed
    with the target) and its runtime, started here as numba's refresh starts it. This reaches into
    numba's internals (``Cache.load_overload``, ``_load_overload``, ``rtsys``): a numba where they moved
    loads as numba likes, only slower; tests/unit/test_jit.py loads a cached function without the
    registries, then compiles one that needs them.
    """
    try:
        from numba.core.caching import Cache
        from numba.core.runtime import rtsys
    except ImportError:  # pragma: no cover - a numba reorganised: its own loading
        return
    if getattr(Cache.load_overload, "without_refresh", False) or not hasattr(Cache, "_load_overload") \
            or not hasattr(Cache, "_guard_against_spurious_io_errors") or not hasattr(rtsys, "initialize"):
        return

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)

    load_overload.without_refresh = True  # type: ignore[attr-defined]
    Cache.load_overload = load_overload


def cached(dispatcher) -> bool:
    """Whether numba holds or has cached compiled code of a dispatcher (True when it cannot tell)."""
    if dispatcher.overloads:
        return True
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # pragma: no cover - numba without a cache index: do not claim a compilation
        return True
