"""chart_style.save: a chart laid out once and drawn once, the pixels savefig gives after tight_layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from simsampling.report.chart_style import DPI, plt, save, style_axes


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
