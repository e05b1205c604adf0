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


def _usable(folder: Path) -> bool:
    """Whether numba could cache in ``folder``, made if missing (tried, as numba does: permissions may not tell)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


def _writable(folder: Path) -> bool:
    """Whether numba could cache beside the sources of ``folder`` (in its ``__pycache__``)."""
    return _usable(folder / "__pycache__")


def user_cache_folder() -> Path:
    """The user's cache folder for compiled code (``~/.cache/simsampling/numba`` on Linux, XDG_CACHE_HOME honoured)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("simsampling", appauthor=False)) / "numba"


def temporary_cache_folder() -> Path:
    """This user's folder for compiled code in the system's temporary folder: where it goes when the user's cache
    folder cannot be written either (a read-only home, XDG_CACHE_HOME naming a file)."""
    return Path(tempfile.gettempdir()) / f"simsampling-{os.getuid() if hasattr(os, 'getuid') else 0}" / "numba"


class NoCacheFolder(OSError):
    """No folder numba could cache compiled code in: the package's, the user's cache folder and the temporary
    folder all refused. An OSError, so that a command says it in one line (``cli.failure_line``)."""


def cache_folder() -> Optional[Path]:
    """Where compiled code goes: None for numba's default (beside the sources), or the folder used instead: the
    user's cache folder, else a temporary one (:class:`NoCacheFolder` when neither can be written)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    if _writable(PACKAGE) and _writable(PACKAGE / "model"):
        return None
    user = user_cache_folder()
    for folder in (user, temporary_cache_folder()):
        if _usable(folder):
            return folder
    raise NoCacheFolder(0, "no folder to cache the compiled engine in (nor the package's, nor "
                           f"{temporary_cache_folder()}): set NUMBA_CACHE_DIR to a folder you can write", str(user))


def configure_cache() -> None:
    """Point numba's cache at ``cache_folder()``; called before numba compiles anything of the package."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = cache_folder()
    if folder is None:
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
