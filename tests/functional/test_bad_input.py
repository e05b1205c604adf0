"""Bad input: exit status 2, one line per problem naming file, line and field; no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simsampling.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "scenarios" / "one-point-demo.yaml").read_text()

SWAB_LINE = "        service_s: {dist: lognormal, mean: 25, sd: 8}\n"
TEMPERATURE = "        service_s: {dist: triangular, low: 2, mode: 3, high: 6}\n"


def flow(after_swab: str = "", divert: str = "") -> str:
    """The demo with side stages written after swab and ``divert`` added to the temperature check."""
    text = DEMO_TEXT.replace(SWAB_LINE, SWAB_LINE + after_swab)
    return text.replace(TEMPERATURE, TEMPERATURE + (f"        divert: {divert}\n" if divert else ""))


ISOLATION = "      isolation:\n        service_s: {dist: fixed, value: 600}\n"
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
    # Bad flows: the field at fault is named.
    "flow_without_swab": (DEMO_TEXT.replace("      swab:\n        servers: per_tent\n" + SWAB_LINE, ""), "points[0].stages.swab", "is required"),
    "route_to_unknown_stage": (flow(divert="{share: 0.01, to: isolaton}"), "points[0].stages.temperature.divert.to", "no stage 'isolaton'"),
    "route_into_the_main_flow": (flow(divert="{share: 0.01, to: registration}"), "points[0].stages.temperature.divert.to", "main flow"),
    "shares_over_one": (flow(ISOLATION + "      ward:\n        service_s: {dist: fixed, value: 60}\n",
                             "[{share: 0.7, to: isolation}, {share: 0.6, to: ward}]"), "points[0].stages.temperature.divert", "more than 1"),
    "share_over_one": (flow(ISOLATION, "{share: 1.5, to: isolation}"), "points[0].stages.temperature.divert.share", "less than or equal to 1"),
    "routes_in_a_cycle": (flow(ISOLATION.replace("600}\n", "600}\n        divert: {share: 0.5, to: ward}\n")
                               + "      ward:\n        service_s: {dist: fixed, value: 60}\n        divert: {share: 0.5, to: isolation}\n",
                               "{share: 0.01, to: isolation}"), "points[0].stages.isolation.divert", "cycle: isolation -> ward -> isolation"),
    "side_stage_never_reached": (flow(ISOLATION), "points[0].stages.isolation", "no stage diverts to isolation"),
    "known_stage_after_swab": (flow("      health_code: {}\n"), "points[0].stages.health_code", "must come before swab"),
    "paired_registrar_not_before_swab": (DEMO_TEXT.replace("      swab:\n", "      id_check:\n        service_s: {dist: fixed, value: 5}\n      swab:\n"),
                                         "points[0].stages.registration.servers", "right before swab"),
    "plain_stage_without_service": (DEMO_TEXT.replace("      swab:\n", "      id_check: {servers: 2}\n      swab:\n"),
                                    "points[0].stages.id_check.service_s", "is required"),
    "misspelt_stage": (DEMO_TEXT.replace("      temperature:\n        servers: 1\n" + TEMPERATURE, "      temprature: {servers: 1}\n"),
                       "points[0].stages", "did you mean 'temperature'"),
    "a_valid_flow": (flow(ISOLATION, "{share: 0.01, to: isolation}").replace("      temperature:\n", "      health_code: {}\n      temperature:\n"),
                     None, None),
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
