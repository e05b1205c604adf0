"""The picture of a point: where the entrance, each line, each server, the tents and the exit go.

A display list of plain shapes (rectangles, texts, numbers that change per frame,
stations whose state changes) and a list of places where a resident can stand, each
group of places (a line, a lane, a server, the exit) with its capacity. The HTML
player (player.js) and the raster writer draw the same list.

Left to right, in walking order: the entrance (and beside it those who gave up or
were turned away), then per stage its shared line and its servers, the tents with
their sampling stations (registrars paired with a station stand at it, lines per
station in front of it), and the exit. Lines are serpentines of places one metre
apart; the point's waiting area is drawn to its capacity around its longest line.
Side stages (an isolation tent reached by a ``divert``) are drawn in a band below,
each under the stage that sends residents to it and joined to it by a dashed line,
with its line, its servers and those who left from it (diverted, unswabbed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

WIDTH, HEIGHT = 1280, 720
TOP, BOTTOM = 118, 650
"""The picture's band, between the header (clock, counts) and the legend."""
ENTRANCE_W, EXIT_W, SERVER_W = 118, 118, 90
SIDE_H, SIDE_LINE_W, SIDE_BOX = 150, 130, 18
"""The band of side stages below the main flow (when a point has any), the width of a side line, a side server's box."""
LINE_MIN_W, TENTS_MIN_W = 150, 200
ZONE_COLUMNS, ZONE_SPACING = 10, 9.0
MAX_DRAWN = 5000
"""Residents drawn at most in one frame: longer lines are drawn up to their places and counted."""
MAIN_LINE_MAX, LINE_MAX, LANE_MAX, ZONE_MAX, SIDE_LINE_MAX = 1500, 400, 40, 60, 90
"""Places drawn at most: the longest line, another line, a line per station, a group leaving, a side stage's line."""

COLOURS = {"qr": "#3a7ebf", "manual": "#e9a23b", "priority": "#2a9d40", "gave_up": "#c1121f", "turned": "#8d99ae",
           "tape": "#f4a261", "beyond": "#fde2e4", "tent": "#f1f7f6", "ink": "#1d3557", "faint": "#8d99ae",
           "closed_break": "#f4a261", "closed_off_duty": "#b8bec6", "sealing": "#9bd4cc", "disinfection": "#9bd4cc",
           "green": "#2a9d40", "box": "#ffffff", "edge": "#5c6470", "diverted": "#7b2cbf"}
PLAIN, HELD, GAVE_UP, TURNED, DIVERTED = 0, 1, 2, 3, 4
"""Kinds of place: a dot in the resident's colour, the same with a ring (keeping a desk while waiting for its
station), a resident who gave up, one turned away, one who left from a side stage (diverted)."""


@dataclass
class Layout:
    """Shapes to draw, places to stand, and which places belong to which group (first place, capacity)."""

    width: int = WIDTH
    height: int = HEIGHT
    shapes: list[dict[str, Any]] = field(default_factory=list)
    places: list[tuple[float, float]] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    groups: dict[tuple, tuple[int, int]] = field(default_factory=dict)
    more: dict[tuple, tuple[float, float, str]] = field(default_factory=dict)
    """Where a group writes "+N" for residents beyond its places (x, y, alignment)."""
    dot: float = 3.5

    def add_group(self, key: tuple, points: list[tuple[float, float]], kind: int = PLAIN) -> None:
        self.groups[key] = (len(self.places), len(points))
        self.places.extend((round(x, 1), round(y, 1)) for x, y in points)
        self.kinds.extend([kind] * len(points))

    def rect(self, x, y, w, h, fill=None, stroke=None, dash=False, **extra) -> None:
        self.shapes.append({"t": "rect", "x": round(x, 1), "y": round(y, 1), "w": round(w, 1), "h": round(h, 1),
                            "fill": fill, "stroke": stroke, "dash": dash, **extra})

    def text(self, x, y, text, size=12, colour=None, align="left", bold=False, value=None) -> None:
        """A text; with ``value`` (a count's name) the text is a template whose ``{}`` is that count in each frame."""
        self.shapes.append({"t": "text", "x": round(x, 1), "y": round(y, 1), "s": text, "size": size,
                            "colour": colour or COLOURS["ink"], "align": align, "bold": bold, "value": value})


def serpentine(left: float, top: float, width: float, count: int, spacing: float) -> list[tuple[float, float]]:
    """``count`` places one ``spacing`` apart in rows across ``width``, the front at the top right, snaking back."""
    columns = max(1, int(width // spacing))
    points = []
    for p in range(count):
        row, col = divmod(p, columns)
        x = left + width - spacing / 2 - col * spacing if row % 2 == 0 else left + width - spacing / 2 - (columns - 1 - col) * spacing
        points.append((x, top + spacing / 2 + row * spacing))
    return points


def grid(left: float, top: float, count: int, columns: int = ZONE_COLUMNS, spacing: float = ZONE_SPACING) -> list[tuple[float, float]]:
    return [(left + spacing / 2 + (p % columns) * spacing, top + spacing / 2 + (p // columns) * spacing) for p in range(count)]


def station_stage(stages: list[dict[str, Any]]) -> int:
    """The stage served at the sampling stations: the last one whose server is the station, not paired with it."""
    indices = [i for i, s in enumerate(stages) if s.get("server_column") == "station" and not s.get("at_station")]
    return indices[-1] if indices else len(stages) - 1


def caps(peaks: dict[tuple, int], main_line: Optional[int], area: Optional[int], side: tuple[int, ...] = ()) -> dict[tuple, int]:
    """Places to draw per group: the window's peak, the whole waiting area on the longest line,
    within the per-group maxima (``side``: the side stages' lines, in their smaller band), scaled
    down so that a frame never draws more than ``MAX_DRAWN``."""
    wanted = {}
    for key, peak in peaks.items():
        if key[0] == "line":
            limit = MAIN_LINE_MAX if key[1] == main_line else SIDE_LINE_MAX if key[1] in side else LINE_MAX
            floor = area if key[1] == main_line and area else 1
            wanted[key] = min(limit, max(peak, floor))
        elif key[0] == "lane":
            wanted[key] = min(LANE_MAX, max(peak, 1))
        elif key[0] in ("exit", "gave_up", "turned", "diverted"):
            wanted[key] = min(ZONE_MAX, max(peak, 1))
        else:
            wanted[key] = 1
    total = sum(wanted.values())
    if total > MAX_DRAWN:
        scale = MAX_DRAWN / total
        wanted = {key: max(1, int(count * scale)) if key[0] in ("line", "lane") else count for key, count in wanted.items()}
    return wanted


def build_layout(flow: dict[str, Any], places: dict[tuple, int], main_line: Optional[int]) -> Layout:
    """The picture of ``flow`` (a point of flow.json) with ``places`` per group (from :func:`caps`)."""
    stages = flow["stages"]
    layout = Layout()
    stations = int(flow["stations"])
    at_stations = station_stage(stages)
    area = (flow.get("waiting_area") or {}).get("capacity")
    side = [i for i, s in enumerate(stages) if s.get("side")]
    bottom = BOTTOM - SIDE_H if side else BOTTOM
    band = bottom - TOP

    # Entrance, and beside it who gave up or was turned away.
    layout.text(20, TOP + 10, "Entrance", 12, bold=True)
    layout.rect(20, TOP + 36, 10, 70, fill=COLOURS["edge"])
    layout.rect(60, TOP + 36, 10, 70, fill=COLOURS["edge"])
    zone_top = TOP + 140
    for key, label, kind in ((("gave_up",), "gave up", GAVE_UP), (("turned",), "turned away", TURNED)):
        count = places.get(key, 0)
        rows = math.ceil(count / ZONE_COLUMNS)
        layout.text(20, zone_top, label, 11, colour=COLOURS[key[0]])
        layout.add_group(key, grid(20, zone_top + 4, count), kind)
        layout.more[key] = (20, zone_top + 18 + rows * ZONE_SPACING, "left")
        zone_top += 30 + rows * ZONE_SPACING

    # Columns in walking order: a shared line, then its servers (stages served at the stations: in the tents).
    lanes = [i for i, s in enumerate(stages) if s["line"] == "per_station"]
    desks = [i for i, s in enumerate(stages) if s.get("at_station")]
    lane_places = max([places.get(("lane", i, k), 0) for i in lanes for k in range(stations)], default=0)
    tent_columns = max(1, math.ceil(stations * 16 / band))
    rows_per_column = math.ceil(stations / tent_columns)
    row_h = min(30.0, band / rows_per_column)
    box = max(10.0, min(24.0, row_h - 4))
    lane_w = min(150.0, lane_places * 8.0 + 12) if lanes else 0.0
    tent_column_w = max(TENTS_MIN_W / tent_columns, lane_w + (len(desks) + 1) * (box + 10) + 44)
    server_columns = [i for i, s in enumerate(stages) if i != at_stations and not s.get("at_station") and i not in side]
    server_w = {i: SERVER_W + 40 * (math.ceil(int(stages[i]["servers"]) * 30 / (band - 60)) - 1) for i in server_columns}
    lines = [i for i, s in enumerate(stages) if s["line"] == "shared" and i not in side]
    fixed = ENTRANCE_W + EXIT_W + sum(server_w.values()) + tent_columns * tent_column_w + 20 * len(lines)
    free = max(LINE_MIN_W * len(lines), WIDTH - fixed - 20)
    weights = {i: math.sqrt(max(places.get(("line", i), 1), 1)) for i in lines}
    widths = {i: free * weights[i] / sum(weights.values()) for i in lines} if lines else {}
    short = {i for i in lines if widths[i] < LINE_MIN_W}
    if short and len(short) < len(lines):  # the narrow lines get the minimum, the others share the rest
        rest = free - LINE_MIN_W * len(short)
        spare = sum(weights[i] for i in lines if i not in short)
        widths = {i: LINE_MIN_W if i in short else rest * weights[i] / spare for i in lines}
    spacing = _spacing(widths, {i: places.get(("line", i), 1) for i in lines}, band - 40)
    layout.dot = max(1.6, min(4.0, spacing * 0.38))

    x = ENTRANCE_W
    servers_x = {}
    for index, stage in enumerate(stages):
        if index in widths:
            _line_block(layout, index, stage, x, widths[index], places.get(("line", index), 1), spacing,
                        area if index == main_line else None, flow)
            x += widths[index] + 20
        if index in server_w:
            kept = index + 1 < len(stages) and stages[index + 1]["line"] == "at_previous"
            _server_column(layout, index, stage, x, server_w[index], kept, bottom)
            servers_x[index] = x
            x += server_w[index]
    _tents(layout, flow, stages, at_stations, desks, lanes, places, x, tent_columns, rows_per_column, row_h, box,
           lane_w, tent_column_w, bottom)
    servers_x.update({i: x for i in (at_stations, *desks)})
    x += tent_columns * tent_column_w
    if side:
        _side_band(layout, stages, side, places, servers_x, bottom)

    # Exit.
    exit_x = max(x + 10, WIDTH - EXIT_W + 10)
    count = places.get(("exit",), 0)
    layout.text(exit_x, TOP + 10, "Exit: swabbed", 12, bold=True)
    layout.text(exit_x, TOP + 26, "{} in the last minute", 10, colour=COLOURS["faint"], value="leaving")
    layout.add_group(("exit",), grid(exit_x, TOP + 34, count))
    layout.more[("exit",)] = (exit_x, TOP + 50 + math.ceil(count / ZONE_COLUMNS) * ZONE_SPACING, "left")
    return layout


def _spacing(widths: dict[int, float], counts: dict[int, int], height: float) -> float:
    """The largest spacing (pixels per metre of line) at which every line's places fit."""
    for tenths in range(120, 15, -2):
        spacing = tenths / 10
        if all(math.ceil(counts[i] / max(1, int(widths[i] // spacing))) * spacing <= height for i in widths):
            return spacing
    return 1.6


def _line_block(layout: Layout, index: int, stage: dict[str, Any], x: float, width: float, count: int,
                spacing: float, area: Optional[int], flow: dict[str, Any]) -> None:
    top = TOP + 36
    layout.text(x, TOP + 10, stage["label"], 12, bold=True, colour=stage.get("colour"))
    layout.text(x, TOP + 26, "in line: {}", 11, value=f"waiting.{index}")
    points = serpentine(x, top, width, count, spacing)
    columns = max(1, int(width // spacing))
    if area:
        inside = min(area, count)
        full_rows, rest = divmod(inside, columns)
        rows = math.ceil(count / columns)
        if count > inside:  # the part of the line beyond the tape
            layout.rect(x, top + full_rows * spacing, width, (rows - full_rows) * spacing, fill=COLOURS["beyond"])
        if full_rows:
            layout.rect(x - 2, top - 2, width + 4, full_rows * spacing + 4, stroke=COLOURS["tape"], dash=True, lw=2)
        if rest:
            left = x + width - rest * spacing if full_rows % 2 == 0 else x + (columns - rest) * spacing
            layout.rect(left - 2, top + full_rows * spacing - 2, rest * spacing + 4, spacing + 4, stroke=COLOURS["tape"],
                        dash=True, lw=2)
        area_m = flow["waiting_area"]
        layout.text(x, top + rows * spacing + 14, f"waiting area: {area_m['capacity']:,} places "
                    f"({area_m['length_m']:g} m at {area_m['spacing_m']:g} m); beyond the tape: {{}}", 10,
                    colour="#a8561b", value="beyond")
        more_y = top + rows * spacing + 28
    else:
        more_y = top + math.ceil(count / columns) * spacing + 14
    layout.add_group(("line", index), points)
    layout.more[("line", index)] = (x, more_y, "left")


def _server_box(layout: Layout, key: tuple, x: float, y: float, size: float, label: str, station: Optional[int] = None,
                stroke: Optional[str] = None) -> None:
    shape = {"slot": station} if station is not None else {}
    layout.rect(x, y, size, size, fill=COLOURS["box"], stroke=stroke or COLOURS["edge"], **shape)
    layout.text(x - 3, y + size / 2 + 4, label, 9, colour=COLOURS["faint"], align="right")
    layout.add_group(key, [(x + size / 2, y + size / 2)])


def _server_column(layout: Layout, index: int, stage: dict[str, Any], x: float, width: float, kept: bool,
                   bottom: float = BOTTOM) -> None:
    servers = int(stage["servers"])
    band = bottom - TOP - 60
    per_column = max(1, int(band // 30))
    layout.text(x + 4, TOP + 10, "servers" if stage["line"] == "shared" else stage["label"], 11,
                colour=stage.get("colour"), bold=stage["line"] != "shared")
    layout.text(x + 4, TOP + 26, "serving: {}", 11, value=f"serving.{index}")
    for k in range(servers):
        column, row = divmod(k, per_column)
        _server_box(layout, ("server", index, k), x + 22 + column * 40, TOP + 44 + row * 30, 22, str(k + 1))
        if kept:  # the resident who keeps this server while waiting for the next stage stands beside it
            layout.add_group(("held", index, k), [(x + 22 + column * 40 + 30, TOP + 55 + row * 30)], HELD)


def _tents(layout: Layout, flow, stages, at_stations, desks, lanes, places, x, tent_columns, rows_per_column, row_h, box,
           lane_w, column_w, bottom: float = BOTTOM) -> None:
    stations = int(flow["stations"])
    tents = max(1, int(flow["tents"]))
    per_tent = math.ceil(stations / tents)
    green = (flow.get("green_channel") or {}).get("stations", 0)
    stage = stages[at_stations]
    head = f"{stage['label']}: {stations} station{'s' if stations != 1 else ''} in {tents} tent{'s' if tents != 1 else ''}"
    layout.text(x + 4, TOP + 10, head, 12, bold=True, colour=stage.get("colour"))
    layout.text(x + 4, TOP + 26, "serving: {}", 11, value=f"serving.{at_stations}")
    for i in lanes + desks:
        layout.text(x + 4 + (lane_w if i in desks else 0), TOP + 40, f"{stages[i]['label']}: {{}} in line" if i in lanes
                    else f"{stages[i]['label']} (paired)", 9, colour=COLOURS["faint"], value=f"waiting.{i}" if i in lanes else None)
    top = TOP + 50
    row_h = min(row_h, (bottom - top) / rows_per_column)
    box = min(box, row_h - 3)
    for tent in range(tents):
        members = [k for k in range(tent * per_tent, min(stations, (tent + 1) * per_tent))]
        if not members:
            continue
        column_of = [divmod(k, rows_per_column) for k in members]
        by_column: dict[int, list[int]] = {}
        for k, (column, row) in zip(members, column_of):
            by_column.setdefault(column, []).append(row)
        for column, rows in by_column.items():
            left = x + column * column_w + lane_w
            layout.rect(left + 2, top + min(rows) * row_h, column_w - lane_w - 8, len(rows) * row_h, fill=COLOURS["tent"],
                        stroke="#bcd9d4", r=4)
        column, row = column_of[0]
        layout.text(x + column * column_w + column_w - 10, top + row * row_h + row_h / 2 + 3, f"tent {tent + 1}", 9,
                    colour=COLOURS["faint"], align="right")
    for k in range(stations):
        column, row = divmod(k, rows_per_column)
        left = x + column * column_w
        y = top + row * row_h + (row_h - box) / 2
        cursor = left + lane_w + 14
        for i in desks:
            _server_box(layout, ("server", i, k), cursor, y, box, "", stroke=COLOURS["edge"])
            layout.add_group(("held", i, k), [(cursor + box / 2, y + box / 2)], HELD)
            cursor += box + 8
        label = f"{'G' if k < green else 'S'}{k + 1}"
        _server_box(layout, ("server", at_stations, k), cursor, y, box, "", station=k,
                    stroke=COLOURS["green"] if k < green else None)
        layout.text(cursor + box + 3, y + box / 2 + 3, label, 9, colour=COLOURS["green"] if k < green else COLOURS["faint"])
        for i in lanes:
            count = places.get(("lane", i, k), 0)
            spacing = min(8.0, (lane_w - 12) / max(count, 1))
            front = left + lane_w + 4
            layout.add_group(("lane", i, k), [(front - spacing / 2 - p * spacing, y + box / 2) for p in range(count)])
            layout.more[("lane", i, k)] = (left + 2, y + box / 2 + 3, "left")


def _side_band(layout: Layout, stages: list[dict[str, Any]], side: list[int], places: dict[tuple, int],
               servers_x: dict[int, float], bottom: float) -> None:
    """The side stages below the main flow, left to right, each under the first stage that sends residents
    to it (a dashed line joins them): its line, its servers, and those who just left from it."""
    names = [stage["name"] for stage in stages]
    top = bottom + 22
    per_column = max(1, int((BOTTOM - top - 54) // (SIDE_BOX + 6)))
    x = ENTRANCE_W
    for index in side:
        stage = stages[index]
        sources = [names.index(name) for name in stage.get("from", []) if name in names]
        under = min((servers_x[i] for i in sources if i in servers_x), default=x)
        servers = int(stage["servers"])
        server_w = 30 + (SIDE_BOX + 10) * math.ceil(servers / per_column)
        left = max(x, min(under, WIDTH - EXIT_W - SIDE_LINE_W - server_w - 10))
        for i in sources:
            if i in servers_x:
                source_x = servers_x[i] + 10
                layout.rect(source_x, bottom - 8, 0.1, top - bottom + 4, stroke=stage.get("colour"), dash=True)
                layout.rect(min(source_x, left + 4), top - 4, abs(left + 4 - source_x) + 0.1, 0.1, stroke=stage.get("colour"), dash=True)
        froms = "from " + ", ".join(stages[i]["label"] for i in sources)
        width = max(SIDE_LINE_W + server_w, 7.0 * max(len(stage["label"]), len(froms) * 0.85))
        layout.rect(left - 6, top - 4, width + 12, BOTTOM - top, stroke=stage.get("colour"), dash=True, r=4)
        layout.text(left, top + 12, stage["label"], 12, bold=True, colour=stage.get("colour"))
        layout.text(left, top + 26, froms, 10, colour=COLOURS["faint"])
        layout.text(left, top + 42, "in line: {}", 11, value=f"waiting.{index}")
        layout.text(left + SIDE_LINE_W, top + 42, "serving: {}", 11, value=f"serving.{index}")
        count = places.get(("line", index), 1)
        layout.add_group(("line", index), serpentine(left, top + 48, SIDE_LINE_W - 10, count, 8.0))
        layout.more[("line", index)] = (left, BOTTOM - 4, "left")
        for k in range(servers):
            column, row = divmod(k, per_column)
            _server_box(layout, ("server", index, k), left + SIDE_LINE_W + 14 + column * (SIDE_BOX + 10),
                        top + 50 + row * (SIDE_BOX + 6), SIDE_BOX, str(k + 1) if servers <= per_column else "")
        x = left + width + 24
    count = places.get(("diverted",), 0)
    layout.text(x, top + 12, "left unswabbed", 11, colour=COLOURS["diverted"])
    layout.add_group(("diverted",), grid(x, top + 18, count), DIVERTED)
    layout.more[("diverted",)] = (x, top + 34 + math.ceil(count / ZONE_COLUMNS) * ZONE_SPACING, "left")


def frame_texts(layout: Layout, title: str, subtitle: str, stages: list[dict[str, Any]], area: Optional[int]) -> None:
    """The header (title, what is shown, the clock, the counts) and the legend of the colours."""
    layout.text(20, 28, title, 18, bold=True)
    layout.text(20, 48, subtitle, 11, colour="#555555")
    layout.text(WIDTH - 20, 40, "{}", 30, bold=True, align="right", value="clock")
    side = any(stage.get("side") for stage in stages)
    stats = [("arrived {}", "arrived"), ("swabbed {}", "sampled"), ("gave up {}", "gave_up"),
             ("turned away {}", "turned"), *([("diverted {}", "diverted")] if side else []),
             ("waiting now {}" + (f" (area: {area:,})" if area else ""), "waiting_total")]
    x = 20
    for text, value in stats:
        layout.text(x, 74, text, 13, value=value, bold=value == "waiting_total")
        x += 150 if value != "waiting_total" else 0
    legend = [("qr", "registered by QR code"), ("manual", "registered by hand"), ("priority", "green channel (priority)"),
              ("gave_up", "gave up (left the line or turned back)"), ("turned", "turned away")]
    x = 20
    for colour, label in legend:
        layout.shapes.append({"t": "dot", "x": x + 5, "y": HEIGHT - 40, "colour": COLOURS[colour], "ring": False})
        layout.text(x + 14, HEIGHT - 36, label, 11)
        x += 24 + 7 * len(label)
    if any(stage["line"] == "at_previous" for stage in stages):
        layout.shapes.append({"t": "dot", "x": x + 5, "y": HEIGHT - 40, "colour": COLOURS["qr"], "ring": True})
        layout.text(x + 14, HEIGHT - 36, "ringed: registered, waiting at the desk for its station", 11)
    closed = [("closed_break", "station closed: break"), ("closed_off_duty", "closed: off duty"),
              ("sealing", "sealing a tube / disinfecting")]
    x = 20
    for state, label in closed:
        layout.rect(x, HEIGHT - 24, 12, 12, fill=COLOURS[state], stroke=COLOURS["edge"])
        layout.text(x + 18, HEIGHT - 14, label, 11)
        x += 30 + 7 * len(label)
    if side:
        layout.shapes.append({"t": "dot", "x": x + 5, "y": HEIGHT - 18, "colour": COLOURS["diverted"], "ring": False})
        layout.text(x + 14, HEIGHT - 14, "diverted: sent to a side stage, left from it unswabbed", 11)
