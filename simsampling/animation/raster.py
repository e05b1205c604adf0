"""The animation as images: a GIF or an MP4 for slides and chat groups, a PNG still of one frame.

The same display list and frames as animation.html (``build.payload``), drawn with
Pillow (installed with matplotlib) in the fonts matplotlib ships; the MP4 is encoded by
ffmpeg when it is installed (:func:`ffmpeg`), frames piped to it raw.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

from PIL import Image, ImageDraw, ImageFont

from .build import Animation, clock, payload
from .layout import HELD

FPS = 12
"""Frames a second of a GIF or MP4."""


def ffmpeg() -> Optional[str]:
    """The ffmpeg program, or None when it is not installed."""
    return shutil.which("ffmpeg")


@lru_cache(maxsize=None)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    from matplotlib import font_manager

    path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal"))
    return ImageFont.truetype(path, size)


def opening_clock(seconds: float, hours: list) -> str:
    """The clock as the page shows it, "(closed)" outside opening hours."""
    text = clock(seconds, with_seconds=True)
    return text if any(a <= seconds < b for a, b in hours) else f"{text} (closed)"


def _dashed(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], colour: str, width: int) -> None:
    x0, y0, x1, y1 = box
    for a, b, horizontal, at in ((x0, x1, True, y0), (x0, x1, True, y1), (y0, y1, False, x0), (y0, y1, False, x1)):
        start = a
        while start < b:
            end = min(b, start + 6)
            draw.line((start, at, end, at) if horizontal else (at, start, at, end), fill=colour, width=width)
            start += 10


class Painter:
    """Draws frames of one animation: the static shapes once, then per frame texts, stations and residents."""

    def __init__(self, animation: Animation):
        self.data = payload(animation)
        data = self.data
        self.size = (int(data["width"]), int(data["height"]))
        self.index = {name: i for i, name in enumerate(data["counts"])}
        palette = data["palette"]
        self.resident_colours = [palette["qr"], palette["manual"], palette["priority"]]
        self.kind_colours = {2: palette["gave_up"], 3: palette["turned"], 4: palette["diverted"]}
        self.background = Image.new("RGB", self.size, "white")
        draw = ImageDraw.Draw(self.background)
        for shape in data["shapes"]:
            if shape["t"] == "rect" and "slot" not in shape:
                self._rect(draw, shape, shape.get("fill"))
            elif shape["t"] == "text" and shape.get("value") is None:
                self._text(draw, shape, shape["s"])
            elif shape["t"] == "dot":
                self._dot(draw, shape["x"], shape["y"], shape["colour"], shape["ring"], 5)

    def _rect(self, draw, shape, fill) -> None:
        box = (shape["x"], shape["y"], shape["x"] + shape["w"], shape["y"] + shape["h"])
        if shape.get("dash"):
            if fill:
                draw.rectangle(box, fill=fill)
            _dashed(draw, box, shape["stroke"], int(shape.get("lw", 1)))
        elif shape.get("r"):
            draw.rounded_rectangle(box, radius=shape["r"], fill=fill, outline=shape.get("stroke"))
        else:
            draw.rectangle(box, fill=fill, outline=shape.get("stroke"), width=int(shape.get("lw", 1)))

    def _text(self, draw, shape, text: str) -> None:
        anchor = {"left": "ls", "right": "rs", "center": "ms"}[shape["align"]]
        draw.text((shape["x"], shape["y"]), text, fill=shape["colour"], font=_font(int(shape["size"]), bool(shape["bold"])),
                  anchor=anchor)

    @staticmethod
    def _dot(draw, x, y, colour, ring, radius) -> None:
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour,
                     outline="#1d3557" if ring else None, width=1)

    def frame(self, index: int) -> Image.Image:
        data = self.data
        frame = data["frames"][index]
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        seconds = data["start"] + index * data["step"]
        states = {frame["s"][k]: data["stationStates"][frame["s"][k + 1]] for k in range(0, len(frame["s"]), 2)}
        for shape in data["shapes"]:
            if shape["t"] == "rect" and "slot" in shape:
                state = states.get(shape["slot"])
                self._rect(draw, shape, data["palette"][state] if state else shape.get("fill"))
            elif shape["t"] == "text" and shape.get("value") is not None:
                value = shape["value"]
                text = opening_clock(seconds, data["hours"]) if value == "clock" else shape["s"].replace(
                    "{}", f"{frame['n'][self.index[value]]:,}")
                self._text(draw, shape, text)
        places, kinds, colours, radius = data["places"], data["kinds"], data["colours"], data["dot"]
        drawn = frame["d"]
        for k in range(0, len(drawn), 2):
            resident, place = drawn[k], drawn[k + 1]
            kind = kinds[place]
            colour = self.kind_colours.get(kind) or self.resident_colours[colours[resident]]
            self._dot(draw, places[2 * place], places[2 * place + 1], colour, kind == HELD, radius)
        font = _font(11, False)
        for k in range(0, len(frame["m"]), 2):
            x, y, align = data["more"][frame["m"][k]]
            draw.text((x, y), f"+{frame['m'][k + 1]:,} more", fill="#a8561b", font=font,
                      anchor={"left": "ls", "right": "rs", "center": "ms"}[align])
        return image

    def frames(self) -> Iterator[Image.Image]:
        for index in range(len(self.data["frames"])):
            yield self.frame(index)


def busiest_frame(animation: Animation) -> int:
    """The frame with the most residents waiting (the first of equals): the still worth showing."""
    waiting = [frame.waiting_total for frame in animation.frames]
    return waiting.index(max(waiting))


def write_png(animation: Animation, path: Path, index: Optional[int] = None) -> int:
    """One frame as a PNG (default: the busiest); returns its index."""
    index = busiest_frame(animation) if index is None else index
    Painter(animation).frame(index).save(path, format="PNG", optimize=True)
    return index


def gif_palette(colours: list[str]) -> Image.Image:
    """A palette of the drawing's colours, each also blended with white in 8 steps (the anti-aliased edges):
    frames are mapped to it without dithering, 50 times faster than an adaptive palette per frame."""
    swatches = Image.new("RGB", (9, len(colours)), "white")
    for row, colour in enumerate(colours):
        solid = Image.new("RGB", (1, 1), colour).getpixel((0, 0))
        for step in range(9):
            swatches.putpixel((step, row), tuple(round(c + (255 - c) * step / 9) for c in solid))
    return swatches.quantize(colors=min(256, 9 * len(colours)), method=Image.Quantize.MEDIANCUT)


def write_gif(animation: Animation, path: Path) -> None:
    painter = Painter(animation)
    palette = gif_palette(sorted(set(painter.data["palette"].values()) | {"#000000", "#555555", "#a8561b", "#bcd9d4"}))
    frames = [image.quantize(palette=palette, dither=Image.Dither.NONE) for image in painter.frames()]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=round(1000 / FPS), loop=0)


def write_mp4(animation: Animation, path: Path) -> None:
    """H.264 MP4 through ffmpeg (raises FileNotFoundError without it, OSError if it fails)."""
    program = ffmpeg()
    if program is None:
        raise FileNotFoundError("ffmpeg")
    painter = Painter(animation)
    width, height = painter.size
    command = [program, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
               "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
               "-f", "mp4", str(path)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as encoder:
        try:
            for image in painter.frames():
                encoder.stdin.write(image.tobytes())
            encoder.stdin.close()
        except BrokenPipeError:
            pass
        error = encoder.stderr.read().decode(errors="replace")
        if encoder.wait() != 0:
            raise OSError(f"ffmpeg failed: {error.strip()[-300:] or 'no message'}")

