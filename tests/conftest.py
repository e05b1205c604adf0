"""Session-wide: the fast engine and the metrics' loops are compiled (or loaded from numba's cache) once, first.

On a fresh checkout (CI) the first test to simulate would otherwise compile them
inside its own timing (and a hypothesis deadline), and the worker processes of a
test that starts them before the cache is written would each compile them again.

The suite runs in parallel (pytest-xdist, ``-n auto`` in pyproject.toml; ``-n 0`` for
one process). With a cold cache one xdist worker compiles while the others wait for
it, then load its code: numba writes each cache file atomically but updates a
function's index by read-modify-write without a lock, so two processes saving new
signatures of one function at once can leave an index entry pointing at the other's
machine code (numba issue #4807). One compiler also leaves the other core free.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# In CI (the CI variable set, as .ci/run and most CI services do) the property tests draw the same
# examples every run, so that whether main lands does not depend on the draw; on a developer's
# machine they explore anew each run (and keep what failed in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def compiled_engine(tmp_path_factory):
    from simsampling.experiment.warm_up import compile_engine

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        compile_engine()
        return
    from filelock import FileLock

    # The parent of a worker's base temporary folder is the one the whole xdist run shares.
    with FileLock(tmp_path_factory.getbasetemp().parent / "compile-engine.lock"):
        compile_engine()
