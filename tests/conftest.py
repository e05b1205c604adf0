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

The other worker does not wait idle meanwhile: the test modules that call no compiled code
(``NO_COMPILED_CODE``) are put where its share of the queue starts (``pytest_collection_modifyitems``),
and only the tests that simulate wait for the compilation (``compiled_code_first``). A test of
those modules that did load compiled code before the compilation was done fails, naming itself.
"""

from __future__ import annotations

import compileall
import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# In CI (the CI variable set, as .ci/run and most CI services do) the property tests draw the same
# examples every run, so that whether main lands does not depend on the draw; on a developer's
# machine they explore anew each run (and keep what failed in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


NO_COMPILED_CODE = frozenset({
    "tests/functional/test_fit_cli.py",
    "tests/functional/test_fuzz_loader.py",
    "tests/unit/test_advice_plans.py",
    "tests/unit/test_animation_parts.py",
    "tests/unit/test_arrivals.py",
    "tests/unit/test_chart_style.py",
    "tests/unit/test_draws.py",
    "tests/unit/test_forked.py",
    "tests/unit/test_input_limits.py",
    "tests/unit/test_json_text.py",
    "tests/unit/test_layout.py",
    "tests/unit/test_levers.py",
    "tests/unit/test_log.py",
    "tests/unit/test_memo.py",
    "tests/unit/test_points_table.py",
    "tests/unit/test_random.py",
    "tests/unit/test_scenario_loading.py",
    "tests/unit/test_scenario_yaml.py",
    "tests/unit/test_staffing.py",
    "tests/unit/test_steps.py",
    "tests/unit/test_tables.py",
})
"""Test modules none of whose tests calls numba-compiled code (the fast engine, the metrics' loops), in this
process or a child: they run while another worker compiles. A test added to one that simulates fails at once
(``compiled_code_first``) until its module leaves this list."""
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """The package's bytecode, compiled once for the session (not in xdist's workers: they start after this):
    with ``PYTHONDONTWRITEBYTECODE`` set, every process a test starts (a command, the executors' workers)
    would otherwise compile the package's modules from source, a fifth of a second of CPU each time."""
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(ROOT / "simsampling", quiet=2)


def _without_compiled_code(item) -> bool:
    return Path(str(item.path)).resolve().relative_to(ROOT).as_posix() in NO_COMPILED_CODE


def pytest_collection_modifyitems(config, items):
    """Under xdist, the modules of ``NO_COMPILED_CODE`` start the second half of the queue: worksteal hands the
    first half to one worker (it compiles first) and the second to the other (it runs these meanwhile)."""
    if not hasattr(config, "workerinput"):
        return
    free = [item for item in items if _without_compiled_code(item)]
    simulating = [item for item in items if not _without_compiled_code(item)]
    half = min(len(items) // 2, len(simulating))
    items[:] = simulating[:half] + free + simulating[half:]


_compiled = False


def _loaded_compiled_code() -> bool:
    """Whether this process holds compiled code of the package (only modules imported already are asked)."""
    dispatchers = []
    if "simsampling.metrics" in sys.modules:
        dispatchers += sys.modules["simsampling.metrics"].dispatchers()
    if "simsampling.model.fast" in sys.modules:
        dispatchers += sys.modules["simsampling.model.fast"].dispatchers(True)
    return any(dispatcher.overloads for dispatcher in dispatchers)


@pytest.fixture(autouse=True)
def compiled_code_first(request):
    """Every test but those of ``NO_COMPILED_CODE`` waits for the compilation (``compiled_engine``); those are
    checked not to have loaded compiled code while it was not done (they would have compiled it themselves)."""
    if not _without_compiled_code(request.node):
        request.getfixturevalue("compiled_engine")
        yield
        return
    before = _compiled or _loaded_compiled_code()
    yield
    if not before and _loaded_compiled_code():
        pytest.fail(f"{request.node.nodeid} calls compiled code: take its module out of NO_COMPILED_CODE (tests/conftest.py)")


@pytest.fixture(scope="session")
def compiled_engine(tmp_path_factory):
    global _compiled
    from simsampling.experiment.warm_up import compile_engine

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        compile_engine()
        _compiled = True
        return
    from filelock import FileLock

    # The parent of a worker's base temporary folder is the one the whole xdist run shares.
    with FileLock(tmp_path_factory.getbasetemp().parent / "compile-engine.lock"):
        compile_engine()
    _compiled = True
