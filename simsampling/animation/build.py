"""From a scene and a time window to the frames the page and the images draw: places, counts, notes.

The window is cut to the residents on the picture in it; every frame is computed
exactly at its time (``frames.frame_at``); the layout gets as many places per line
as the window needs (``layout.caps``), so a long line is thinned, not dropped: the
rest of it is written "+N more" and every count stays exact. A window whose frames
would draw too much is refused before anything is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..report.text import inert
from .frames import Frame, Residents, Totals, frame_at, frame_times, residents_of, subset, window_residents
from .layout import COLOURS, MAX_DRAWN, Layout, build_layout, caps, frame_texts
from .scene import AnimationError, Scene

AUTO_FRAMES = 3600
"""Frames of a window whose step is not given: the step grows (by 5 s) to keep to this many."""
MIN_AUTO_STEP_S = 10.0
MAX_FRAMES = 20_000
MAX_DRAWN_FRAMES = 6_000_000
"""Residents drawn over all frames at most (about 40 MB of animation.html): beyond, a window is refused."""
STATION_STATES = ("closed_break", "closed_off_duty", "sealing", "disinfection")


@dataclass
class Window:
    start_s: float
    end_s: float
    step_s: float


@dataclass
class Animation:
    """Everything drawn: the layout, the residents' colours, and per frame its places, counts and stations."""

    scene: Scene
    window: Window
    layout: Layout
    colours: np.ndarray
    times: np.ndarray
    frames: list[Frame]
    drawn: list[np.ndarray]
    """Per frame, (resident, place) pairs as a flat array: what is drawn."""
    more: list[list[int]]
    """Per frame, (index into ``more_keys``, residents not drawn) pairs."""
    more_keys: list[tuple]
    count_names: list[str]
    notes: list[str] = field(default_factory=list)
    residents: Optional[np.ndarray] = None
    """Rows of the scene's persons (in its order) of the window's residents: drawn resident i is row residents[i]."""

    def counts(self, frame: Frame) -> list[int]:
        beyond = max(0, frame.waiting_total - self.area) if self.area else 0
        return [*frame.waiting, *frame.serving, frame.arrived, frame.sampled, frame.gave_up, frame.turned,
                frame.waiting_total, beyond, int(frame.groups.get(("exit",), np.zeros(0)).size), frame.diverted]

    @property
    def area(self) -> Optional[int]:
        return (self.scene.flow.get("waiting_area") or {}).get("capacity")


def parse_clock(text: str, option: str) -> float:
    """"HH:MM" (hours past 24 for later days, as in the results' clock texts) as seconds since midnight of day 0."""
    parts = text.strip().split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or int(parts[1]) > 59 or not parts[0]:
        raise AnimationError(option, f'"{text}" is not a time "HH:MM" (hours past 24 for later days, e.g. 31:00)')
    return float(int(parts[0]) * 3600 + int(parts[1]) * 60)


def choose_window(residents: Residents, start_s: Optional[float], end_s: Optional[float],
                  step_s: Optional[float], auto_frames: int = AUTO_FRAMES) -> Window:
    """The window asked for; unset ends: the point's first arrival and last departure (whole minutes);
    unset step: 10 s, or more (by 5 s) to keep to ``auto_frames`` frames."""
    if step_s is not None and not (math.isfinite(step_s) and 1.0 <= step_s <= 3600.0):
        raise AnimationError("--step-s", f"{step_s:g} must be between 1 and 3600 seconds")
    arrivals = residents.arrival[np.isfinite(residents.arrival)]
    if start_s is None:
        start_s = math.floor(float(arrivals.min()) / 60.0) * 60.0 if arrivals.size else 0.0
    if end_s is None:
        end_s = math.ceil(float(residents.last_s.max()) / 60.0) * 60.0 if arrivals.size else start_s + 3600.0
    if end_s <= start_s:
        raise AnimationError("--to", f"the window must end after it starts ({clock(start_s)})")
    if step_s is None:
        step_s = max(MIN_AUTO_STEP_S, math.ceil((end_s - start_s) / auto_frames / 5.0) * 5.0)
    if (end_s - start_s) / step_s + 1 > MAX_FRAMES:
        raise AnimationError("--step-s", f"{step_s:g} s over {clock(start_s)}-{clock(end_s)} would make "
                             f"{(end_s - start_s) / step_s + 1:,.0f} frames (at most {MAX_FRAMES:,}): use a larger "
                             "--step-s or a shorter window (--from, --to)")
    return Window(float(start_s), float(end_s), float(step_s))


def clock(seconds: float, with_seconds: bool = False) -> str:
    """"HH:MM" (or "HH:MM:SS") of seconds since midnight of day 0; "+1d HH:MM" on the next day, as the charts say."""
    whole = int(math.floor(seconds + 1e-6))
    day, rest = divmod(whole, 86400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}" + (f":{rest % 60:02d}" if with_seconds else "")
    return f"+{day}d {text}" if day else text


def _line_peak(residents: Residents, index: int) -> int:
    """The most residents ever in the line of stage ``index`` (the day's, whatever the window)."""
    track = residents.tracks[index]
    joins = np.sort(track.enter[track.stood & np.isfinite(track.enter)])
    leaves = np.sort(track.leave[track.stood & np.isfinite(track.enter)])
    if not joins.size:
        return 0
    inside = np.arange(1, joins.size + 1) - np.searchsorted(leaves, joins, side="right")
    return int(inside.max())


def _within_the_day(scene: Scene, residents: Residents, start_s: Optional[float], end_s: Optional[float]) -> None:
    """Refuse a window wholly outside the point's day (its opening hours and its residents' times): nothing to draw."""
    times = [t for hours in scene.flow.get("hours", []) for t in hours]
    if np.isfinite(residents.arrival).any():
        times += [float(np.nanmin(residents.arrival)), float(residents.last_s.max())]
    if not times:
        return
    first, last = min(times), max(times)
    day = f"the point's day ({clock(first)}-{clock(last)}): nothing to draw"
    if start_s is not None and start_s >= last:
        raise AnimationError("--from", f"{clock(start_s)} is after {day}")
    if end_s is not None and end_s <= first:
        raise AnimationError("--to", f"{clock(end_s)} is before {day}")


def build_animation(scene: Scene, start_s: Optional[float] = None, end_s: Optional[float] = None,
                    step_s: Optional[float] = None, auto_frames: int = AUTO_FRAMES) -> Animation:
    """The frames of ``scene`` over the window (defaults: the point's whole day, a step for at most ``auto_frames``)."""
    everyone = residents_of(scene)
    _within_the_day(scene, everyone, start_s, end_s)
    window = choose_window(everyone, start_s, end_s, step_s, auto_frames)
    members = window_residents(everyone, window.start_s, window.end_s)
    residents = subset(everyone, members)
    totals = Totals(everyone)
    times = frame_times(window.start_s, window.end_s, window.step_s)
    frames = [frame_at(residents, float(t), scene.spells, totals) for t in times]
    peaks: dict[tuple, int] = {}
    for frame in frames:
        for key, who in frame.groups.items():
            peaks[key] = max(peaks.get(key, 0), int(who.size))
    shared = [i for i, stage in enumerate(scene.stages) if stage["line"] == "shared"]
    side = tuple(i for i, stage in enumerate(scene.stages) if stage.get("side"))
    main = [i for i in shared if i not in side]
    main_line = max(main, key=lambda i: (_line_peak(everyone, i), -i)) if main else None
    area = (scene.flow.get("waiting_area") or {}).get("capacity")
    for i in shared:
        peaks.setdefault(("line", i), 0)
    places = caps(peaks, main_line, area, side)
    layout = build_layout(scene.flow, places, main_line)
    frame_texts(layout, title(scene), subtitle(scene), scene.stages, area)
    more_keys = list(layout.more)
    more_index = {key: k for k, key in enumerate(more_keys)}
    drawn, more, notes = [], [], []
    total_drawn = 0
    for frame in frames:
        pairs, hidden = [], []
        for key, who in frame.groups.items():
            first, room = layout.groups.get(key, (0, 0))
            shown = who[:room]
            pairs.append(np.column_stack([shown, first + np.arange(shown.size)]).ravel())
            if who.size > room and key in more_index:
                hidden += [more_index[key], int(who.size - room)]
        flat = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
        total_drawn += flat.size // 2
        if total_drawn > MAX_DRAWN_FRAMES:
            raise AnimationError("--step-s", f"this window would draw {_estimate(frames, places):,} residents over its "
                                 f"{len(frames):,} frames (at most {MAX_DRAWN_FRAMES:,}, about 40 MB): use a larger "
                                 f"--step-s than {window.step_s:g} or a shorter window (--from, --to)")
        drawn.append(flat.astype(np.int64))
        more.append(hidden)
    busiest = max(frames, key=lambda f: f.waiting_total + sum(f.serving)) if frames else None
    if busiest is not None and busiest.waiting_total + sum(busiest.serving) > MAX_DRAWN:
        notes.append(f"at {clock(busiest.time_s)} {busiest.waiting_total + sum(busiest.serving):,} residents are at the "
                     f"point: lines are drawn up to their places and the rest written '+N more' (counts are exact)")
    elif any(more):
        notes.append("the longest lines are drawn up to their places and the rest written '+N more' (counts are exact)")
    names = [f"waiting.{i}" for i in range(len(scene.stages))] + [f"serving.{i}" for i in range(len(scene.stages))]
    names += ["arrived", "sampled", "gave_up", "turned", "waiting_total", "beyond", "leaving", "diverted"]
    return Animation(scene=scene, window=window, layout=layout, colours=residents.colour, times=times, frames=frames,
                     drawn=drawn, more=more, more_keys=more_keys, count_names=names, notes=notes, residents=members)


def title(scene: Scene) -> str:
    """The scenario's and the point's names, their direction controls shown, not obeyed (report/text.py)."""
    return inert(f"{scene.scenario}: {scene.flow['name']}")


def subtitle(scene: Scene) -> str:
    """What the picture is: one replication's day, redrawn from its files."""
    of = f" of {scene.replications}" if scene.replications > 1 else ""
    return (f"point {inert(scene.point_id)}: the first replication{of}, exactly as simulated (persons.csv, stations.csv); "
            "nothing is simulated again")


def _estimate(frames: list[Frame], places: dict[tuple, int]) -> int:
    return sum(sum(min(int(who.size), places.get(key, 0)) for key, who in frame.groups.items()) for frame in frames)


def station_codes(frame: Frame) -> list[int]:
    """(station, state) pairs of the stations not serving residents, state as an index of ``STATION_STATES``."""
    return [value for station, state in sorted(frame.stations.items()) if state in STATION_STATES
            for value in (station, STATION_STATES.index(state))]


def payload(animation: Animation) -> dict[str, Any]:
    """The data animation.html embeds (and the raster writer draws): small integers, one entry per frame."""
    layout = animation.layout
    scene = animation.scene
    return {
        "width": layout.width, "height": layout.height, "dot": layout.dot,
        "shapes": layout.shapes,
        "places": [coordinate for place in layout.places for coordinate in place],
        "kinds": layout.kinds,
        "more": [list(layout.more[key]) for key in animation.more_keys],
        "colours": animation.colours.tolist(),
        "palette": COLOURS,
        "stationStates": list(STATION_STATES),
        "counts": animation.count_names,
        "start": animation.window.start_s, "step": animation.window.step_s,
        "hours": scene.flow.get("hours", []),
        "frames": [{"d": d.tolist(), "n": animation.counts(f), "s": station_codes(f), "m": m}
                   for d, f, m in zip(animation.drawn, animation.frames, animation.more)],
    }
