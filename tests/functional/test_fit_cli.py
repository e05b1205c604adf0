"""`simsampling fit`: bad records reported by line, exit statuses, nothing half-written."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pytest

from simsampling import cli
from simsampling.scenario import load_scenario

HEADER = "arrival,scan,swab_start,swab_end,station\n"


def records(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "point.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def good_rows(n: int = 60, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    rows, free = [], {"A": 0.0, "B": 0.0}
    t = 8 * 3600.0
    for k in range(n):
        t += rng.exponential(40)
        station = "AB"[k % 2]
        scan = t + rng.gamma(3, 3)
        start = max(scan, free[station])
        end = start + rng.gamma(4, 6)
        free[station] = end
        rows.append(",".join([clock(t), clock(scan), clock(start), clock(end), station]))
    return rows


def clock(seconds: float) -> str:
    return f"{int(seconds // 3600):02d}:{int(seconds // 60 % 60):02d}:{seconds % 60:04.1f}"


def test_bad_records_are_named_by_line_and_skipped_with_a_count(tmp_path, capsys):
    rows = good_rows()
    rows[3] = "08:10:00,08:10:05,08:10:09,oops,A"                   # text in a time
    rows[7] = "08:20:00,08:19:00,08:21:00,08:21:30,B"               # scan before arrival
    rows[9] = "08:30:00,08:30:05"                                   # missing cells
    path = records(tmp_path, rows)
    out = tmp_path / "fit"
    assert cli.main(["fit", str(path), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"{path}:5: swab_end: 'oops' is not a time" in err
    assert f"{path}:9: scan: scan 08:19:00 is before arrival 08:20:00" in err
    assert f"{path}:11: has 2 cells, the header has 5" in err
    assert "skipped 3 bad record(s) of 60; fitted from the other 57" in err
    summary = json.loads((out / "fit.json").read_text())
    assert [b["line"] for b in summary["bad_records"]] == [5, 9, 11] and summary["records_used"] == 57
    assert sorted(p.name for p in out.iterdir()) == [".simsampling-files", "arrivals.png", "fit.json", "qq-registration.png",
                                                      "qq-swab.png", "scenario.yaml"]
    scenario = load_scenario(out / "scenario.yaml")  # what fit writes, run accepts
    assert scenario.points[0].population == 57 and scenario.points[0].stations == 2


def test_strict_refuses_a_file_with_a_bad_record_and_writes_nothing(tmp_path, capsys):
    rows = good_rows()
    rows[0] = "2022-03-19 23:59:00,2022-03-20 00:00:10,,,A"   # crosses midnight
    path = records(tmp_path, rows)
    out = tmp_path / "fit"
    assert cli.main(["fit", str(path), "--out", str(out), "--strict"]) == 2
    err = capsys.readouterr().err
    assert ":2: scan: is on 2022-03-20, the record began on 2022-03-19: a record crosses midnight" in err
    assert "refused (--strict); nothing was written" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["point.csv"]


def test_records_of_two_days_keep_the_main_day(tmp_path, capsys):
    rows = [f"2022-03-19 {r.split(',')[0]},2022-03-19 " + ",2022-03-19 ".join(r.split(",")[1:4]) + "," + r.split(",")[4] for r in good_rows()]
    rows.append("2022-03-20 08:00:00,2022-03-20 08:00:05,2022-03-20 08:00:06,2022-03-20 08:00:30,A")
    path = records(tmp_path, rows)
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit"), "--quiet"]) == 0
    assert ":62: is of 2022-03-20, the records' day is 2022-03-19: fit one day at a time" in capsys.readouterr().err


@pytest.mark.parametrize(
    "header, rows, message",
    [
        ("name,phone\n", ["a,1"], ":1: no time column: the header needs at least one of arrival, scan, swab_start, swab_end"),
        ("arrival,scan\n", None, "no swab times: the records need swab_start and swab_end"),
        (HEADER, [], "no usable record (0 bad)"),
        ("arrival,arrival,swab_end\n", [], ":1: column 'arrival' is given twice"),
    ],
)
def test_files_that_cannot_be_fitted_are_refused_with_status_2(tmp_path, capsys, header, rows, message):
    if rows is None:
        rows = [",".join(r.split(",")[:2]) for r in good_rows()]
    path = records(tmp_path, rows, header=header)
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "fit").exists()


def test_missing_file_not_utf8_and_taken_folder(tmp_path, capsys):
    assert cli.main(["fit", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
    latin = tmp_path / "latin.csv"
    latin.write_bytes(HEADER.encode() + "08:00:00,08:00:05,08:00:06,08:00:30,Tente \xe9\n".encode("latin-1"))
    assert cli.main(["fit", str(latin)]) == 2
    assert "latin.csv:2: is not text (neither UTF-8 nor GB18030)" in capsys.readouterr().err
    path = records(tmp_path, good_rows())
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    assert cli.main(["fit", str(path), "--out", str(taken)]) == 2
    assert "already holds results" in capsys.readouterr().err and (taken / "mine.txt").read_text() == "keep"


def test_a_folder_that_cannot_be_written_is_an_os_failure(tmp_path, capsys, monkeypatch):
    path = records(tmp_path, good_rows())
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cli.main(["fit", str(path), "--out", str(blocker / "fit")]) == 2  # as every command: refused before writing
    assert "--out: " in capsys.readouterr().err
    from simsampling.report import fit_charts

    def full(*args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fit_charts, "arrivals_chart", full)  # the disk fills up while the folder is written
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit")]) == 1
    assert capsys.readouterr().err.endswith("fit: cannot be written (No space left on device; nothing was written)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "point.csv"]


def test_equal_times_and_a_layout_that_does_not_fit_are_said_not_guessed(tmp_path, capsys):
    """Every swab 30 s: written as the records' own times; scans before the station's previous resident sat down: not fitted."""
    rows = []
    for k in range(40):
        t = 8 * 3600.0 + 20 * k  # a resident every 20 s at one station: the line builds up
        rows.append(",".join([clock(t), clock(t + 5), clock(8 * 3600.0 + 5 + 30 * k), clock(8 * 3600.0 + 35 + 30 * k), "A"]))
    path = records(tmp_path, rows)
    out = tmp_path / "fit"
    assert cli.main(["fit", str(path), "--out", str(out), "--quiet"]) == 0
    assert "registration: " in (err := capsys.readouterr().err) and "come out negative" in err and "not fitted" in err
    summary = json.loads((out / "fit.json").read_text())
    assert set(summary["stages"]) == {"swab"}
    assert summary["stages"]["swab"]["chosen"] == "empirical" and summary["stages"]["swab"]["laws"] == {}
    assert "service_s: {dist: empirical, values: [30" in (out / "scenario.yaml").read_text()
    load_scenario(out / "scenario.yaml")


@pytest.mark.parametrize("stem", ["2022-03-19", "123", "_point", "true", "a" * 200])
def test_any_file_name_gives_a_scenario_run_accepts(tmp_path, stem):
    path = records(tmp_path, good_rows(), name=f"{stem}.csv")
    out = tmp_path / "fit"
    assert cli.main(["fit", str(path), "--out", str(out), "--quiet"]) == 0
    assert load_scenario(out / "scenario.yaml").points[0].id


def excel(row: str, day: str) -> str:
    """A row as a spreadsheet writes it: dates with slashes, no leading zeros, semicolons."""
    cells = row.split(",")
    times = [f"{day} {int(c[:2])}:{c[3:5]}:{c[6:].replace('.', ',')}" for c in cells[:4]]
    return ";".join(times + [cells[4]])


def test_spreadsheet_exports_are_read_as_they_come(tmp_path):
    """BOM, CRLF, semicolons or tabs, "2022/3/19 8:05:07,3", spaced and capitalised names, GB18030 text: the same fit."""
    rows = good_rows()
    plain = records(tmp_path, rows, name="plain.csv")
    variants = {
        "semicolons.csv": ("\ufeffArrival;Scan;Swab Start;Swab-End;Station\r\n"
                           + "".join(excel(r, "2022/3/19") + "\r\n" for r in rows)).encode("utf-8"),
        "tabs.csv": ("arrival\tscan\tswab_start\tswab_end\tstation\n"
                     + "".join(r.replace(",", "\t") + "\n" for r in rows)).encode("utf-8"),
        "gb18030.csv": (HEADER + "".join(r.replace(",A", ",采样台A").replace(",B", ",采样台B") + "\n" for r in rows)).encode("gb18030"),
    }
    assert cli.main(["fit", str(plain), "--out", str(tmp_path / "plain"), "--quiet"]) == 0
    expected = json.loads((tmp_path / "plain" / "fit.json").read_text())["stages"]
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        assert cli.main(["fit", str(tmp_path / name), "--out", str(tmp_path / name[:-4]), "--quiet"]) == 0, name
        summary = json.loads((tmp_path / name[:-4] / "fit.json").read_text())
        assert summary["records_used"] == 60 and summary["stations"] == 2, name
        for stage, fit in expected.items():
            assert summary["stages"][stage]["mean_s"] == pytest.approx(fit["mean_s"], abs=0.051), (name, stage)


def test_column_names_of_another_language_are_refused_with_the_names_to_use(tmp_path, capsys):
    path = records(tmp_path, [], header="到达时间,扫码时间,采样开始,采样结束,采样台\n")
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit")]) == 2
    assert "rename the columns" in capsys.readouterr().err and not (tmp_path / "fit").exists()


def test_a_resident_recorded_twice_is_a_bad_record_and_a_file_of_none_is_refused(tmp_path, capsys):
    rows = [f"r{k % 40},{row}" for k, row in enumerate(good_rows())]  # residents r0-r19 exported twice
    path = records(tmp_path, rows, header="resident," + HEADER)
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit"), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"{path}:42: resident: 'r0' is already on line 2" in err and "skipped 20 bad record(s) of 60" in err
    for rows in ([], ["08:00:00,oops,,,A"]):  # a header only; nothing but a bad record
        path = records(tmp_path, rows, name="none.csv")
        assert cli.main(["fit", str(path), "--out", str(tmp_path / "none")]) == 2
        assert f"{path}: no usable record" in capsys.readouterr().err and not (tmp_path / "none").exists()


def test_a_file_of_too_many_lines_is_refused_before_it_is_parsed(tmp_path, capsys, monkeypatch):
    from simsampling import records as records_module

    monkeypatch.setattr(records_module, "MAX_ROWS", 50)
    path = records(tmp_path, good_rows())
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit")]) == 2
    assert f"{path}: has 61 lines: at most 50 records (and a header) are read" in capsys.readouterr().err


def test_records_showing_more_stations_than_a_point_can_have_are_refused(tmp_path, capsys):
    """10,001 station ids (a district's records in one file?) would make a scenario run refuses: say so, exit 2."""
    path = records(tmp_path, [f"08:00:00,08:00:{20 + k % 30},S{k}" for k in range(10_001)], header="swab_start,swab_end,station\n")
    assert cli.main(["fit", str(path), "--out", str(tmp_path / "fit")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: the records show 10,001 stations" in err and "one point" in err and not (tmp_path / "fit").exists()
