"""Compiled code is cached once, even when the package is installed where it cannot write.

The package is copied to a read-only folder and imported from there. Permissions do
not stop root (as CI runs), so each package folder's ``__pycache__`` is also a file,
where no cache folder can be made. numba's cache must then go to the user's cache
folder (XDG_CACHE_HOME): the first process compiles, saying it would, and the second
loads the code from that cache.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "simsampling"
CHILD = """
import sys
import numpy as np
from simsampling import jit, metrics
from simsampling.experiment.warm_up import cold_parts
print("cache", jit.cache_folder())
print("cold", ",".join(cold_parts(fast_engine=False)) or "-")
compiled = [d for d in metrics.dispatchers() if d.py_func.__name__ == "sorted_occupancy"][0]
print("cached", jit.cached(compiled))
metrics.sorted_occupancy(np.arange(3.0), np.arange(3.0) + 1, np.arange(4.0))
print("hits", sum(compiled.stats.cache_hits.values()))
print("misses", sum(compiled.stats.cache_misses.values()))
"""


@pytest.fixture
def read_only_install():
    top = Path(tempfile.mkdtemp(prefix="simsampling-ro-"))  # not under pytest's private tmp: another user reads it
    try:
        os.chmod(top, 0o755)
        shutil.copytree(PACKAGE, top / "site" / "simsampling", ignore=shutil.ignore_patterns("__pycache__"))
        cache = top / "cache"
        cache.mkdir()
        os.chmod(cache, 0o777)
        for folder, dirs, files in os.walk(top / "site"):
            if Path(folder).name != "site":
                (Path(folder) / "__pycache__").write_text("not a folder")
            for name in files:
                os.chmod(Path(folder) / name, 0o444)
        for folder, dirs, files in os.walk(top / "site"):
            os.chmod(folder, 0o555)
        env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_")}
        env.update(PYTHONPATH=str(top / "site"), XDG_CACHE_HOME=str(cache), PYTHONDONTWRITEBYTECODE="1")
        yield top, env
    finally:
        for folder, dirs, files in os.walk(top):
            os.chmod(folder, stat.S_IRWXU)
        shutil.rmtree(top, ignore_errors=True)


def test_a_read_only_install_caches_compiled_code_in_the_user_cache_folder(read_only_install):
    top, env = read_only_install

    def run() -> dict[str, list[str]]:
        done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, cwd=top, check=True)
        return {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()}

    first = run()
    assert first["cache"] == [str(top / "cache" / "simsampling" / "numba")]
    assert first["cold"] == ["metrics"] and first["cached"] == ["False"] and first["hits"] == ["0"] and first["misses"] == ["1"]
    assert any((top / "cache" / "simsampling" / "numba").rglob("*.nbi")), "nothing cached in the user's cache folder"
    assert not list((top / "site").rglob("*.nbi"))
    second = run()
    assert second["cached"] == ["True"] and second["hits"] == ["1"] and second["misses"] == ["0"]


EVERY_LOOP = """
from simsampling import metrics
from simsampling.experiment.replicate import load_engines
from simsampling.experiment.warm_up import small_scenario
small = small_scenario()
load_engines(small, ("simpy",) * len(small.points))
metrics.compile_examples()  # the loops no simulation calls (the advice's fluids)
print(sorted(d.py_func.__name__ for d in metrics.dispatchers() if not d.overloads))
"""


def test_the_warm_up_points_call_every_compiled_loop_of_the_metrics():
    """A loop the warm-up never called (``peak``, for side stages only) stayed cold after it, and every later run
    said it was compiling the results' calculations."""
    done = subprocess.run([sys.executable, "-c", EVERY_LOOP], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


INTERPRETED = """
import pickle, sys
from simsampling import metrics
from simsampling.advice import run_advice
from simsampling.experiment import run_scenario
from simsampling.experiment.warm_up import small_scenario
from simsampling.scenario import load_scenario
metrics.interpret_cold_loops(True)  # the cache is empty: every loop runs as Python
runs = [run_scenario(scenario, engine="simpy") for scenario in
        (small_scenario(), load_scenario(sys.argv[1]).model_copy(update={"replications": 2}))]
assert not any(dispatcher.overloads for dispatcher in metrics.dispatchers()), "a loop was compiled"
sys.stdout.buffer.write(pickle.dumps([(r.point_summaries, r.point_bands, r.run_bands, run_advice(r, check_by_simulation=False).as_dict())
                                      for r in runs]))
"""


def test_the_metrics_loops_run_as_python_give_the_compiled_figures_to_the_bit(tmp_path):
    """A first run measures its SimPy points with the loops interpreted while they compile aside: the same
    figures as the compiled loops (the small points call every loop; the health code point has a side stage)."""
    import pickle

    from simsampling.advice import run_advice
    from simsampling.experiment import run_scenario
    from simsampling.experiment.warm_up import small_scenario
    from simsampling.scenario import load_scenario

    scenario = PACKAGE.parent / "scenarios" / "health-code-and-isolation.yaml"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "empty"))
    done = subprocess.run([sys.executable, "-c", INTERPRETED, str(scenario)], env=env, capture_output=True, check=True)
    assert not list((tmp_path / "empty").rglob("*.nbi")), "a loop was compiled and cached"
    runs = [run_scenario(s, engine="simpy") for s in
            (small_scenario(), load_scenario(scenario).model_copy(update={"replications": 2}))]
    compiled = [(r.point_summaries, r.point_bands, r.run_bands, run_advice(r, check_by_simulation=False).as_dict()) for r in runs]
    assert_same_bits(pickle.loads(done.stdout), compiled)


def assert_same_bits(got, want, path: str = "runs") -> None:
    """Every number the same to the bit (NaN where NaN), through containers, dataclasses and plain objects."""
    import dataclasses
    import struct

    import numpy as np

    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and (got.dtype, got.shape) == (want.dtype, want.shape), path
        assert got.tobytes() == want.tobytes(), path
    elif isinstance(want, float):
        assert isinstance(got, float) and struct.pack("<d", got) == struct.pack("<d", want), f"{path}: {got!r} != {want!r}"
    elif isinstance(want, dict):
        assert got.keys() == want.keys(), path
        for key in want:
            assert_same_bits(got[key], want[key], f"{path}.{key}")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), path
        for index, (a, b) in enumerate(zip(got, want)):
            assert_same_bits(a, b, f"{path}[{index}]")
    elif dataclasses.is_dataclass(want):
        assert type(got) is type(want), path
        for field in dataclasses.fields(want):
            assert_same_bits(getattr(got, field.name), getattr(want, field.name), f"{path}.{field.name}")
    elif hasattr(want, "__dict__"):
        assert type(got) is type(want), path
        assert_same_bits(vars(got), vars(want), path)
    else:
        assert type(got) is type(want) and got == want, f"{path}: {got!r} != {want!r}"
