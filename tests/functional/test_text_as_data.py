"""Text from a scenario is data everywhere: terminal, CSV, charts and report.html.

A name may hold rich markup (``[/]`` used to crash run, sweep and compare after the
results were written; ``[link=...]`` made a hyperlink), an emoji code, an escape
sequence, a spreadsheet formula or a right-to-left override. Each is shown as
written (control characters escaped) and acts on nothing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from simsampling.cli import main
from simsampling.report.chart_style import plain
from simsampling.report.html import esc
from simsampling.report.text import isolated
from simsampling.tables import text_cells

ROOT = Path(__file__).resolve().parents[2]
DEMO = (ROOT / "scenarios" / "one-point-demo.yaml").read_text().replace("population: 2600", "population: 300")
NAME = "x[/]y [link=http://example.org]click[/link] :x: \x1b[31mred \u202eesrever"
POINT_NAME = '=HYPERLINK("http://example.org","open me")'


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich draws the progress bar as on a terminal
    monkeypatch.setenv("COLUMNS", "300")
    path = tmp_path / "hostile.yaml"
    text = DEMO.replace("name: one-point-demo", f'name: "{NAME}"'.replace("\x1b", "\\e").replace("\u202e", "\\u202E"))
    path.write_text(text.replace("name: Tongjiaxi community square", f"name: '{POINT_NAME}'"))
    return path


def check_terminal(text: str) -> None:
    assert "\x1b[31mred" not in text and "\u202e" not in text, "raw control characters reached the terminal"
    assert "\\x1b[31mred" in text and "\\u202eesrever" in text
    assert "[link=http://example.org]click[/link]" in text and ":x:" in text and "\u274c" not in text
    assert "\x1b]8;" not in text, "a hyperlink was made"


def test_run_prints_names_as_written_and_writes_them_as_data(hostile: Path, tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(hostile), "-r", "1", "--out", str(out)]) == 0
    said = capsys.readouterr()
    check_terminal(said.out + said.err)
    with (out / "points.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == "'" + POINT_NAME  # a spreadsheet shows it, never runs it
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "\u202e" not in page and "\\u202eesrever" in page and "\x1b" not in page


def test_compare_and_sweep_print_names_as_written(hostile: Path, tmp_path: Path, capsys):
    assert main(["compare", str(hostile), str(hostile), "-r", "1", "--out", str(tmp_path / "compare")]) == 0
    said = capsys.readouterr()
    check_terminal(said.out + said.err)
    assert main(["sweep", str(hostile), "--vary", "points.*.tents=3,4", "-r", "1", "--out", str(tmp_path / "sweep")]) == 0
    said = capsys.readouterr()
    check_terminal(said.out + said.err)


def test_direction_overrides_are_shown_and_names_isolated():
    assert plain("ab\u202ecd $x$") == "\u2068ab\\u202ecd \\$x\\$\u2069"  # matplotlib lays text out bidirectionally
    assert isolated("\u2069\u202eevil") == "\u2068\\u2069\\u202eevil\u2069"  # a stray isolate cannot end ours
    assert str(esc("a\u202eb<")) == "a\\u202eb&lt;"


@pytest.mark.parametrize("text, cell", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
                                        ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=1", "a=1"), ("", None)])
def test_text_cells_never_start_a_formula(text: str, cell: str):
    assert text_cells([text]) == [cell]
