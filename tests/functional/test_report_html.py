"""report.html: one self-contained page per results folder, checked by parsing it and in headless Chromium.

Browser checks (skipped when ``chromium`` is not installed):

* ``--dump-dom`` of report.html: the DOM Chromium built holds the KPI table with the summary's
  values, one <img> per chart whose data URI decodes to that chart's PNG, and no <script>;
* a probe: a copy of the page without its Content-Security-Policy, with a test-only script that,
  on the window's ``load`` event (which waits for every image), writes into the DOM each <img>'s
  ``complete``, ``naturalWidth`` x ``naturalHeight``, laid-out size, and the count of dark pixels
  of the bitmap Chromium decoded (drawn on a canvas), read back with ``--dump-dom``: every chart
  is decoded whole (its dark pixels are the PNG's, counted with Pillow; a truncated PNG keeps its
  size but not its pixels) and drawn on the page with a width;
* ``--screenshot`` of report.html at a fixed window size, against a screenshot of a copy whose
  images are all blank: a PNG of exactly the window's size, not blank, and differing from the copy
  in many pixels, so the charts were painted.
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Optional

import pytest
from rich.console import Console

import simsampling
from simsampling.cli import _summary_table
from simsampling.report.html import PNG_SIGNATURE, png_size, point_rows, summary_kpi_rows
from simsampling.scenario import validate_scenario

EVIL = '<script>alert(1)</script> & "quotes"'
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: apt-get install chromium")
WINDOW = (1000, 4000)


def scenario():
    return validate_scenario({
        "name": "report <b>test</b> & co",
        "description": f"Planner's note: {EVIL}\nA second line.",
        "seed": 5,
        "replications": 2,
        "clock": {"open": "07:00", "close": "12:00"},
        "round": {"days": 1, "deadline_h": 4.5},
        "defaults": {"tents": 1, "pooling": {"ratio": 10}},
        "points": [{"id": "a", "population": 300}, {"id": "b", "name": EVIL, "population": 450},
                   {"id": "c", "population": 200}],
        "arrivals": {"kind": "calling"},
        "chain": {"prevalence": 0.01,
                  "labs": [{"id": "lab-1", "name": EVIL, "instruments": 2, "tubes_per_run": 48, "run_min": 90}]},
    })


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    result = simsampling.run_scenario(scenario())
    folder = tmp_path_factory.mktemp("report") / "run"
    simsampling.write_results(result, folder, provenance={"executor": "dask"})
    return result, folder


# ------------------------------------------------------------------ a small DOM from html.parser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, Optional[str]], parent: Optional["Node"]):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def all(self, tag: str, **attrs: str) -> list["Node"]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and all(value in (child.attrs.get(k) or "").split() for k, value in attrs.items()):
                    found.append(child)
                found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str, **attrs: str) -> "Node":
        (node,) = self.all(tag, **attrs)
        return node


class Tree(HTMLParser):
    """The document as nested nodes; text is unescaped (convert_charrefs)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {}, None)
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def dom(text: str) -> Node:
    return Tree(text).root


def cells(row: Node) -> list[str]:
    return [" ".join(c.text().split()) for c in row.children if isinstance(c, Node) and c.tag in ("td", "th")]


def body_rows(table: Node) -> list[list[str]]:
    return [cells(row) for row in table.one("tbody").all("tr")]


def cli_rows(result) -> list[tuple[str, str, str]]:
    """(label, mean, CI) of the command line's summary table, as printed."""
    console = Console(file=io.StringIO(), width=300, color_system=None)
    console.print(_summary_table(result))
    rows = []
    for line in console.file.getvalue().splitlines():
        parts = [part.strip() for part in line.split("│")[1:-1]]
        if len(parts) == 3 and parts[0] != "KPI":
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def check_report_dom(root: Node, result, folder: Path) -> None:
    """What both the parsed file and Chromium's DOM must hold."""
    summary = result.summary
    assert not root.all("script"), "a <script> element: something was inserted unescaped"
    assert root.one("title").text() == "report <b>test</b> & co: sampling round simulated"
    # KPI table: the command line's summary table, row for row.
    kpis = body_rows(root.one("section", id="kpis").one("table"))
    assert [tuple(row[:3]) for row in kpis] == [(label, mean, ci.replace(" - ", " – ")) for label, mean, ci in cli_rows(result)]
    sampled = next(row for row in kpis if row[0] == "residents sampled (points and home)")
    assert sampled[1] == f"{summary['kpis']['sampled_total']['mean']:,.0f}" and sampled[3] == "2"
    # Sample chain KPIs.
    chain = root.one("section", id="chain")
    tubes = next(row for row in body_rows(chain.one("table")) if row[0] == "pooled tubes")
    assert tubes[1] == f"{summary['kpis']['chain']['tubes']['mean']:,.0f}"
    # Points, slowest first, the name as written.
    points = body_rows(root.one("table", **{"class": "points"}))
    assert [row[1] for row in points] == [p["id"] for p in sorted(summary["points"], key=lambda p: -p["kpis"]["finish_h"]["mean"])]
    assert next(row for row in points if row[1] == "b")[2] == " ".join(EVIL.split())
    # Every chart, once, as a data URI of the very PNG in charts/, with a caption.
    charts = sorted(p.name for p in (folder / "charts").glob("*.png"))
    images = root.all("img")
    assert sorted(img.attrs["data-file"] for img in images) == charts and len(charts) >= 8
    for img in images:
        src = img.attrs["src"]
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_SIGNATURE)
        assert data == (folder / "charts" / img.attrs["data-file"]).read_bytes()
        assert (int(img.attrs["width"]), int(img.attrs["height"])) == png_size(data)
    assert len(root.all("figcaption")) == len(images)
    # Scenario text, exactly; description; provenance.
    assert root.one("section", id="scenario").one("pre").text() == (folder / "scenario.yaml").read_text(encoding="utf-8")
    assert f"Planner's note: {EVIL}" in root.one("section", id="assumptions").text()
    assert "docs/defaults.md" in root.one("section", id="assumptions").text()
    provenance = dict(body_rows(root.one("table", **{"class": "provenance"})))
    assert provenance["executor"] == "dask"
    assert provenance["seed"] == "5" and provenance["replications"] == "2"
    assert provenance["simsampling version"] == simsampling.__version__
    assert provenance["self-check (Little's law)"].startswith("passed") and "generated" in provenance
    verdict = root.one("p", **{"class": "verdict"}).text()
    assert f"{summary['kpis']['sampled_by_deadline_share']['mean']:.1%} of the 950 residents sampled by the 4.5 h deadline (11:30)" in verdict


# ------------------------------------------------------------------ without a browser

def test_report_is_written_with_the_results(run):
    _, folder = run
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_report_structure_parsed(run):
    result, folder = run
    check_report_dom(dom((folder / "report.html").read_text(encoding="utf-8")), result, folder)


def test_scenario_text_is_escaped_everywhere(run):
    _, folder = run
    text = (folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in text and "alert(1)</script>" not in text and "<b>test</b>" not in text
    assert html.escape(EVIL) in text  # the point's name in the points table and the description
    assert "report &lt;b&gt;test&lt;/b&gt; &amp; co" in text


def test_report_is_self_contained(run):
    _, folder = run
    root = dom((folder / "report.html").read_text(encoding="utf-8"))
    policy = next(m for m in root.all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in policy.attrs["content"] and "script-src" not in policy.attrs["content"]
    for tag in ("link", "script", "iframe", "object", "embed"):
        assert not root.all(tag), tag
    assert all(img.attrs["src"].startswith("data:") for img in root.all("img"))
    assert all(a.attrs["href"].startswith("#") for a in root.all("a")), "only links within the page"


def test_many_points_show_the_slowest_and_fastest(run):
    result, _ = run
    rows = point_rows(result.summary, top=1)
    assert [row[1] for row in (rows[0], rows[2])] == [p["id"] for p in
                                                      sorted(result.summary["points"], key=lambda p: -p["kpis"]["finish_h"]["mean"])][::2]
    assert rows[1] == ["… 1 points in between not shown: points.csv lists every point …"]


def test_kpi_rows_follow_the_command_line(run):
    result, _ = run
    rows = summary_kpi_rows(result.summary, len(result.scenario.points))
    assert [row.label.strip() for row in rows] == [label for label, _, _ in cli_rows(result)]


# ------------------------------------------------------------------ in headless Chromium

def chromium(*args: str, folder: Path) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={folder / 'profile'}",
               f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=10000", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


PROBE = """<script>
window.addEventListener("load", () => {
  const rows = [...document.images].map(i => {
    const box = i.getBoundingClientRect();
    const canvas = document.createElement("canvas");
    canvas.width = i.naturalWidth;
    canvas.height = i.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(i, 0, 0);
    const px = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let dark = 0;
    for (let k = 0; k < px.length; k += 4) if (px[k] + px[k + 1] + px[k + 2] < 384) dark++;
    return [i.dataset.file, i.complete, i.naturalWidth, i.naturalHeight, Math.round(box.width), Math.round(box.height), dark].join(" ");
  });
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = rows.join("\\n");
  document.body.appendChild(out);
});
</script>"""
"""Test-only: on load (after every image), each <img>'s file, complete, natural size, laid-out size and the
pixels Chromium decoded that are dark (r + g + b < 384; a half-decoded PNG leaves black or transparent rows)."""


def dark_pixels(path: Path) -> int:
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return int(np.count_nonzero(np.asarray(image.convert("RGB"), dtype=int).sum(axis=2) < 384))


@needs_chromium
def test_chromium_builds_the_report(run, tmp_path):
    result, folder = run
    dumped = chromium("--dump-dom", (folder / "report.html").as_uri(), folder=tmp_path).stdout
    check_report_dom(dom(dumped), result, folder)


@needs_chromium
def test_chromium_decodes_and_lays_out_every_chart(run, tmp_path):
    _, folder = run
    text = (folder / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text).replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    dumped = dom(chromium("--dump-dom", probe.as_uri(), folder=tmp_path).stdout)
    lines = dumped.one("pre", id="probe").text().splitlines()
    charts = {p.name: png_size(p.read_bytes()) for p in (folder / "charts").glob("*.png")}
    assert sorted(line.split()[0] for line in lines) == sorted(charts)
    for line in lines:
        name, complete, width, height, shown_w, shown_h, dark = line.split()
        assert complete == "true" and (int(width), int(height)) == charts[name], line
        assert 0 < int(shown_w) <= WINDOW[0] and int(shown_h) > 0, line
        expected = dark_pixels(folder / "charts" / name)  # the same pixels as the PNG: all of it decoded
        assert expected > 0 and abs(int(dark) - expected) <= max(50, 0.01 * expected), (line, expected)


@needs_chromium
def test_chromium_paints_the_charts(run, tmp_path):
    from PIL import Image, ImageChops

    _, folder = run
    report = tmp_path / "report.png"
    chromium(f"--screenshot={report}", (folder / "report.html").as_uri(), folder=tmp_path)
    # The same page with every chart replaced by a white image of its size: same layout, no chart.
    white = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(white, format="PNG")
    blank_uri = "data:image/png;base64," + base64.b64encode(white.getvalue()).decode()
    blank = tmp_path / "blank.html"
    blank.write_text(re.sub(r'src="data:image/png;base64,[^"]+"', f'src="{blank_uri}"',
                            (folder / "report.html").read_text(encoding="utf-8")), encoding="utf-8")
    blank_shot = tmp_path / "blank.png"
    chromium(f"--screenshot={blank_shot}", blank.as_uri(), folder=tmp_path)

    data = report.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and png_size(data) == WINDOW
    with Image.open(report) as shot, Image.open(blank_shot) as empty:
        shot, empty = shot.convert("RGB"), empty.convert("RGB")
        assert shot.size == empty.size == WINDOW
        colours = shot.getcolors(maxcolors=1 << 20)
        assert colours is None or len(colours) > 200, "a blank or nearly blank screenshot"
        changed = ImageChops.difference(shot, empty).convert("L").point(lambda v: 255 if v > 32 else 0)
        painted = changed.histogram()[255]
        box = changed.getbbox()
    # Charts fill the lower part of the window (the tables come first): tens of thousands of pixels
    # of lines, bars, text and bands differ from the blank copy, and only where the figures are.
    assert painted > 20_000, f"only {painted} pixels differ: the charts were not painted"
    assert box is not None and box[1] > 300
