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

    if "numba.np.arraymath" not in sys.modules and BLAS_PROBE not in sys.modules:
        sys.modules[BLAS_PROBE] = None  # type: ignore[assignment]  (import raises ImportError: no probe)
        try:
            import numba.np.arraymath  # noqa: F401
        except ImportError:  # pragma: no cover - a numba whose array support moved: loaded as numba likes
            pass
        finally:
            del sys.modules[BLAS_PROBE]
    return numba


def cached(dispatcher) -> bool:
    """Whether numba holds or has cached compiled code of a dispatcher (True when it cannot tell)."""
    if dispatcher.overloads:
        return True
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # pragma: no cover - numba without a cache index: do not claim a compilation
        return True
