"""jit.import_numba: cached code loaded without numba refreshing its target, the same code and results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MODULE = """
import numpy as np
from simsampling.jit import import_numba

numba = import_numba()


@numba.njit(cache=True)
def running_sum(values):
    out = np.empty_like(values)
    total = 0.0
    for i in range(values.size):
        total += values[i]
        out[i] = total
    return out
"""

CHILD = """
import sys
import numpy as np
import cached_sum
values = np.linspace(0.1, 2.0, 7)
print(repr(cached_sum.running_sum(values).tolist() == np.cumsum(values).tolist()))
print(sum(cached_sum.running_sum.stats.cache_hits.values()))
print(repr("numba.np.random.legacy" in sys.modules))  # a registry numba's refresh imports
fresh = cached_sum.numba.njit(lambda n: np.random.random(n).size)  # compiling afterwards refreshes as before
print(fresh(3), repr("numba.np.random.legacy" in sys.modules))
"""


def test_cached_code_loads_without_the_registries_and_compiling_afterwards_still_works(tmp_path: Path):
    (tmp_path / "cached_sum.py").write_text(MODULE)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_")}
    env.update(PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    compiled = subprocess.run([sys.executable, "-c", "import numpy, cached_sum; cached_sum.running_sum(numpy.ones(2))"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stderr
    loaded = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["True", "1", "False", "3", "True"]


def test_a_read_only_install_caches_in_the_users_folder_else_a_temporary_one_else_says_why(monkeypatch, tmp_path: Path):
    """A home that cannot be written (or XDG_CACHE_HOME naming a file) stopped every run with numba's traceback."""
    from simsampling import jit

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(jit, "_writable", lambda folder: False)  # the package's folders refuse
    user, temporary = tmp_path / "user" / "numba", tmp_path / "tmp" / "numba"
    monkeypatch.setattr(jit, "user_cache_folder", lambda: user)
    monkeypatch.setattr(jit, "temporary_cache_folder", lambda: temporary)
    assert jit.cache_folder() == user and user.is_dir()
    user.rmdir()
    user.parent.rmdir()
    user.parent.write_text("a file, not a folder")
    assert jit.cache_folder() == temporary and temporary.is_dir()
    temporary.rmdir()
    temporary.parent.rmdir()
    temporary.parent.write_text("a file too")
    try:
        jit.cache_folder()
    except OSError as exc:  # what a command says in one line, with exit status 1
        assert isinstance(exc, jit.NoCacheFolder) and exc.filename == str(user)
        assert "set NUMBA_CACHE_DIR to a folder you can write" in exc.strerror
    else:
        raise AssertionError("no folder could be written, and nothing was said")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "given"))
    assert jit.cache_folder() == tmp_path / "given"  # the user's choice wins, unchecked (numba says if it fails)
