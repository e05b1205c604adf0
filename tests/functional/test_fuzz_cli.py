"""The command line fuzzed: option values, --out paths, special files as input, and scale.

Whatever a planner types, every command ends with a documented exit status (0
done, 1 an operating-system failure, 2 bad input, 3 a target that cannot be met)
and no traceback, and leaves no hidden scratch folder beside its --out. Runs use
a point of five residents and one replication, so a value that is accepted runs
in a moment; scale is fuzzed on the estimate alone (a run too large for the
machine is refused before anything is written).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import socket
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsampling.cli import main
from simsampling.experiment import estimate as run_estimate
from simsampling.report.folder import SCRATCH_KINDS
from simsampling.scenario import load_scenario
from simsampling.scenario.distributions import Fixed

ROOT = Path(__file__).resolve().parents[2]
TINY = (ROOT / "scenarios" / "one-point-demo.yaml").read_text().replace("population: 2600", "population: 5")
EXAMPLES = int(os.environ.get("SIMSAMPLING_FUZZ_EXAMPLES", "20"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
STATUSES = {0, 1, 2, 3}
HOSTILE = ["", " ", "-1", "0", "1", "2", "nan", "NaN", "inf", "-inf", "1e999", "1e-320", "-0.0", "0x10", "1_0",
           "9" * 5000, str(2**63), "١٢", "auto", "AUTO", "a\x00b", "[/]", ":x:", "\x1b[31m", "=1+1", "\u202e",
           "swab", "wait_min.total.p90=nan", "points.*.tents=0", "points.*.tents=1,1", "x=1", "=", "*", "..", "%s"]
OPTIONS = [
    ("run", "--replications"), ("run", "--seed"), ("run", "--jobs"), ("run", "--precision"), ("run", "--kpi"),
    ("run", "--initial-replications"), ("run", "--max-replications"), ("run", "--engine"), ("run", "--executor"),
    ("optimise", "--deadline"), ("optimise", "--max-p90-wait"), ("optimise", "--confidence"),
    ("optimise", "--assurance"), ("optimise", "--total-stations"),
    ("sweep", "--vary"), ("sweep", "--kpi"), ("compare", "--replications"), ("compare", "--seed"),
]


def outcome(argv: list[str]) -> tuple[int, str]:
    """Exit status and everything printed, of ``simsampling ARGV`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refuses an option value
            code = exc.code
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def no_charts(monkeypatch):
    """Charts do not depend on these inputs and take most of a tiny run's time: not drawn here."""
    from simsampling.report import charts  # the process that draws them (forked) takes write_charts from here

    monkeypatch.setattr(charts, "write_charts", lambda result, folder, *advice_and_rota: [])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.yaml"
    path.write_text(TINY)
    return path


def scratch_left(folder: Path) -> list[str]:
    """Hidden scratch folders of a run (``.<name>.<kind>-<pid>@<host>-*``); a hidden --out (``.0``) is a result."""
    return [p.name for p in folder.iterdir() if any(f".{kind}-" in p.name for kind in SCRATCH_KINDS)]


@FUZZ
@given(option=st.sampled_from(OPTIONS), value=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=6),
                                                        st.integers(-5, 40).map(str), st.floats().map(repr)))
def test_option_values_end_with_a_documented_status(option, value, tiny, tmp_path_factory, no_charts):
    command, name = option
    folder = tmp_path_factory.mktemp("out")
    argv = [command, str(tiny)] + ([str(tiny)] if command == "compare" else [])
    if command == "optimise" and name not in ("--deadline", "--total-stations"):
        argv += ["--deadline", "12"]
    if command == "sweep" and name != "--vary":
        argv += ["--vary", "points.*.tents=3,4"]
    if name not in ("--replications", "--initial-replications", "--max-replications"):
        argv += ["-r", "1"]
    argv += [name, value, "--quiet", "--out", str(folder / "out")]
    code, printed = outcome(argv)
    assert code in STATUSES, printed
    assert "Traceback" not in printed
    assert scratch_left(folder) == []


OUT_PATHS = st.one_of(
    st.sampled_from(["", ".", "..", "/", "/dev/null", "/proc/nope/x", "a" * 300, "a\x00b", "tiny.yaml", "tiny.yaml/x",
                     "results/../results", "\u202eout", "[/]", ":x:", "~", "-"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12),
)


@FUZZ
@given(out=OUT_PATHS)
def test_any_out_path_ends_with_a_documented_status(out, tiny, tmp_path_factory, monkeypatch, no_charts):
    folder = tmp_path_factory.mktemp("where")
    (folder / "tiny.yaml").write_text(TINY)
    monkeypatch.chdir(folder)
    code, printed = outcome(["run", "tiny.yaml", "-r", "1", "--quiet", "--out", out])
    assert code in STATUSES and "Traceback" not in printed, printed
    assert scratch_left(folder) == [] and (folder / "tiny.yaml").read_text() == TINY


def special_files(folder: Path) -> dict[str, Path]:
    found = {"folder": folder, "empty": folder / "empty.yaml", "loop": folder / "loop.yaml"}
    found["empty"].write_text("")
    os.symlink(found["loop"], found["loop"])
    if Path("/dev/null").exists():
        found["null"] = Path("/dev/null")
        found["zero"] = Path("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.yaml")
        found["fifo"] = folder / "fifo.yaml"
    if hasattr(socket, "AF_UNIX"):
        found["socket"] = folder / "s.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(found["socket"]))
    return found


@pytest.mark.parametrize("role", ["scenario", "points table", "records"])
def test_special_files_as_input_are_refused_unread(role: str, tmp_path: Path):
    for kind, path in special_files(tmp_path).items():
        if role == "points table":
            target = tmp_path / f"table-{kind}.yaml"
            target.write_text(f"name: t\npoints_file: {path}\narrivals: {{kind: poisson, rate_per_hour: 10}}\n")
        else:
            target = path
        command = ["fit", str(target), "--out", str(tmp_path / "fit")] if role == "records" else ["validate", str(target)]
        code, printed = outcome(command)
        assert code == 2 and "Traceback" not in printed, (kind, printed)
        assert str(path) in printed, (kind, printed)


@FUZZ
@given(points=st.sampled_from([1, 100, 101, 4_000]), population=st.sampled_from([0, 10**4, 10**6, 5 * 10**7]),
       tents=st.sampled_from([1, 10_000]), replications=st.sampled_from([1, 100, 10_000]),
       days=st.sampled_from([1, 14]), swab_s=st.sampled_from([0.0, 25.0, 864_000.0]), jobs=st.sampled_from([1, 1024]))
def test_the_estimate_of_any_scale_is_a_finite_figure(points, population, tents, replications, days, swab_s, jobs):
    demo = load_scenario(ROOT / "scenarios" / "one-point-demo.yaml")
    point = demo.points[0]
    swab = point.stages.swab.model_copy(update={"service_s": Fixed(dist="fixed", value=swab_s)})
    point = point.model_copy(update={"population": population, "tents": tents,
                                     "stages": point.stages.model_copy(update={"swab": swab})})
    scenario = demo.model_copy(update={"replications": replications, "round": demo.round.model_copy(update={"days": days}),
                                       "points": [point.model_copy(update={"id": f"p{k}"}) for k in range(points)]})
    estimate = run_estimate.estimate_run(scenario, jobs)
    assert math.isfinite(estimate.wall_s) and estimate.wall_s > 0
    assert math.isfinite(estimate.memory_bytes) and estimate.memory_bytes > 0


def test_a_run_that_does_not_fit_is_refused_before_anything_is_written(tiny, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(run_estimate, "available_memory", lambda: 2**20)
    code, printed = outcome(["run", str(tiny), "--out", str(tmp_path / "out")])
    assert code == 2 and "of memory is available" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == []
