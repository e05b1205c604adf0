"""The building blocks of report.html (simsampling/report/html.py): text is always escaped."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from simsampling.report.html import (
    KpiRow,
    Markup,
    clock_after_opening,
    code_block,
    esc,
    figure,
    kpi_table,
    page,
    provenance_table,
    run_provenance,
    section,
    table,
    yaml_excerpt,
)

EVIL = '<script>alert(1)</script> & "quotes"'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"


def test_text_is_escaped_and_markup_is_kept():
    assert esc(EVIL) == ESCAPED
    assert esc(Markup("<b>x</b>")) == "<b>x</b>"
    assert esc(None) == "" and esc(3) == "3"


def test_every_block_escapes_its_text():
    html = page(EVIL, [section(EVIL, table([EVIL], [[EVIL]]), id="s"), code_block(EVIL, summary=EVIL),
                       provenance_table({EVIL: EVIL}), kpi_table([KpiRow(EVIL, {"mean": 1.0, "ci95": None, "n": 1})])],
                subtitle=EVIL, contents=[("s", EVIL)], footer=EVIL)
    assert "<script" not in html and html.count(ESCAPED) == 13  # each text, once, escaped


def test_tables():
    text = table(["a", "b"], [[1, 2.5], ["note across"]], numeric=[1])
    assert '<th class="num" scope="col">b</th>' in text and '<td class="num">2.5</td>' in text
    assert '<td colspan="2">note across</td>' in text
    rows = kpi_table([KpiRow("x", {"mean": 0.5, "ci95": [0.25, 0.75], "n": 4}, "{:.0%}"),
                      KpiRow("  y", {"mean": None, "ci95": None, "n": 0})])
    assert ">50%<" in rows and ">25% – 75%<" in rows and ">n/a<" in rows and 'class="sub"' in rows


def test_figure_embeds_a_png_only(tmp_path):
    not_png = tmp_path / "chart.png"
    not_png.write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="not a PNG"):
        figure(not_png, "caption")


def test_long_yaml_is_cut_at_a_line():
    assert yaml_excerpt("a: 1\nb: 2\n", limit=100) == ("a: 1\nb: 2\n", False)
    assert yaml_excerpt("a: 1\nb: 2\n", limit=7) == ("a: 1\n", True)


def test_clock_after_opening():
    summary = {"clock": {"open": "07:00"}}
    assert clock_after_opening(summary, 4.5) == "11:30"
    assert clock_after_opening(summary, 19) == "+1d 02:00"


def test_provenance_takes_extra_rows():
    summary = {"scenario": "s", "simsampling_version": "9", "engine": "simpy", "seed": 1, "replications": 2, "jobs": 4}
    rows = run_provenance(summary, {"executor": "dask", "seed": "overridden"},
                          generated=datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert rows["executor"] == "dask" and rows["seed"] == "overridden" and rows["jobs (worker processes)"] == "4"
    assert list(rows).index("seed") == 3  # an overridden key keeps its place
    assert rows["generated"] == "2024-01-02 03:04:05+00:00"


def test_an_interval_below_zero_is_shown_cut_at_zero_and_kept_in_the_leaf():
    leaf = {"mean": 7.8, "ci95": [-6.5, 22.1], "n": 5}  # a side stage's p90 wait over five replications
    assert KpiRow("wait", leaf).ci95 == "0.0 – 22.1"
    assert leaf["ci95"] == [-6.5, 22.1]
    assert KpiRow("wait", {"mean": 1.0, "ci95": [0.5, 1.5], "n": 5}).ci95 == "0.5 – 1.5"
