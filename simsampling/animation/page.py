"""animation.html: one self-contained page (data, player and style inline; nothing loaded from the network).

The data is JSON inside a ``<script type="application/json">`` element with every
``<``, ``>`` and ``&`` escaped, so no text of the scenario can end it early; the page's
Content-Security-Policy allows its own inline script and style and nothing else.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Optional, Union

from ..report.text import isolated
from .build import Animation, build_animation, clock, payload, subtitle, title
from .scene import Scene, read_results, scene_of_run

POLICY = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
SPEEDS = ((60, "1 minute a second"), (300, "5 minutes a second"), (900, "15 minutes a second"), (3600, "1 hour a second"))
DEFAULT_SPEED = 300

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2rem auto; max-width: 1300px;
       color: #1d3557; padding: 0 1rem; }
h1 { font-size: 1.35rem; margin: 0 0 .3rem; }
p { margin: .3rem 0; }
.note { color: #555; font-size: .92rem; }
canvas { width: 100%; max-width: 1280px; height: auto; border: 1px solid #d8dee4; border-radius: 4px; display: block; }
.controls { display: flex; gap: .8rem; align-items: center; margin: .6rem 0; flex-wrap: wrap; }
.controls input[type=range] { flex: 1; min-width: 240px; }
button { font-size: 1rem; padding: .3rem 1.1rem; }
#clock { font-variant-numeric: tabular-nums; min-width: 6.5em; }
"""


def json_for_script(value) -> str:
    """JSON that cannot close the script element it sits in."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_html(animation: Animation) -> str:
    """The whole page of ``animation``."""
    scene = animation.scene
    heading = title(scene)
    window = animation.window
    player = resources.files(__package__).joinpath("player.js").read_text(encoding="utf-8")
    speeds = "".join(f'<option value="{value}"{" selected" if value == DEFAULT_SPEED else ""}>{label}</option>'
                     for value, label in SPEEDS)
    notes = "".join(f"<p class=\"note\">Note: {html.escape(isolated(note))}.</p>" for note in animation.notes)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(heading)}: animation</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{html.escape(heading)}</h1>
<p class="note">{html.escape(subtitle(scene))}. {len(animation.frames):,} frames every {window.step_s:g} s,
{html.escape(clock(window.start_s))} to {html.escape(clock(window.end_s))}; a dot is a resident, drawn where the log has it
at each frame (between frames it moves in a straight line). Counts are exact: each line's count equals the
time series of the first replication at that moment.</p>
{notes}
<canvas id="scene" width="{animation.layout.width}" height="{animation.layout.height}" role="img"
 aria-label="{html.escape(heading)}: residents at the point over time"></canvas>
<div class="controls">
<button id="play" type="button">Play</button>
<input id="time" type="range" min="0" max="0" step="1" value="0" aria-label="time">
<span id="clock"></span>
<label>speed <select id="speed">{speeds}</select></label>
</div>
<p class="note">Space plays or pauses; the arrow keys step one frame.</p>
<script type="application/json" id="animation-data">{json_for_script(payload(animation))}</script>
<script>
{player}
</script>
</body>
</html>
"""



def animation_html(source: Union[str, Path, Scene, "object"], point: Optional[str] = None, start_s: Optional[float] = None,
                   end_s: Optional[float] = None, step_s: Optional[float] = None) -> str:
    """animation.html's text for a results folder, a run in memory (``RunResult``) or a :class:`Scene`.

    For the web app: the same page ``simsampling animate`` writes, to embed as it is
    (it needs no other file). ``point``: a point id (default: the longest line);
    ``start_s``/``end_s``: the window in seconds since midnight of day 0 (default: the
    point's whole day); ``step_s``: seconds between frames (default: at most 3,600 frames).
    """
    if isinstance(source, Scene):
        scene = source
    elif isinstance(source, (str, Path)):
        scene = read_results(Path(source), point)
    else:
        scene = scene_of_run(source, point)
    return page_html(build_animation(scene, start_s, end_s, step_s))
