"""The look shared by every chart: colours, titles and grids, clock and thousands axes, user text
printed literally, and writing a figure (matplotlib, headless).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator, ScalarFormatter  # noqa: E402

from ..log import day_clock  # noqa: E402
from ..metrics import HOUR  # noqa: E402
from ..scenario.errors import printable  # noqa: E402
from .text import isolated  # noqa: E402


MAIN = "#264653"
DEADLINE = "#c1121f"
LATE = "#e76f51"
DPI = 130
PNG_COMPRESSION = 1
"""zlib's level for the charts' PNG (Pillow's default, 6, spends a sixth of a city's drawing on it): the same pixels;
the Xi'an round's nine charts 0.1 s of CPU less, their files 10% larger (1.19 MB against 1.08)."""


def plain(text: object) -> str:
    """User text for matplotlib: a ``$`` is escaped so it prints as itself, never as mathtext; control
    characters are shown escaped and the text is isolated, so a direction override cannot reverse the title."""
    return isolated(printable(str(text))).replace("$", r"\$")


def clock_label(hours: float) -> str:
    """"HH:MM" on day 0, "+1d HH:MM" on the next (hours since midnight of day 0; seconds cut, as on a clock)."""
    return day_clock(hours * HOUR)


def style_axes(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def clock_axis(ax, start_h: float, end_h: float) -> None:
    ax.set_xlim(start_h, end_h)
    ax.xaxis.set_major_locator(MultipleLocator(hour_step(end_h - start_h)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda h, _: hour_label(h) if h >= 0 else ""))


def hour_step(span_h: float) -> float:
    """Hours between ticks on an axis of ``span_h`` hours: up to a day every hour to three; longer spans at most
    about 9 labels ("+1d 06:00" is wide), whatever the span (a round that drains for years: no million ticks)."""
    if not math.isfinite(span_h):
        return 24
    if span_h <= 27:
        return 1 if span_h <= 12 else 2 if span_h <= 20 else 3
    return next((s for s in (6, 12, 24, 48) if span_h / s <= 9), 24 * max(3, math.ceil(span_h / 24 / 9)))


def hour_label(hours: float) -> str:
    """"HH:00" on day 0, "+1d HH:00" on the next (days count from 0, as in scenario files)."""
    day, hour = divmod(int(round(hours)), 24)
    return f"{hour:02d}:00" if day == 0 else f"+{day}d {hour:02d}:00"


def thousands(ax, axis: str = "y") -> None:
    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def count_axis(ax) -> None:
    """A y axis of people: whole-number ticks (never 0, 0, 1, 1 from half steps), thousands separated."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=True, min_n_ticks=2))
    thousands(ax)


def save(fig, path: Path, bottom: float = 0.0, dpi: float = DPI) -> None:
    """Lay out (leaving ``bottom``, a fraction of the height, free for a figure legend) and write at ``dpi``.

    ``tight_layout`` leaves a placeholder layout engine on the figure, and savefig lays out
    and draws a figure with any engine once more before drawing it for the file: taken off,
    each chart is drawn once, the same pixels, about a fifth less CPU (tests/unit/test_chart_style.py).
    Without a ``bottom``, no rectangle is given: matplotlib then measures every label once, not twice
    (with a rectangle it lays out twice, the second time inside the margins found the first: the same
    margins and spaces when the rectangle is the whole figure)."""
    for ax in fig.axes:
        title_at_top(ax)
    fig.tight_layout(rect=(0, bottom, 1, 1) if bottom else None)
    fig.set_layout_engine(None)
    fig.savefig(path, dpi=dpi, pil_kwargs={"compress_level": PNG_COMPRESSION})
    plt.close(fig)


def title_at_top(ax) -> None:
    """Give ``ax``'s left title the place matplotlib would find for it (``set_title``'s ``y=1.0``) when nothing can
    stand above the axes: matplotlib otherwise searches for it at each layout and each draw, measuring every label of
    the y axis for its offset text (the Xi'an round's nine charts: about 0.15 s of CPU of 1.8, the same pixels). Left
    to matplotlib when something could: x ticks, tick labels or label at the top, a y axis whose formatter shows an
    offset (``1e6``: only a ``ScalarFormatter``'s depends on the data), axes of its own inside or in its place (a
    twin's ticks at the top), or no left title."""
    xaxis, formatter = ax.xaxis, ax.yaxis.get_major_formatter()
    label = ax.get_title("left")
    if (not label or xaxis.get_label_position() == "top" or isinstance(formatter, ScalarFormatter)
            or formatter.get_offset() or ax.child_axes
            or any(tick.tick2line.get_visible() or tick.label2.get_visible()
                   for tick in (xaxis.majorTicks[0], xaxis.minorTicks[0]))
            or any(other is not ax and other.get_position().bounds == ax.get_position().bounds
                   for other in ax.get_figure().axes)):
        return
    title = [text for text in ax.get_children() if isinstance(text, Text) and text.get_text() == label
             and text.get_horizontalalignment() == "left"][-1]  # the titles come after the axes' own texts
    ax.set_title(label, loc="left", y=1.0, fontsize=title.get_fontsize(), fontweight=title.get_fontweight(),
                 color=title.get_color(), verticalalignment=title.get_verticalalignment())
