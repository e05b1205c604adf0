"""chart_style.save: a chart laid out once and drawn once, the pixels savefig gives after tight_layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import ScalarFormatter
from PIL import Image

from simsampling.report import chart_style
from simsampling.report.chart_style import DPI, hour_step, plt, save, style_axes, thousands, title_at_top


def _chart():
    fig, axes = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
    for ax in axes:
        ax.plot([6, 12, 20], [0, 1_234_567, 10], label="a line with a long label")
        style_axes(ax, "A title long enough to matter", "time of day", "residents")
        ax.legend(fontsize=8)
    return fig


def test_save_draws_once_the_pixels_of_tight_layout_then_savefig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    draws = []
    drawn = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda fig, renderer: draws.append(fig) or drawn(fig, renderer))
    save(_chart(), tmp_path / "saved.png")
    assert len(draws) == 1

    fig = _chart()
    fig.tight_layout()
    fig.savefig(tmp_path / "plain.png", dpi=DPI)  # matplotlib's own way: laid out and drawn twice
    plt.close(fig)
    assert len(draws) == 3
    saved, plain = (np.asarray(Image.open(tmp_path / name)) for name in ("saved.png", "plain.png"))
    assert saved.shape == plain.shape and np.array_equal(saved, plain)
    # The same pixels compressed less (PNG_COMPRESSION, not Pillow's default level): another, larger file.
    assert (tmp_path / "saved.png").stat().st_size > (tmp_path / "plain.png").stat().st_size


def test_a_layout_without_a_rectangle_is_the_whole_figures():
    """save() gives tight_layout no rectangle when no bottom is kept free (matplotlib then measures every label
    once, not twice): the same margins and spaces as the whole figure's rectangle."""
    params = []
    for rect in ((0, 0, 1, 1), None):
        fig = _chart()
        fig.tight_layout(rect=rect)
        sub = fig.subplotpars
        params.append((sub.left, sub.right, sub.bottom, sub.top, sub.wspace, sub.hspace))
        plt.close(fig)
    assert params[0] == params[1]


@pytest.mark.parametrize("span_h", [0.0, 5.0, 12.0, 20.0, 27.0, 30.0, 100.0, 240.0, 9_600.0, 4e8, 1e300, float("nan")])
def test_an_hour_axis_has_a_few_ticks_whatever_its_span(span_h: float):
    """A round that drains for centuries (a fuzzed ten-day swab) once asked matplotlib for 16.7 million ticks."""
    step = hour_step(span_h)
    assert step >= 1 and (not span_h == span_h or span_h / step <= 12)


def _titled(kind: str):
    """A figure of two panels whose y axes show thousands (``thousands``, no offset), or a matplotlib formatter
    with an offset (``1e6``), or x tick labels at the top."""
    fig, axes = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
    for ax in axes:
        ax.plot([6, 12, 20], [1_000_000, 1_234_567, 1_000_010], label="a line")
        style_axes(ax, "A title long enough to matter, with descenders: gjpqy", "time of day", "residents")
        if kind != "offset":
            thousands(ax)
        if kind == "top":
            ax.tick_params(labeltop=True)
        if kind == "twin":  # a twin in the axes' place, its x tick labels at the top
            twin = ax.twiny()
            twin.set_xlim(0, 1_000)
    return fig


@pytest.mark.parametrize("kind", ["thousands", "offset", "top", "twin"])
def test_a_title_placed_at_the_top_has_the_pixels_matplotlib_finds_for_it(tmp_path: Path, kind: str,
                                                                          monkeypatch: pytest.MonkeyPatch):
    save(_titled(kind), tmp_path / "placed.png")
    monkeypatch.setattr(chart_style, "title_at_top", lambda ax: None)
    save(_titled(kind), tmp_path / "searched.png")
    placed, searched = (np.asarray(Image.open(tmp_path / name)) for name in ("placed.png", "searched.png"))
    assert placed.shape == searched.shape and np.array_equal(placed, searched)


def _title_y_after_an_offset(kind: str) -> list[float]:
    """Where each panel's title ends up once its y axis is given matplotlib's formatter (an offset, ``1e6``)
    after ``title_at_top``."""
    fig = _titled(kind)
    titled = [ax for ax in fig.axes if ax.get_title("left")]  # not a twin
    for ax in titled:
        title_at_top(ax)
        ax.yaxis.set_major_formatter(ScalarFormatter())
    fig.canvas.draw()
    ys = [next(text for text in ax.get_children() if isinstance(text, Text) and text.get_text().startswith("A title"))
          .get_position()[1] for ax in titled]
    plt.close(fig)
    return ys


def test_a_title_is_placed_only_where_nothing_can_stand_above_the_axes():
    assert _title_y_after_an_offset("thousands") == [1.0, 1.0]  # placed: no longer searched, even when it should be
    assert all(y > 1.0 for y in _title_y_after_an_offset("offset"))  # left to matplotlib: moved above the offset
    assert all(y > 1.0 for y in _title_y_after_an_offset("top"))  # above the tick labels at the top
    assert all(y > 1.0 for y in _title_y_after_an_offset("twin"))  # above its twin's tick labels
