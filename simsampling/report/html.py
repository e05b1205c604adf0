"""report.html: one self-contained page a planner opens in a browser.

Charts are embedded as base64 PNG data URIs and the style sheet is inline, so the
file can be mailed or copied on its own; the page needs no network and has no
script (its Content-Security-Policy forbids both).

The building blocks (``page``, ``section``, ``paragraph``, ``table``, ``kpi_table``,
``figure``, ``code_block``, ``provenance_table``) return :class:`Markup`, HTML
that is safe to insert. Everything else handed to them (names, ids, descriptions,
YAML, numbers) is text and is escaped with :func:`html.escape`, its bidirectional
and other controls shown as escapes (text.py); only ``Markup`` goes in as it is. Later commands (compare, sweep, optimise) build their pages
from the same blocks; :func:`write_report_html` is the page of one run.

What the page holds is documented in docs/outputs.md (report.html); change both together.
"""

from __future__ import annotations

import base64
import html
import math
import platform
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from .. import __version__
from ..advice import RunAdvice, run_advice
from ..labels import counted
from ..stages import label as stage_label
from .text import inert

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

TOP_POINTS = 10
"""With more than twice this many points, the points table shows the slowest and the fastest this many."""

MAX_YAML_CHARS = 1_000_000
"""Longer resolved scenarios (a city) are shown up to the last whole line within this; scenario.yaml has all."""


class Markup(str):
    """HTML that is safe to insert as it is: built by the blocks below from escaped text."""


def esc(value: Any) -> Markup:
    """Text as HTML: ``Markup`` is kept, anything else is turned into text and escaped (quotes too), its
    direction controls and control characters shown as escapes (an override in a name cannot reverse the page)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else inert(value), quote=True))


def join(parts: Iterable[Any], separator: str = "\n") -> Markup:
    return Markup(separator.join(esc(part) for part in parts))


def tag(name: str, content: Any = "", **attributes: Any) -> Markup:
    """``<name attr="...">content</name>``; attribute values are escaped, ``class_`` is ``class``."""
    attrs = "".join(f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"'
                    for key, value in attributes.items() if value is not None)
    return Markup(f"<{name}{attrs}>{esc(content)}</{name}>")


# ------------------------------------------------------------------ building blocks

STYLE = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee5; --band: #f4f6f9; --accent: #1f5f99; --late: #b3261e; --ok: #1e7b34; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #ffffff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; line-height: 1.25; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p { margin: 8px 0; }
.subtitle { color: var(--muted); margin: 0 0 16px; }
.verdict { font-size: 17px; background: var(--band); border-left: 5px solid var(--accent); padding: 12px 16px; margin: 16px 0; }
.verdict.late { border-left-color: var(--late); }
.verdict.on-time { border-left-color: var(--ok); }
section.advice { background: #fff8ec; border-left: 5px solid #e76f51; padding: 4px 16px 8px; margin: 16px 0; }
section.advice h2 { border-bottom: none; margin: 10px 0 4px; font-size: 18px; }
section.advice li { margin: 4px 0; }
.note { color: var(--muted); font-size: 13.5px; }
.text { white-space: pre-wrap; }
nav.contents { font-size: 14px; color: var(--muted); }
nav.contents a { color: var(--accent); margin-right: 14px; white-space: nowrap; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 14px; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: 13.5px; padding-bottom: 4px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; text-align: left; }
thead th { border-bottom: 2px solid #aab4c0; background: var(--band); white-space: normal; vertical-align: bottom; }
div.table { max-width: 100%; overflow-x: auto; }
table.points { font-size: 13px; }
table.points th, table.points td { padding: 4px 6px; }
table.points td:nth-child(2) { white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.gap td { text-align: center; color: var(--muted); font-style: italic; background: #ffffff; }
tr.sub > :first-child { padding-left: 26px; }
tbody th { font-weight: normal; }
.provenance th { color: var(--muted); font-weight: 600; white-space: nowrap; }
figure { margin: 18px 0 26px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 13.5px; margin-top: 6px; }
pre { background: var(--band); border: 1px solid var(--line); padding: 10px 12px; overflow-x: auto; font: 12.5px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
details summary { cursor: pointer; color: var(--accent); margin: 6px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
@media print { main { max-width: none; padding: 0; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
""".strip()

POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
"""No network, no script: only inline style and data: images."""


def page(title: str, sections: Sequence[Any], subtitle: Any = None, contents: Sequence[tuple[str, str]] = (),
         footer: Any = None) -> Markup:
    """A whole HTML document: ``title`` (text) as <title> and <h1>, then the ``sections`` (Markup) in order.

    ``contents`` is a list of (anchor id, label) for a small table of contents under the title.
    """
    nav = ""
    if contents:
        nav = tag("nav", join((tag("a", label, href=f"#{anchor}") for anchor, label in contents), " "), class_="contents")
    head = join([
        Markup('<meta charset="utf-8">'),
        Markup('<meta name="viewport" content="width=device-width, initial-scale=1">'),
        Markup(f'<meta http-equiv="Content-Security-Policy" content="{esc(POLICY)}">'),
        Markup(f'<meta name="generator" content="simsampling {esc(__version__)}">'),
        tag("title", title),
        Markup(f"<style>\n{STYLE}\n</style>"),
    ])
    body = join([
        tag("h1", title),
        tag("p", subtitle, class_="subtitle") if subtitle else "",
        Markup(nav),
        *sections,
        tag("footer", footer) if footer else "",
    ])
    return Markup(f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{head}\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n')


def section(heading: str, *body: Any, id: Optional[str] = None, level: int = 2) -> Markup:
    """A titled part of the page; ``id`` is its anchor for the table of contents."""
    return tag("section", join([tag(f"h{level}", heading), *body]), id=id)


def paragraph(text: Any, class_: Optional[str] = None) -> Markup:
    return tag("p", text, class_=class_)


def table(header: Optional[Sequence[Any]], rows: Iterable[Sequence[Any]], numeric: Iterable[int] = (),
          caption: Any = None, class_: Optional[str] = None, row_headers: bool = False) -> Markup:
    """A table; ``numeric`` lists the column indexes aligned right; ``header`` None for a table without one.

    A :class:`Row` may carry a class; a row of a single cell (a note between rows, e.g. "... more points")
    spans every column. With ``row_headers`` the first cell of each row is its header (<th scope="row">).
    """
    numeric = set(numeric)
    rows = [row if isinstance(row, Row) else Row(list(row)) for row in rows]
    width = len(header) if header is not None else max((len(row.cells) for row in rows), default=1)

    def cell(index: int, value: Any, head: bool = False) -> Markup:
        return tag("th" if head else "td", value, class_="num" if index in numeric else None,
                   scope="row" if head else None)

    parts = [tag("caption", caption) if caption else ""]
    if header is not None:
        parts.append(tag("thead", tag("tr", join(tag("th", h, class_="num" if i in numeric else None, scope="col")
                                                 for i, h in enumerate(header)))))
    body = []
    for row in rows:
        cells = list(row.cells)
        if len(cells) == 1 and width > 1:
            body.append(tag("tr", tag("td", cells[0], colspan=width), class_=row.class_ or "gap"))
        else:
            body.append(tag("tr", join(cell(i, v, row_headers and i == 0) for i, v in enumerate(cells)),
                            class_=row.class_))
    parts.append(tag("tbody", join(body)))
    return tag("div", tag("table", join(parts), class_=class_), class_="table")  # the div scrolls a wide table


@dataclass(frozen=True)
class Row:
    """A table row with a class (``sub``: indented under the row above)."""

    cells: Sequence[Any]
    class_: Optional[str] = None


@dataclass(frozen=True)
class KpiRow:
    """One line of a KPI table: a label, a summary.json leaf ``{"mean", "ci95", "n"}`` and a format."""

    label: str
    leaf: Mapping[str, Any]
    fmt: str = "{:,.1f}"

    @property
    def mean(self) -> str:
        return formatted(self.leaf.get("mean"), self.fmt)

    @property
    def ci95(self) -> str:
        """The interval as shown: every KPI of these tables is a count, share, time or utilisation, so a
        t-interval reaching below zero (few replications of a rare event) is cut at zero, as docs/outputs.md says;
        summary.json keeps the interval as computed."""
        ci = self.leaf.get("ci95")
        if not ci:
            return ""
        low = ci[0] if ci[0] is None or not math.isfinite(ci[0]) else max(ci[0], 0.0)
        return f"{formatted(low, self.fmt)} – {formatted(ci[1], self.fmt)}"


def formatted(value: Any, fmt: str = "{:,.1f}") -> str:
    """A number in ``fmt``; "n/a" for a missing or non-finite one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return fmt.format(value)


def kpi_table(rows: Sequence[KpiRow], caption: Any = None) -> Markup:
    """KPIs as mean, 95% confidence interval and replications (n). A label starting with spaces is a sub-row."""
    body = [Row([row.label.strip(), row.mean, row.ci95, formatted(row.leaf.get("n"), "{:d}")],
                "sub" if row.label.startswith(" ") else None) for row in rows]
    return table(["KPI", "mean", "95% CI", "n"], body, numeric=(1, 2, 3), caption=caption, class_="kpis",
                 row_headers=True)


def png_data_uri(png: Union[bytes, Path]) -> str:
    """``data:image/png;base64,...`` of a PNG file or its bytes; refuses anything that is not a PNG."""
    data = png.read_bytes() if isinstance(png, Path) else png
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG image")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def figure(png_path: Union[str, Path], caption: Any, alt: Optional[str] = None, id: Optional[str] = None) -> Markup:
    """A chart embedded in the page (base64 data URI) with its caption; the file name is shown in the caption."""
    path = Path(png_path)
    data = path.read_bytes()
    width, height = png_size(data)
    image = Markup(f'<img src="{png_data_uri(data)}" width="{width}" height="{height}" '
                   f'alt="{esc(alt or caption)}" data-file="{esc(path.name)}">')
    return tag("figure", join([image, tag("figcaption", join([tag("code", path.name), esc(": "), esc(caption)], ""))]),
               id=id)


def code_block(text: str, summary: Optional[str] = None, open: bool = False) -> Markup:
    """Text shown exactly as it is (escaped, in <pre>); with ``summary``, folded under a <details> line."""
    block = tag("pre", tag("code", text))
    if summary is None:
        return block
    return Markup(f"<details{' open' if open else ''}>{tag('summary', summary)}{block}</details>")


def provenance_table(provenance: Mapping[str, Any], caption: Any = None) -> Markup:
    """Key / value pairs (where the figures come from: version, seed, executor...), values as text."""
    return table(None, ([key, value] for key, value in provenance.items()), caption=caption, class_="provenance",
                 row_headers=True)


# ------------------------------------------------------------------ the page of one run

def summary_kpi_rows(summary: Mapping[str, Any], points: int, waiting_area: bool = False) -> list[KpiRow]:
    """The run's KPIs as in the command line's summary table (cli.py), in the same order and format.

    ``points`` is the number of points of the scenario, ``waiting_area`` whether any point has one.
    """
    kpis = summary["kpis"]
    deadline = summary["round"]["deadline_h"]
    rows = [KpiRow("residents sampled (points and home)", kpis["sampled_total"], "{:,.0f}")]
    if kpis["home_residents"]["mean"]:
        rows.append(KpiRow("  of whom sampled at home", kpis["home_sampled"], "{:,.0f}"))
    unserved = kpis["unserved"]["mean"], kpis["home_unserved"]["mean"]
    total = None if None in unserved else unserved[0] + unserved[1]
    rows.append(KpiRow("unserved (turned away, left, or never visited)",
                       {**kpis["unserved"], "mean": total, "ci95": None}, "{:,.0f}"))
    for key, label in (("balked", "  left on seeing the line"), ("reneged", "  left the line, out of patience"),
                       ("diverted", "  sent to a side stage (isolation...), not swabbed")):
        if kpis[key]["mean"]:
            rows.append(KpiRow(label, kpis[key], "{:,.0f}"))
    if kpis["not_called"]["mean"]:
        why = {"never called": "calling plan too long", "never walked in": "walk-ins fewer than the roster"}
        words = not_called_words(summary)
        rows.append(KpiRow(f"{words} ({why.get(words, 'see not_called in docs/outputs.md')})", kpis["not_called"],
                           "{:,.0f}"))
    rows.append(KpiRow(f"last sample (h from opening; deadline {deadline:g} h)", kpis["finish_h"], "{:,.2f}"))
    rows.append(KpiRow("sampled by the deadline", kpis["sampled_by_deadline_share"], "{:.1%}"))
    if points > 1:
        rows.append(KpiRow("points finished by the deadline", kpis["points_finished_by_deadline_share"], "{:.1%}"))
    rows.append(KpiRow("overtime (min after the last closing)", kpis["overtime_min"]))
    rows.append(KpiRow("throughput per station-hour", kpis["throughput_per_station_hour"]))
    rows.append(KpiRow("staff-hours", kpis["staff_hours"], "{:,.0f}"))
    rows.append(KpiRow("residents per sampler-hour", kpis["residents_per_sampler_hour"]))
    if kpis["stations_closed_min"]["mean"]:
        rows.append(KpiRow("station-minutes closed for lack of staff", kpis["stations_closed_min"], "{:,.0f}"))
    if waiting_area:
        rows.append(KpiRow("person-minutes waiting outside the marked area", kpis["waiting_over_capacity_person_min"],
                           "{:,.0f}"))
    rows.append(KpiRow("time in system p90 (min)", kpis["time_in_system_min"]["p90"]))
    for stage, utilization in kpis["utilization"].items():
        rows.append(KpiRow(f"{stage_label(stage)}: wait p90 (min)", kpis["wait_min"][stage]["p90"]))
        rows.append(KpiRow(f"{stage_label(stage)}: utilisation", utilization, "{:.0%}"))
    for stage, peak in kpis["occupancy_max"].items():
        rows.append(KpiRow(f"{stage_label(stage)}: most people there at once", peak, "{:,.0f}"))
    return rows


def chain_kpi_rows(chain: Mapping[str, Any], freshness_limit_h: Optional[float] = None) -> list[KpiRow]:
    """The sample chain's KPIs (``kpis.chain`` of summary.json) for a planner."""
    limit = f" (over {freshness_limit_h:g} h)" if freshness_limit_h is not None else ""
    return [
        KpiRow("pooled tubes", chain["tubes"], "{:,.0f}"),
        KpiRow("  without a result (no laboratory shift left)", chain["tubes_without_result"], "{:,.0f}"),
        KpiRow("courier trips", chain["courier_trips"], "{:,.0f}"),
        KpiRow("  tubes per trip", chain["tubes_per_trip"]),
        KpiRow("specimen age on arrival at the laboratory, median (h)", chain["specimen_age_h"]["p50"], "{:,.2f}"),
        KpiRow("specimen age on arrival at the laboratory, p90 (h)", chain["specimen_age_h"]["p90"], "{:,.2f}"),
        KpiRow(f"tubes too old on arrival{limit}", chain["specimens_over_limit"], "{:,.0f}"),
        KpiRow("swab to result, median (h)", chain["swab_to_result_h"]["p50"], "{:,.2f}"),
        KpiRow("swab to result, p90 (h)", chain["swab_to_result_h"]["p90"], "{:,.2f}"),
        KpiRow("residents with their result by the deadline", chain["results_by_deadline_share"], "{:.1%}"),
        KpiRow("last result, recalls included (h from opening)", chain["last_result_h"], "{:,.2f}"),
        KpiRow("laboratory utilisation", chain["lab_utilization"], "{:.0%}"),
        KpiRow("infected residents swabbed at the points", chain["infected"], "{:,.1f}"),
        KpiRow("positive pools", chain["positive_pools"], "{:,.1f}"),
        KpiRow("residents recalled for a single swab", chain["recalls"], "{:,.1f}"),
        KpiRow("swab to identification of an infected resident, p90 (h)", chain["identification_h"]["p90"], "{:,.2f}"),
    ]


POINT_HEADER = ["rank", "point", "name", "residents", "stations", "last sample (h)", "95% CI",
                "sampled by the deadline", "finished by the deadline", "total wait p90 (min)", "most waiting at once",
                "swab utilisation", "limited by", "act on (rank)"]
"""The columns of the points table: the main ones of points.csv."""


def points_ranked(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The points slowest first, as in points.csv."""
    return sorted(summary["points"], key=lambda p: -(p["kpis"]["finish_h"]["mean"] or 0.0))


def point_rows(summary: Mapping[str, Any], top: int = TOP_POINTS) -> list[Any]:
    """Rows of the points table, slowest first; with more than ``2 * top`` points, the slowest and fastest ``top``."""
    ranked = list(enumerate(points_ranked(summary), start=1))
    if len(ranked) > 2 * top:
        hidden = len(ranked) - 2 * top
        shown: list[Any] = ranked[:top] + [None] + ranked[-top:]
    else:
        hidden, shown = 0, ranked
    advice = {entry["id"]: entry for entry in summary.get("advice", {}).get("points", [])}
    rows: list[Any] = []
    for entry in shown:
        if entry is None:
            rows.append([f"… {hidden:,} points in between not shown: points.csv lists every point …"])
            continue
        rank, point = entry
        kpis = point["kpis"]
        finish = KpiRow("", kpis["finish_h"], "{:,.2f}")
        rows.append([
            rank, point["id"], point["name"], f"{point['population']:,}", point["stations"], finish.mean, finish.ci95,
            formatted(kpis["sampled_by_deadline_share"]["mean"], "{:.1%}"),
            formatted(kpis["points_finished_by_deadline_share"]["mean"], "{:.0%}"),
            formatted(kpis["wait_min"]["total"]["p90"]["mean"]) if "total" in kpis["wait_min"] else "n/a",
            formatted(kpis["queue_max"]["total"]["mean"], "{:,.0f}") if "total" in kpis["queue_max"] else "n/a",
            formatted(kpis["utilization"]["swab"]["mean"], "{:.0%}") if "swab" in kpis["utilization"] else "n/a",
            advice.get(point["id"], {}).get("limited_by", "n/a"), advice.get(point["id"], {}).get("rank", "n/a"),
        ])
    return rows


CHART_CAPTIONS = {
    "cumulative.png": "Residents sampled over the round (mean, with the range across replications) against "
                      "residents arrived and the population, with the openings, closings and the deadline.",
    "throughput.png": "Residents sampled per clock hour (mean, 95% CI) against the stations' nominal swab capacity.",
    "queues.png": "People in line at each stage over the round (mean and range across replications).",
    "waits.png": "How long residents waited before each stage, over all replications, with the median (p50) and p90.",
    "utilization.png": "Share of the staffed time each stage's servers spent serving (mean, 95% CI).",
    "rota.png": "One point's sampling stations in the first replication: serving, idle, closed for lack of staff "
                "(another point of a district: simsampling run ... --rota-point ID).",
    "points_finish.png": "Points ranked by the time of their last sample (mean, 95% CI), against the deadline; when "
                         "every point's finish is set by its calling plan, the points to act on first by p90 wait.",
    "queue_heatmap.png": "People waiting at each point over time; points ranked by what to act on (time past the "
                         "deadline, line over the waiting space, p90 wait), the first at the top.",
    "slowest_points.png": "The lines at each stage of the points to act on first.",
    "results.png": "Residents with the result of their pool over time, against residents sampled.",
    "lab_backlog.png": "Tubes waiting at the laboratories over time; below, the first replication's runs.",
    "specimen_age.png": "Age of the specimens on arrival at the laboratory (first replication), against the "
                        "freshness limit.",
}
"""A caption for each chart of charts.py; docs/outputs.md (Charts) says more."""


def chart_caption(path: Path) -> str:
    return CHART_CAPTIONS.get(path.name, path.stem.replace("_", " "))


def clock_after_opening(summary: Mapping[str, Any], hours: float) -> str:
    """The clock ``hours`` after the first opening: "23:00" on day 0, "+1d 02:00" later (as on the charts)."""
    open_h, open_m = (int(part) for part in summary["clock"]["open"].split(":"))
    day, minute = divmod(int(math.floor((open_h * 60 + open_m) + hours * 60 + 1e-6)), 24 * 60)
    text = f"{minute // 60:02d}:{minute % 60:02d}"
    return text if day == 0 else f"+{day}d {text}"


def verdict(summary: Mapping[str, Any]) -> tuple[str, Optional[bool]]:
    """One paragraph for a planner, and whether the round finished by the deadline (None if unknown).

    The round finishes by the deadline when its last sample comes by then and every point sampled
    everyone it was to sample (nobody left uncalled, unvisited or, for walk-ins, never walked in).
    """
    kpis = summary["kpis"]
    deadline = summary["round"]["deadline_h"]
    share, finish = kpis["sampled_by_deadline_share"]["mean"], kpis["finish_h"]["mean"]
    population = kpis["population"]["mean"]
    sentences = []
    head = (f"{formatted(share, '{:.1%}')} of the {formatted(population, '{:,.0f}')} residents sampled by the "
            f"{deadline:g} h deadline ({clock_after_opening(summary, deadline)})")
    if finish is not None:
        ci = KpiRow("", kpis["finish_h"], "{:.1f}").ci95
        head += (f"; last sample {finish:.1f} h after opening ({clock_after_opening(summary, finish)}"
                 f"{'; 95% CI ' + ci + ' h' if ci else ''})")
    sentences.append(head + ".")
    not_called = kpis["not_called"]["mean"] or 0
    unreached = not_called + (kpis["home_unserved"]["mean"] or 0)
    words = not_called_words(summary)
    everyone = (kpis["points_finished_by_deadline_share"]["mean"] or 0) >= 1 - 1e-9
    on_time = None if finish is None else finish <= deadline + 1e-9 and everyone
    unvisited = kpis["home_unserved"]["mean"] or 0
    reasons = ([f"{'' if words == 'never walked in' else 'were '}{words}"] if not_called >= 0.5 else []) + (
        ["were left unvisited at home"] if unvisited >= 0.5 else [])
    missing = (f"{unreached:,.0f} residents ({unreached / population:.0%} of the roster) {' or '.join(reasons)}"
               if unreached >= 0.5 and population else "")
    if finish is not None and finish > deadline + 1e-9:
        sentences.append(f"The last sample comes {_duration(finish - deadline)} after the deadline"
                         + (f", and {missing}." if missing else "."))
    elif on_time:
        sentences.append("The round finishes by the deadline.")
    elif finish is not None:
        sentences.append("Sampling ends by the deadline, but the round does not finish"
                         + (f": {missing}." if missing else ": not every point sampled everyone due by then."))
    points = len(summary["points"])
    finished = kpis["points_finished_by_deadline_share"]["mean"]
    if points > 1 and finished is not None:
        sentences.append(f"On average {finished * points:,.0f} of the {points:,} points ({finished:.1%}) finish by "
                         "the deadline.")
    unserved = (kpis["unserved"]["mean"] or 0) + (kpis["home_unserved"]["mean"] or 0)
    if unserved >= 0.5:
        sentences.append(f"About {unserved:,.0f} residents who came or were due a home visit were not sampled.")
    no_show = kpis["no_show"]["mean"] or 0
    absent = 0 if missing and finish is not None else not_called  # said above with the finish
    if no_show + absent >= 0.5:
        parts = ([f"{no_show:,.0f} called but did not come"] if no_show >= 0.5 else []) + (
            [f"{absent:,.0f} {words}"] if absent >= 0.5 else [])
        sentences.append(f"About {no_show + absent:,.0f} residents never came ({' and '.join(parts)}).")
    if "total" in kpis["wait_min"] and kpis["wait_min"]["total"]["p90"]["mean"] is not None:
        sentences.append(f"Nine in ten residents sampled at a point waited under "
                         f"{kpis['wait_min']['total']['p90']['mean']:.0f} min in all.")
    chain = kpis.get("chain")
    if chain:
        results, last = chain["results_by_deadline_share"]["mean"], chain["last_result_h"]["mean"]
        if results is not None:
            sentences.append(f"{results:.1%} of the residents swabbed have their result by the deadline"
                             + (f"; the last result comes {last:.1f} h after opening." if last is not None else "."))
    replications = summary["replications"]
    sentences.append(f"Figures are means over {replications} replication{'s' if replications != 1 else ''} "
                     f"(seed {summary['seed']}).")
    return " ".join(sentences), on_time


def _duration(hours: float) -> str:
    """"1.5 h", or "12 min" under an hour."""
    return f"{hours:.1f} h" if hours >= 1 else f"{hours * 60:.0f} min"


def not_called_words(summary: Mapping[str, Any]) -> str:
    """What ``not_called`` means for the run's arrival plans: residents never called, never walked in, or both."""
    plans = {entry["evidence"]["plan"] for entry in summary.get("advice", {}).get("points", [])}
    if plans == {"walk_in"}:
        return "never walked in"
    return "never called or never walked in" if "walk_in" in plans else "never called"


def _engine_text(engine: Any) -> str:
    """summary.json's engine record in words: which engine ran how many points, and why."""
    if not isinstance(engine, Mapping):
        return str(engine)
    text = f"{engine.get('asked', '')} (fast for {engine.get('fast_points', 0)} point(s), simpy for {engine.get('simpy_points', 0)}"
    reasons = engine.get("reasons") or {}
    if reasons:
        text += ": " + "; ".join(f"{reason} ({count})" for reason, count in reasons.items())
    return text + ")"


def run_provenance(summary: Mapping[str, Any], extra: Optional[Mapping[str, Any]] = None,
                   generated: Optional[datetime] = None) -> dict[str, str]:
    """Where the figures come from, as recorded in summary.json, then ``extra`` (added or overriding,
    e.g. ``{"executor": "dask"}``), then when the page was generated."""
    rows: dict[str, str] = {
        "scenario": str(summary.get("scenario", "")),
        "simsampling version": str(summary.get("simsampling_version", __version__)),
        "engine": _engine_text(summary.get("engine", "")),
        "seed": str(summary.get("seed", "")),
        "replications": str(summary.get("replications", "")),
    }
    if "executor" in summary:
        rows["executor"] = str(summary["executor"])
    if "jobs" in summary:
        rows["jobs (worker processes)"] = str(summary["jobs"])
    if "elapsed_s" in summary:
        rows["run time"] = f"{summary['elapsed_s']:,.1f} s"
    for key, value in (extra or {}).items():  # a key already there keeps its place
        rows[str(key)] = str(value)
    little = summary.get("checks", {}).get("littles_law")
    if little:
        gap = little.get("max_relative_gap")
        rows["self-check (Little's law)"] = (("passed" if little.get("passed") else "FAILED")
                                             + (f": largest gap {gap:.1e}, tolerance {little.get('tolerance')}"
                                                if gap is not None else ""))
    rows["summary.json schema"] = str(summary.get("schema_version", ""))
    rows["Python"] = platform.python_version()
    rows["generated"] = (generated or datetime.now().astimezone()).isoformat(sep=" ", timespec="seconds")
    return {key: value for key, value in rows.items() if value != ""}


def yaml_excerpt(text: str, limit: int = MAX_YAML_CHARS) -> tuple[str, bool]:
    """The text, or its first whole lines within ``limit`` characters; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text.rfind("\n", 0, limit)
    return text[: cut + 1 if cut >= 0 else limit], True


def yaml_file_block(path: Path, summary: str) -> Markup:
    """A scenario file written into a results folder, folded under ``summary``: its first lines when it is long
    (a page never holds a city's scenario whole)."""
    text = Path(path).read_text(encoding="utf-8")
    shown_text, cut = yaml_excerpt(text)
    more = f" (its first {shown_text.count(chr(10)):,} of {text.count(chr(10)):,} lines)" if cut else ""
    return code_block(shown_text, summary=summary + more)


def render_run_report(result, folder: Path, charts: Optional[Sequence[Path]] = None,
                      provenance: Optional[Mapping[str, Any]] = None,
                      generated: Optional[datetime] = None, sections: Sequence[tuple[str, str, Markup]] = (),
                      advice: Optional[RunAdvice] = None) -> str:
    """The HTML of one run's page, from ``result.summary``, its ``advice`` and the files already in ``folder``.

    ``charts`` are the PNGs to embed in that order (default: every PNG in ``folder/charts``, in the
    order of docs/outputs.md); ``provenance`` adds rows (e.g. ``{"executor": "dask"}``); ``sections``
    (anchor, label, HTML) follow the key figures; ``advice`` is the run's diagnosis (made here when
    not given).
    """
    from .scenario_yaml import scenario_text  # the YAML as written, when scenario.yaml is not there

    more = sections
    advice = advice if advice is not None else run_advice(result)
    summary = advice.summary(result)
    scenario = result.scenario
    folder = Path(folder)
    if charts is None:
        order = list(CHART_CAPTIONS)
        found = sorted((folder / "charts").glob("*.png"), key=lambda p: (order.index(p.name) if p.name in order
                                                                          else len(order), p.name))
        charts = found
    kpis = summary["kpis"]
    points = len(scenario.points)
    population = sum(point.population for point in scenario.points)
    stations = sum(point.stations for point in scenario.points)
    days = summary["round"]["days"]
    subtitle = (f"{points:,} sampling point{'s' if points != 1 else ''}, {population:,} residents, "
                f"{stations:,} stations; {days} day{'s' if days != 1 else ''}, opening {summary['clock']['open']}"
                f"-{summary['clock']['close']}; {counted(summary['replications'], 'replication')}, seed {summary['seed']}")

    text, on_time = verdict(summary)
    sections = [tag("p", text, class_="verdict " + {True: "on-time", False: "late", None: ""}[on_time]),
                advice_block(advice)]
    contents = [("what-to-do", "What to do"), ("kpis", "Key figures")]

    waiting_area = any(point.waiting_area is not None for point in scenario.points)
    sections.append(section(
        "Key figures", kpi_table(summary_kpi_rows(summary, points, waiting_area)),
        paragraph("Means over the replications, with the 95% confidence interval of the mean (empty with one "
                  "replication) and the replications it rests on (n). Hours count from the first opening "
                  f"({summary['clock']['open']} on day 0). kpis.csv and summary.json hold every KPI, for the run "
                  "and for each point.", class_="note"),
        id="kpis"))
    for anchor, label, markup in more:
        sections.append(markup)
        contents.append((anchor, label))

    if "chain" in kpis:
        limit = scenario.chain.freshness_limit_h if scenario.chain is not None else None
        sections.append(section(
            "Sample chain: tubes, couriers, laboratories", kpi_table(chain_kpi_rows(kpis["chain"], limit)),
            paragraph("Pooled tubes followed from the sampling stations to the laboratories and their results; "
                      "chain.csv and labs.csv give the detail.", class_="note"),
            id="chain"))
        contents.append(("chain", "Sample chain"))

    if points > 1:
        shown = "every point" if points <= 2 * TOP_POINTS else (
            f"the {TOP_POINTS} slowest and the {TOP_POINTS} fastest of {points:,} points")
        sections.append(section(
            "Points, slowest first",
            table(POINT_HEADER, point_rows(summary), numeric=(0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13),
                  caption=f"{shown[0].upper()}{shown[1:]}, ranked by the time of their last sample (means over "
                          "replications). points.csv has every point.", class_="points"),
            paragraph("\"Finished by the deadline\" is the share of replications in which the point sampled everyone "
                      "due by the deadline. \"Limited by\" says what sets the point's finish (capacity, its arrival "
                      "plan or the opening hours); \"act on\" ranks the points by what a planner must act on first "
                      "(time past the deadline, line over the waiting space, p90 wait).", class_="note"),
            id="points"))
        contents.append(("points", "Points"))

    if charts:
        sections.append(section("Charts", *(figure(path, chart_caption(path), id=f"chart-{path.stem}")
                                            for path in charts), id="charts"))
        contents.append(("charts", "Charts"))

    assumptions = [paragraph(scenario.description, class_="text") if scenario.description.strip()
                   else paragraph("The scenario has no description.", class_="note"),
                   paragraph("Whatever the scenario file leaves out takes a default value. Every real-world default "
                             "(service times, show-up rates, staff breaks, laboratory runs...), where its figure comes "
                             "from and how sure we are of it is listed in docs/defaults.md of the simsampling "
                             "documentation. A default is a starting point, not a finding: replace it with your own "
                             "field observations when you have them.")]
    sections.append(section("Assumptions", *assumptions, id="assumptions"))
    contents.append(("assumptions", "Assumptions"))

    yaml_file = folder / "scenario.yaml"
    yaml_text = yaml_file.read_text(encoding="utf-8") if yaml_file.exists() else scenario_text(scenario)
    shown_text, cut = yaml_excerpt(yaml_text)
    lines = yaml_text.count("\n")
    note = ("The scenario as it was run, every default written out (scenario.yaml in this folder); rerun it with "
            "simsampling run to repeat the run.")
    if cut:
        note += f" Only its first {shown_text.count(chr(10)):,} of {lines:,} lines are shown here."
    sections.append(section("Scenario", paragraph(note, class_="note"),
                            code_block(shown_text, summary=f"scenario.yaml ({lines:,} lines)", open=lines <= 200),
                            id="scenario"))
    contents.append(("scenario", "Scenario"))

    sections.append(section("Provenance", provenance_table(run_provenance(summary, provenance, generated)),
                            id="provenance"))
    contents.append(("provenance", "Provenance"))

    footer = (f"Written by simsampling {__version__}. This page is self-contained: charts are embedded, nothing is "
              "loaded from the network. The numbers are in summary.json, kpis.csv and points.csv beside it.")
    return page(f"{scenario.name}: sampling round simulated", sections, subtitle=subtitle, contents=contents,
                footer=footer)


def write_report_html(result, folder: Union[str, Path], charts: Optional[Sequence[Path]] = None,
                      provenance: Optional[Mapping[str, Any]] = None, generated: Optional[datetime] = None,
                      sections: Sequence[tuple[str, str, Markup]] = (), advice: Optional[RunAdvice] = None) -> Path:
    """Write ``folder/report.html`` for a run whose summary, scenario.yaml and charts are already in ``folder``."""
    folder = Path(folder)
    target = folder / "report.html"
    target.write_text(render_run_report(result, folder, charts, provenance, generated, sections, advice),
                      encoding="utf-8")
    return target


def advice_block(advice: RunAdvice) -> Markup:
    """What limits the round and what to do: the advice's sentences, as a list under a heading."""
    items = join(tag("li", sentence) for sentence in advice.sentences)
    note = paragraph(f"From this run's own figures; the p90 wait target is {advice.target_min:g} min "
                     "(simsampling run --max-p90-wait). The changes proposed are measured, each with its paired "
                     "95% CI, by simsampling advise or run --advise (\"What to change\"). summary.json holds the "
                     "numbers (advice), docs/experiments.md says how to read them and their limits.", class_="note")
    return tag("section", join([tag("h2", "What limits the round, and what to do"), tag("ul", items), note]),
               id="what-to-do", class_="advice")
