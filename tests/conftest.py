"""Session-wide: the fast engine and the metrics' loops are compiled (or loaded from numba's cache) once, first.

On a fresh checkout (CI) the first test to simulate would otherwise compile them
inside its own timing (and a hypothesis deadline), and the worker processes of a
test that starts them before the cache is written would each compile them again.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def compiled_engine():
    from simsampling.experiment.warm_up import compile_engine

    compile_engine()
