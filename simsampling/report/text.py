"""A scenario's text in the results: it stays data in charts, report.html and animation.html.

* Bidirectional text: an override (U+202E RIGHT-TO-LEFT OVERRIDE) in a point's
  name would reverse the rest of a chart title or of the page after it.
  :func:`inert` shows the explicit direction controls as escapes (``\\u202e``),
  and other control characters but line breaks and tabs (an escape sequence);
  :func:`isolated` also wraps the text in FIRST STRONG ISOLATE ... POP
  DIRECTIONAL ISOLATE, so a right-to-left name (Arabic, Hebrew) reads right to
  left without moving the words around it.

CSV cells that a spreadsheet would run as formulas are neutralised where every
text cell goes, ``tables.text_cells``.
"""

from __future__ import annotations

import re
from typing import Any

INERT = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Embeddings, overrides, isolates and their terminators (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI), and the
control characters other than tab, line feed and carriage return."""
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


def inert(text: Any) -> str:
    """The text with every direction control and control character (but line breaks and tabs) shown as an
    escape (``\\u202e``, ``\\x1b``), so none can act on what follows."""
    return INERT.sub(lambda match: repr(match.group())[1:-1], str(text))


def isolated(text: Any) -> str:
    """The text made inert, and isolated from the text around it (Unicode bidi isolate)."""
    return f"{FIRST_STRONG_ISOLATE}{inert(text)}{POP_DIRECTIONAL_ISOLATE}"

