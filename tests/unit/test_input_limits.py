"""Input limits come before reading: special files, sizes, long lists and long numbers are refused at once.

Each case is refused as a problem naming the file (and line and field when there is one),
never read whole, never a hang or a traceback (docs/validation.md, "Reliability").
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from simsampling.cli import main
from simsampling.experiment.factors import parse_vary
from simsampling.scenario import ScenarioError, load_scenario
from simsampling.scenario import loading, points_table

ROOT = Path(__file__).resolve().parents[2]
DEMO_TEXT = (ROOT / "scenarios" / "one-point-demo.yaml").read_text()
TABLE = """name: t
points_file: points.csv
arrivals: {kind: poisson, rate_per_hour: 10}
"""
LONG = "9" * 5000  # beyond Python's 4,300-digit conversion limit


def problem_of(path: Path, seconds: float = 10.0) -> str:
    """The problems of loading ``path``, within ``seconds`` (a FIFO must not block the loader)."""
    outcome: dict = {}

    def load():
        try:
            load_scenario(path)
        except ScenarioError as exc:
            outcome["text"] = str(exc)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["other"] = exc

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"loading {path} blocked"
    assert "other" not in outcome, repr(outcome.get("other"))
    return outcome["text"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused_unread():
    assert "/dev/zero: is not a regular file but a character device" in problem_of(Path("/dev/zero"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path):
    os.mkfifo(tmp_path / "s.yaml")
    assert "is not a regular file but a FIFO" in problem_of(tmp_path / "s.yaml")
    (tmp_path / "t.yaml").write_text(TABLE)
    os.mkfifo(tmp_path / "points.csv")
    text = problem_of(tmp_path / "t.yaml")
    assert "points_file: " in text and "points.csv: is not a regular file but a FIFO" in text


def test_files_beyond_the_limits_are_refused_unread(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(points_table, "MAX_TABLE_BYTES", 100)
    path = tmp_path / "s.yaml"
    path.write_text(DEMO_TEXT)
    assert "is larger than 1,000 bytes" in problem_of(path)
    (tmp_path / "t.yaml").write_text(TABLE)
    (tmp_path / "points.csv").write_text("id,population,tents\n" + "p-1,100,2\n" * 20)
    assert "points.csv: is larger than 100 bytes" in problem_of(tmp_path / "t.yaml")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="no /proc here")
def test_a_file_longer_than_its_stated_size_is_read_only_to_the_limit(monkeypatch):
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", 4)  # /proc files state a size of 0: read, but never past the limit
    assert "grew while it was read" in problem_of(Path("/proc/self/environ"))


def test_a_million_service_times_are_refused_in_a_moment(tmp_path: Path):
    values = ", ".join(str(20 + i % 17) for i in range(1_000_000))
    path = tmp_path / "s.yaml"
    path.write_text(DEMO_TEXT.replace("{dist: lognormal, mean: 25, sd: 8}", f"{{dist: empirical, values: [{values}]}}"))
    began = time.perf_counter()
    text = problem_of(path, seconds=60)
    elapsed = time.perf_counter() - began
    assert "points[0].stages.swab.service_s.values: is a list of more than 100,000 items" in text
    assert elapsed < 5.0, f"{elapsed:.1f} s (0.45 s measured under load; 85 s before the limit)"


def test_too_deep_and_too_many_values_are_refused_while_parsing(tmp_path: Path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text("a: " + "[" * 100 + "]" * 100 + "\n")
    assert "is nested too deeply" in problem_of(path)
    monkeypatch.setattr(loading, "MAX_VALUES", 50)
    path.write_text(DEMO_TEXT)
    assert "holds more than 50 values" in problem_of(path)


def test_aliases_that_expand_past_the_limit_are_refused_and_a_document_without_them_is_not_walked_again(
        tmp_path: Path, monkeypatch):
    path = tmp_path / "s.yaml"
    # A billion laughs: nine levels of ten aliases each, a few lines that expand to 10**9 values.
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 10)}]" for k in range(1, 9)]
    path.write_text("\n".join(lines) + "\n")
    assert f"expands to more than {loading.MAX_VALUES:,} values (YAML aliases)" in problem_of(path)
    # The demo has no alias: the values counted while parsing are all it holds, so its nodes are not counted again.
    walked = []
    monkeypatch.setattr(loading, "_expanded_size", lambda node, sizes: walked.append(node) or 0)
    assert load_scenario(ROOT / "scenarios" / "one-point-demo.yaml").name == "one-point-demo" and walked == []


def test_whole_numbers_longer_than_python_converts_are_reported_as_too_large(tmp_path: Path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(DEMO_TEXT.replace("seed: 20220319", f"seed: {LONG}"))
    assert main(["validate", str(path)]) == 2
    assert f"{path}:2: seed: Input should be less than" in capsys.readouterr().err
    (tmp_path / "t.yaml").write_text(TABLE)
    (tmp_path / "points.csv").write_text(f"id,population,tents\np-1,{LONG},2\n")
    assert "column 'population': Input should be less than or equal to" in problem_of(tmp_path / "t.yaml")
    assert parse_vary(f"arrivals.show_up=1,{LONG}").values[1] > 10**999  # refused later by validation, as too large
    assert parse_vary(f"points.{LONG}.tents=2").segments[1] > 10**999
    with pytest.raises(SystemExit) as exited:  # argparse's exit for a bad option value
        main(["run", str(path), "--seed", LONG])
    assert exited.value.code == 2
    assert "(5,000 characters) is outside 0..9223372036854775807" in capsys.readouterr().err
