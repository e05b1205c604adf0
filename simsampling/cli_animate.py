"""``simsampling animate RESULTS_DIR``: one point of a results folder, animated from its files.

Writes animation.html (or .gif, .mp4, .png) into the folder, whole or not at all (a
temporary file renamed into place), and never over an existing file without --force;
--force replaces only a file simsampling wrote (listed in the ``.simsampling-files``
beside it, where every file animate writes is recorded).
Exit status: 0 written; 1 a file could not be read or written (the path and the cause);
2 bad input (not a results folder, an unknown point, a bad window, the file exists,
mp4 without ffmpeg); 130 interrupted (nothing written).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from rich.console import Console

from .manifest import record_written, written_here
from .terminal import say

FORMATS = ("html", "gif", "mp4", "png")
OS_FAILURE, BAD_INPUT = 1, 2
GIF_FRAMES = 600
"""Frames of a GIF or MP4 whose --step-s is not given (the step grows to keep to this many)."""


def add_parser(commands) -> None:
    animate = commands.add_parser(
        "animate", help="animate one point of a results folder: residents moving through the stages (animation.html)")
    animate.add_argument("results", type=Path, metavar="RESULTS_DIR", help="a results folder written by `simsampling run`")
    animate.add_argument("--point", metavar="ID", help="the point to animate (default: the point with the longest line)")
    animate.add_argument("--from", dest="start", metavar="HH:MM",
                         help="start of the window (default: the point's first arrival; hours past 24 for later days)")
    animate.add_argument("--to", dest="end", metavar="HH:MM", help="end of the window (default: the point's last departure)")
    animate.add_argument("--step-s", type=float, metavar="S",
                         help="seconds of simulated time between frames (default: 10 s, more for long windows)")
    animate.add_argument("--format", choices=FORMATS, default="html",
                         help="html (default: play, pause and a time slider, opens offline), gif, mp4 (needs ffmpeg), "
                         "or png (a still of the busiest frame)")
    animate.add_argument("--out", "-o", type=Path, metavar="FILE", help="where to write (default: RESULTS_DIR/animation.FORMAT)")
    animate.add_argument("--force", action="store_true", help="replace an existing file")


def run_animate(args, out: Console, err: Console) -> int:
    from .animation import AnimationError
    from .animation.build import AUTO_FRAMES, build_animation, clock, parse_clock
    from .animation.page import page_html
    from .animation.raster import ffmpeg, write_gif, write_mp4, write_png
    from .animation.scene import read_results

    def refuse(where: str, message: str) -> int:
        say(err, f"{where}: {message}")
        return BAD_INPUT

    started = time.perf_counter()
    target = args.out if args.out is not None else args.results / f"animation.{args.format}"
    if target.is_dir():
        return refuse(str(target), "is a folder: give --out a file name (e.g. animation.html)")
    if target.exists() and not args.force:
        return refuse(str(target), "already exists; add --force to replace it, or --out to write elsewhere")
    if target.exists() and not written_here(target):
        return refuse(str(target), "--out: was not written by simsampling (it is not in the .simsampling-files beside "
                      "it); --force replaces only what simsampling wrote: choose another --out")
    if args.format == "mp4" and ffmpeg() is None:
        return refuse("--format", "mp4 needs ffmpeg, which is not installed here (on Debian or Ubuntu: apt-get install "
                      "ffmpeg); --format gif or html need nothing more")
    try:
        start = parse_clock(args.start, "--from") if args.start is not None else None
        end = parse_clock(args.end, "--to") if args.end is not None else None
        scene = read_results(args.results, args.point)
        frames = GIF_FRAMES if args.format in ("gif", "mp4") else AUTO_FRAMES
        animation = build_animation(scene, start, end, args.step_s, auto_frames=frames)
    except AnimationError as exc:
        return refuse(exc.where, str(exc).removeprefix(f"{exc.where}: "))
    except OSError as exc:
        say(err, f"{exc.filename or args.results}: cannot read: {exc.strerror or exc}")
        return OS_FAILURE
    for note in animation.notes:
        say(err, f"note: {note}")
    partial = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
        os.close(handle)
        partial = Path(name)
        still = None
        if args.format == "html":
            partial.write_text(page_html(animation), encoding="utf-8")
        elif args.format == "gif":
            write_gif(animation, partial)
        elif args.format == "mp4":
            write_mp4(animation, partial)
        else:
            still = write_png(animation, partial)
        mask = os.umask(0)
        os.umask(mask)
        partial.chmod(0o666 & ~mask)  # as any other file of the folder (a temporary file is private)
        record_written(target)  # first: a record of a file not yet there is harmless, a file without one is not
        os.replace(partial, target)
        partial = None
    except OSError as exc:
        # Hidden files beside it (the temporary file, the list's scratch) are ours: name the file asked for.
        ours = exc.filename is None or (Path(exc.filename).parent == target.parent and Path(exc.filename).name.startswith("."))
        where = target if ours else exc.filename
        say(err, f"{where}: cannot write: {exc.strerror or exc}")
        return OS_FAILURE
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    window = animation.window
    what = (f"the frame at {clock(animation.times[still])} (the most residents waiting)" if still is not None else
            f"{len(animation.frames):,} frames every {window.step_s:g} s, {clock(window.start_s)}-{clock(window.end_s)}")
    size = target.stat().st_size
    say(out, f"animation of point {scene.point_id} ({scene.flow['name']}), first replication: {what}; "
             f"written to {target} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return 0

