"""numba for the fast engine: ``njit`` (plain Python without numba), the kernel's compile options, bit counts."""

from __future__ import annotations

from ...jit import import_numba

try:
    numba = import_numba()  # a read-only install caches in the user's cache folder; no BLAS probe
    njit = numba.njit
    JIT = not numba.config.DISABLE_JIT
except ImportError:  # pragma: no cover - numba is a dependency; plain Python stays exact
    JIT = False

    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda function: function


def _bit_counts():
    """Counts of leading and trailing zero bits of an int64: numba's intrinsics, or the same counted bit by bit."""
    if JIT:
        try:
            from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

            return leading_zeros, trailing_zeros
        except ImportError:  # pragma: no cover - a numba that moved them
            pass

    def leading_zeros(x):
        if x < 0:
            return 0
        count = 64
        while x:
            x >>= 1
            count -= 1
        return count

    def trailing_zeros(x):
        count = 0
        while not (x >> count) & 1:
            count += 1
        return count

    return (njit(inline="always")(leading_zeros), njit(inline="always")(trailing_zeros)) if JIT else (leading_zeros, trailing_zeros)


leading_zeros, trailing_zeros = _bit_counts()


def _no_runtime() -> dict:
    """``_nrt=False`` if this numba still has the option (numba's own, not documented), else nothing."""
    try:
        from numba.core.cpu import CPUTargetOptions

        return {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}
    except ImportError:  # pragma: no cover - numba missing, or reorganised: compiled with its runtime, slower
        return {}


KERNEL = dict(cache=True, **_no_runtime())
INLINE = dict(KERNEL, inline="always")
"""The kernel and its helpers allocate nothing: the caller passes every array. Without numba's
runtime (``_nrt=False``) no reference counting is compiled in; with it, the counting around each
helper call took more time than the replay itself. The helpers are inlined into the kernel."""
