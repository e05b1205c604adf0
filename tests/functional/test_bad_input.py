"""Bad input: exit status 2, one line per problem naming file, line and field; no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simsampling.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "scenarios" / "one-point-demo.yaml").read_text()

CASES = {
    "yaml_syntax": (DEMO_TEXT.replace("tents: 4", "tents: [4"), None, "YAML syntax error"),
    "unknown_key": (DEMO_TEXT.replace("tents: 4", "tents: 4\n    colour: red"), "points[0].colour", "not a known field"),
    "wrong_type": (DEMO_TEXT.replace("population: 2600", "population: lots"), "points[0].population", "integer"),
    "zero_servers": (DEMO_TEXT.replace("servers: 1", "servers: 0"), "points[0].stages.temperature.servers", "greater than or equal to 1"),
    "negative_tents": (DEMO_TEXT.replace("tents: 4", "tents: -3"), "points[0].tents", "greater than or equal to 1"),
    "shares": (DEMO_TEXT.replace("share: 0.10", "share: 0.20"), "arrivals", "sum to 1.1"),
    "close_before_open": (DEMO_TEXT.replace('close: "22:00"', 'close: "06:00"'), "clock", "must be after open"),
    "unknown_distribution": (DEMO_TEXT.replace("dist: triangular", "dist: beta"), "points[0].stages.temperature.service_s", "beta"),
    "unquoted_times_are_fine": (DEMO_TEXT.replace('"22:00"', "22:00").replace('"21:00"', "21:00"), None, None),
}


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_and_run_report_the_problem(case: str, tmp_path: Path, capsys, monkeypatch):
    text, field, message = CASES[case]
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    monkeypatch.chdir(tmp_path)
    expected = 0 if message is None else 2
    assert main(["validate", str(path)]) == expected
    err = capsys.readouterr().err
    if message is None:
        return
    lines = err.strip().splitlines()
    assert lines and all(line.startswith(f"{path}:") for line in lines)
    assert any(message in line for line in lines), err
    if field is not None:
        assert any(f": {field}" in line for line in lines), err
    assert main(["run", str(path), "--quiet"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == lines
    assert not (tmp_path / "results").exists()


def test_line_numbers_point_at_the_field(tmp_path: Path, capsys):
    text = DEMO_TEXT.replace("population: 2600", "population: -5")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    assert f"{path}:{line_of(text, 'population: -5')}: points[0].population:" in capsys.readouterr().err


def test_missing_file(tmp_path: Path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "--quiet", "--out", str(tmp_path / "out")]) == 2
    assert "nope.yaml: no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"- just\n- a list\n", b"\xff\xfe\x00bad", b"name: x\nname: y\n", b"a: &x [*x]\n"],
    ids=["empty", "not_a_mapping", "not_utf8", "duplicate_key", "recursive_alias"],
)
def test_odd_files_never_show_a_traceback(content: bytes, tmp_path: Path):
    path = tmp_path / "odd.yaml"
    path.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "simsampling", "run", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and str(path) in done.stderr
    assert not (tmp_path / "out").exists()


def test_bad_command_line_values_exit_2(tmp_path: Path):
    path = ROOT / "scenarios" / "one-point-demo.yaml"
    for extra in (["--jobs", "0"], ["--replications", "-1"], ["--seed", "x"]):
        done = subprocess.run([sys.executable, "-m", "simsampling", "run", str(path), *extra],
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert not (tmp_path / "results").exists()
