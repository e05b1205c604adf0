"""Any other stage a planner names: servers in one line and a service-time law (an ID check,
a QR desk, an isolation tent reached by a divert)."""

from __future__ import annotations

import hashlib

from .kind import POOL, PlainStage, StageKind, draw_service

PALETTE = ("#6a994e", "#bc4749", "#7b6d8d", "#d4a373", "#577590", "#b5838d", "#4d908e", "#9c6644")
"""Colours of plain stages: each name keeps its colour in every chart and run."""

KIND = StageKind(
    name=None,
    label="",
    colour="",
    role=None,
    serving=POOL,
    config=PlainStage,
    draw=draw_service,
    side=True,
)


def label(name: str) -> str:
    """``id_check`` -> "Id check": the name as words."""
    return name.replace("_", " ").capitalize()


def colour(name: str) -> str:
    return PALETTE[hashlib.blake2b(name.encode("utf-8"), digest_size=2).digest()[0] % len(PALETTE)]
