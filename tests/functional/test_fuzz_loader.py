"""The loader is fuzzed: a corpus of malformed files, and hypothesis mutations of valid scenarios.

Whatever a planner writes, ``simsampling validate`` and ``simsampling run``
either accept the file or end with exit status 2 and one line per problem,
``file[:line]: [field: ]message``, naming the file at fault (the scenario or
its points table) and the field when a field is at fault; never a traceback,
never a results folder.

* ``malformed/``: one file per kind of mistake, named for it, each starting
  with a comment saying what is wrong. Every file goes through
  ``python -m simsampling validate FILE`` and ``... run FILE --out DIR`` in a
  real subprocess (bounded to 2 GB of address space and a timeout). The
  subprocesses are started together on a thread pool, one per CPU, because each
  costs over a second of imports; ``EXPECTED`` says what each file must report.
* hypothesis mutates the demo scenario (drop a key, change a value's type,
  replace a number with huge, negative or NaN-like values, rename a key) and
  checks ``validate_scenario`` and ``cli.main(["validate", path])`` in-process;
  a second strategy fuzzes the rows of a points table.

A corpus file that shows a new package bug can be marked with ``Expect(bug=...)``
(it then runs as ``xfail(strict=True)``); the mark goes with the fix.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import math
import os
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from simsampling.cli import main
from simsampling.scenario import Scenario, ScenarioError, load_scenario, validate_scenario
from simsampling.scenario.loading import read_yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "malformed"
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"

MEMORY_KB = 2_000_000  # address-space cap of each subprocess (ulimit -v): a bomb must not take the machine
TIMEOUT_S = 120.0  # a normal subprocess takes 1-3 s
BOMB_TIMEOUT_S = 30.0  # the alias bomb: hung before the fix; 5 s proved too tight for `run` on a loaded machine


@dataclass(frozen=True)
class Expect:
    """What the error output for a corpus file must say."""

    field: Optional[str]  # the field named after "file:line: "; None: a problem of the whole file
    message: Optional[str] = None  # a fragment of the message
    named: Optional[str] = None  # the file at fault when not the scenario itself (a points table)
    line_of: Optional[str] = None  # the reported line is the first line of the named file containing this
    bug: Optional[str] = None  # a package bug: xfail(strict=True) with this reason
    timeout_s: float = TIMEOUT_S


EXPECTED: dict[str, Expect] = {
    "broken_yaml.yaml": Expect(None, "YAML syntax error"),
    "tab_indent.yaml": Expect(None, "YAML syntax error", line_of="\tname: Tongjiaxi"),
    "not_a_mapping.yaml": Expect(None, "must be a mapping of fields"),
    "duplicate_key.yaml": Expect("points[0].tents", "is given twice", line_of="tents: 6"),
    "deep_nesting.yaml": Expect(None, "nested too deeply"),
    "python_object_tag.yaml": Expect(None, "could not determine a constructor", line_of="!!python"),
    "non_utf8.yaml": Expect(None, "is not UTF-8 text", line_of="caf"),
    "wrong_type_tents.yaml": Expect("points[0].tents", "valid integer", line_of="tents: four"),
    "huge_population.yaml": Expect("points[0].population", "less than or equal to 50000000", line_of="population:"),
    "huge_number_seed.yaml": Expect("seed", "less than", line_of="seed:"),
    "negative_servers.yaml": Expect("points[0].stages.temperature.servers", "greater than or equal to 1", line_of="servers: -2"),
    "nan_qr_share.yaml": Expect("points[0].stages.registration.qr_share", "finite number", line_of="qr_share: .nan"),
    "negative_duration.yaml": Expect("points[0].stages.swab.service_s", "cannot be negative", line_of="value: -25"),
    "unknown_distribution.yaml": Expect("points[0].stages.swab.service_s.dist", "'beta'", line_of="dist: beta"),
    "unknown_field.yaml": Expect("points[0].tent_colour", "not a known field", line_of="tent_colour"),
    "missing_arrivals.yaml": Expect("arrivals", "is required"),
    "empty_points.yaml": Expect("points", "at least 1 item", line_of="points: []"),
    "defaults_not_mapping.yaml": Expect("defaults", "must be a mapping", line_of="defaults:"),
    "bad_csv_row.yaml": Expect("row 2", "has 2 cells, the header has 3", named="bad_csv_row.csv", line_of="p-02,"),
    "csv_wrong_type.yaml": Expect("column 'population'", "valid integer", named="csv_wrong_type.csv", line_of="p-01,"),
    "csv_non_utf8.yaml": Expect(None, "is not UTF-8 text", named="csv_non_utf8.csv", line_of="p-01,"),
        "nul_character.yaml": Expect(None),
    "points_file_null_byte.yaml": Expect("points_file", line_of="points_file:"),
    "alias_bomb.yaml": Expect(None, timeout_s=BOMB_TIMEOUT_S),
    "boolean_key.yaml": Expect("clock.on"),
}

COMMANDS = ("validate", "run")


# ---------------------------------------------------------------- corpus through subprocesses


@dataclass
class Outcome:
    returncode: Optional[int]  # None: killed at the timeout
    stdout: str
    stderr: str
    left_behind: list[str]  # anything in the working folder afterwards
    seconds: float


def _command(path: Path, command: str, workdir: Path) -> list[str]:
    args = [sys.executable, "-m", "simsampling", command, str(path)]
    if command == "run":
        args += ["--out", str(workdir / "out")]
    if os.name == "posix":  # cap memory; ignored where ulimit -v is not supported
        return ["/bin/sh", "-c", f'ulimit -v {MEMORY_KB} 2>/dev/null; exec "$0" "$@"', *args]
    return args


def _run_cli(path: Path, command: str, workdir: Path, timeout_s: float) -> Outcome:
    workdir.mkdir(parents=True)
    began = time.perf_counter()
    try:
        done = subprocess.run(
            _command(path, command, workdir), capture_output=True, cwd=workdir, timeout=timeout_s,
            env={**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "400"},
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, exc.stdout or b"", exc.stderr or b""
    decode = lambda b: b.decode("utf-8", errors="replace")  # noqa: E731
    left = sorted(str(p.relative_to(workdir)) for p in workdir.rglob("*"))
    return Outcome(code, decode(out), decode(err), left, time.perf_counter() - began)


def _snapshot() -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in CORPUS.iterdir()}


@pytest.fixture(scope="module")
def corpus_runs(tmp_path_factory):
    """Start every (file, command) subprocess at once; tests wait for their own."""
    before = _snapshot()
    base = tmp_path_factory.mktemp("corpus")
    pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2))
    futures: dict[tuple[str, str], Future] = {}
    # Files known to hang first, so that their timeouts overlap the rest.
    for name in sorted(EXPECTED, key=lambda n: (EXPECTED[n].timeout_s == TIMEOUT_S, n)):
        for command in COMMANDS:
            workdir = base / f"{Path(name).stem}-{command}"
            futures[name, command] = pool.submit(_run_cli, CORPUS / name, command, workdir, EXPECTED[name].timeout_s)
    yield futures, before
    pool.shutdown(wait=True)


def _corpus_params():
    for name in sorted(EXPECTED):
        for command in COMMANDS:
            marks = [pytest.mark.xfail(strict=True, reason=EXPECTED[name].bug)] if EXPECTED[name].bug else []
            yield pytest.param(name, command, marks=marks, id=f"{Path(name).stem}-{command}")


def _line_number(path: Path, needle: str) -> int:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line and not line.startswith("#"))


def test_every_corpus_file_has_an_expectation():
    scenarios = {p.name for p in CORPUS.glob("*.yaml")}
    assert scenarios == set(EXPECTED)
    tables = {p.name for p in CORPUS.glob("*.csv")}
    assert tables == {e.named for e in EXPECTED.values() if e.named and e.named.endswith(".csv")}
    assert {p.name for p in CORPUS.iterdir()} == scenarios | tables
    for name in scenarios:  # each file says what is wrong with it
        assert (CORPUS / name).read_bytes().startswith(b"# Malformed: "), name


@pytest.mark.parametrize("name, command", list(_corpus_params()))
def test_malformed_file_exits_2_naming_file_and_field(name: str, command: str, corpus_runs):
    futures, _ = corpus_runs
    outcome: Outcome = futures[name, command].result()
    expect = EXPECTED[name]
    assert outcome.returncode is not None, f"no answer within {expect.timeout_s:g} s"
    assert "Traceback" not in outcome.stderr + outcome.stdout, outcome.stderr[-2000:]
    assert outcome.returncode == 2, outcome.stderr[-2000:]
    assert outcome.stdout == ""
    assert outcome.left_behind == [], "nothing may be written"

    named = CORPUS / (expect.named or name)
    lines = outcome.stderr.strip().splitlines()
    assert lines, "at least one problem is reported"
    corpus_prefix = f"{CORPUS}{os.sep}"
    assert all(line.startswith(corpus_prefix) for line in lines), lines  # one line per problem, each naming its file
    mine = [line.removeprefix(f"{named}:") for line in lines if line.startswith(f"{named}:")]
    assert mine, f"no problem names {named}: {lines}"
    if expect.line_of is not None:
        mine = [rest.removeprefix(f"{_line_number(named, expect.line_of)}:") for rest in mine
                if rest.startswith(f"{_line_number(named, expect.line_of)}:")]
        assert mine, f"no problem at line {_line_number(named, expect.line_of)}: {lines}"
    else:
        mine = [rest.split(":", 1)[1] if rest.split(":", 1)[0].isdigit() else rest for rest in mine]
    if expect.field is not None:
        mine = [rest for rest in mine if rest.startswith(f" {expect.field}: ")]
        assert mine, f"no problem names the field {expect.field}: {lines}"
    if expect.message is not None:
        assert any(expect.message in rest for rest in mine), lines


def test_run_reports_the_same_problems_as_validate(corpus_runs):
    futures, _ = corpus_runs
    for name, expect in EXPECTED.items():
        if expect.bug:
            continue
        validate, run = futures[name, "validate"].result(), futures[name, "run"].result()
        assert run.stderr == validate.stderr, name


def test_corpus_folder_is_left_unchanged(corpus_runs):
    futures, before = corpus_runs
    for future in futures.values():
        future.result()
    assert _snapshot() == before


# ---------------------------------------------------------------- hypothesis: mutated scenarios

DEMO_DATA, _ = read_yaml(DEMO)

NUMBERISH = st.one_of(
    st.sampled_from([
        "1e999", "-1e999", "1e-400", "NaN", "nan", ".nan", "inf", "-inf", ".inf", "Infinity", "-0", "1_000",
        "0x1F", "0o17", "1,5", "2.600", "１２", "٣", "", " ", "-2600", "99999999999999999999", "4 tents",
    ]),
    st.sampled_from([
        10**400, -(10**400), 2**63, -(2**63) - 1, 2**64, 1e308, -1e308, 5e-324, -1, 0, -0.0,
        math.nan, math.inf, -math.inf,
    ]),
    st.integers(),
    st.floats(),
)
PLAUSIBLE = st.sampled_from([
    "per_tent", "per-tent", "shared", "07:00", "24:00", "25:61", "7:00", "slots", "poisson", "calling",
    "lognormal", "gamma", "triangular", "fixed", "empirical", {}, [], {"dist": "fixed", "value": 3},
    {"dist": "normal", "mean": 0, "sd": 1}, {"dist": "empirical", "values": []}, {"kind": "poisson"},
    {"start": "07:00", "end": "06:00", "share": 1}, [{"start": "07:00", "end": "09:00", "share": 1.0}],
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
VALUES = st.one_of(
    SCALARS,
    NUMBERISH,
    PLAUSIBLE,
    st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                 max_leaves=8),
)
KNOWN_KEYS = ["points_file", "defaults", "round", "chain", "home", "pooling", "setup_min", "mop_up", "slots", "kind",
              "dist", "servers", "service_s", "arrivals", "stages", "swab", "<<"]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, prefix + (index,))
    return found


def _get(node: Any, path: tuple) -> Any:
    for key in path:
        node = node[key]
    return node


def _rename_to(key: Any) -> st.SearchStrategy:
    typos = []
    if isinstance(key, str) and key:
        typos = [key.upper(), key + "s", key[:-1], key.replace("_", "-"), " " + key, key.title(), key + ":"]
    return st.one_of(
        st.sampled_from(typos + KNOWN_KEYS),
        st.text(max_size=12),
        st.integers(-3, 3),
        st.booleans(),
        st.none(),
        st.floats(allow_nan=False),
    )


def _mutate(data: Any, draw) -> tuple[Any, str]:
    """One mutation of ``data`` (in place when possible); returns the data and what was done."""
    paths = _paths(data)
    kind = draw(st.sampled_from(["drop", "retype", "number", "rename"]))
    if kind == "number":
        numbers = [p for p in paths if isinstance(_get(data, p), (int, float)) and not isinstance(_get(data, p), bool)]
        path = draw(st.sampled_from(numbers or paths))
    else:
        path = draw(st.sampled_from(paths))
    if not path:  # the root itself: replace the whole document
        return copy.deepcopy(draw(VALUES)), "replace the document"
    parent, key = _get(data, path[:-1]), path[-1]
    if kind == "drop":
        del parent[key]
    elif kind == "rename" and isinstance(parent, dict):
        new = draw(_rename_to(key))
        parent[new] = parent.pop(key)
    else:
        # A copy: sampled_from hands out the same object each time, and a later mutation may change it.
        parent[key] = copy.deepcopy(draw(NUMBERISH if kind == "number" else VALUES))
    return data, f"{kind} {path}"


@st.composite
def mutants(draw):
    data = copy.deepcopy(DEMO_DATA)
    done = []
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(data, (dict, list)):
            break
        data, what = _mutate(data, draw)
        done.append(what)
    return data, done


def _no_known_bug(data: Any) -> None:
    # points_file with a NUL character is covered by the corpus (points_file_null_byte.yaml).
    if isinstance(data, dict):
        value = data.get("points_file")
        assume(not (isinstance(value, str) and "\x00" in value))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _verdict(data: Any, base_dir: Path, file: str) -> Optional[list]:
    """None if the data is a valid scenario, else its problems; any other exception propagates."""
    try:
        scenario = validate_scenario(data, file=file, base_dir=base_dir)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError carries at least one problem"
        for problem in exc.problems:
            assert isinstance(problem.message, str) and problem.message.strip(), problem
            assert problem.file, problem
            assert "Traceback" not in str(problem), problem
        return exc.problems
    assert isinstance(scenario, Scenario)
    return None


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(mutant=mutants())
def test_mutated_scenario_is_a_scenario_or_a_scenario_error(mutant, workdir):
    data, _ = mutant
    _no_known_bug(data)
    problems = _verdict(copy.deepcopy(data), workdir, "mutant.yaml")
    event("accepted" if problems is None else "rejected")


@FUZZ
@given(mutant=mutants())
def test_mutated_scenario_file_validates_with_exit_0_or_2(mutant, workdir):
    data, _ = mutant
    _no_known_bug(data)
    path = workdir / "mutant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=False), encoding="utf-8")
    try:
        reloaded, _ = read_yaml(path)  # what the CLI will see (YAML keeps every value of a safe dump)
    except ScenarioError:  # refused before validation (e.g. a key YAML reads as null or a number)
        reloaded, expected = None, "refused"
    else:
        expected = _verdict(copy.deepcopy(reloaded), path.parent, str(path))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert code in (0, 2)
    assert code == (0 if expected is None else 2), err.getvalue()
    if code == 0:
        assert out.getvalue().startswith(f"{path}: OK")
        return
    text = err.getvalue()
    assert text.strip() and "Traceback" not in text
    if isinstance(reloaded, dict) and "points_file" in reloaded:
        return  # the points table may be the file at fault
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    problems = raised.value.problems
    assert all(problem.file == str(path) for problem in problems)
    # One problem per line, each naming the file (control characters are shown escaped).
    assert text.startswith(f"{path}:")
    assert sum(line.startswith(f"{path}:") for line in text.splitlines()) == len(problems), text


def test_a_key_with_a_line_break_keeps_its_problem_on_one_line(tmp_path: Path, capsys):
    text = DEMO.read_text().replace("    tents: 4\n", '    tents: 4\n    "tent\\ncolour": blue\n', 1)
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and all(line.startswith(f"{path}:") for line in lines), lines


# ---------------------------------------------------------------- hypothesis: points tables

COLUMNS = ["id", "name", "population", "tents", "queue", "stages.registration.qr_share", "home.share",
           "arrivals.household_size", "stages.swab.servers", "lab", "setup_min.dist", "colour", "", "id"]
CELLS = st.one_of(
    st.text(max_size=12),
    st.integers(-10, 10**6).map(str),
    st.sampled_from(["p-01", "2600", "4", "-4", "1e999", "nan", "true", "per_tent", "shared", "0.85", " ", "\"", "a,b", "x\ny"]),
)
TABLE_SCENARIO = """name: fuzzed-table
clock: {open: "07:00", close: "22:00"}
points_file: table.csv
defaults: {stages: {swab: {}}}
arrivals: {kind: poisson, rate_per_hour: 100}
"""


@st.composite
def tables(draw) -> bytes:
    header = draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=6))
    if draw(st.booleans()):
        header = ["id", "population", "tents"] + [c for c in header if c not in ("id", "population", "tents")]
    rows = draw(st.lists(st.lists(CELLS, min_size=max(0, len(header) - 1), max_size=len(header) + 1), max_size=4))
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    raw = text.getvalue().encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # now and then, raw bytes in a row (not UTF-8, NUL, stray quotes)
        raw += draw(st.binary(max_size=20))
    return raw


@FUZZ
@given(table=tables())
def test_fuzzed_points_table_is_a_scenario_or_a_scenario_error(table: bytes, workdir):
    scenario_path, table_path = workdir / "table.yaml", workdir / "table.csv"
    scenario_path.write_text(TABLE_SCENARIO, encoding="utf-8")
    table_path.write_bytes(table)
    try:
        scenario = load_scenario(scenario_path)
    except ScenarioError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.message.strip(), problem
            assert problem.file in (str(scenario_path), str(table_path)), problem
    else:
        assert isinstance(scenario, Scenario)
