"""Every known kind of stage, by the name that selects it; any other name is a plain stage.

A new kind is a module of this package with its ``KIND``, listed here (and, if it
serves in a new way, a serving module per engine: see docs/architecture.md).
"""

from __future__ import annotations

from . import health_code, plain, registration, swab, temperature
from .kind import StageKind

KINDS: dict[str, StageKind] = {kind.name: kind for kind in (temperature.KIND, health_code.KIND, registration.KIND, swab.KIND)}
"""Known kinds, in the order a flow usually has them."""
PLAIN = plain.KIND

ROLES = ("sampler", "relief", "registrar", "temperature", "marshal")
"""Staff roles of every point, in the order the outputs list them: those of the known stages'
own fields (``samplers``, ``registrars``, ``temperature``), relief samplers and marshals. Every
other stage (``health_code``, a plain stage) is staffed by a role of its own name."""


def describe(name: str) -> StageKind:
    """The kind of the stage called ``name``."""
    return KINDS.get(name, PLAIN)


def label(name: str) -> str:
    """The stage's name in words, for charts and reports ("Temperature check", "Id check")."""
    return describe(name).label or plain.label(name)


def colour(name: str) -> str:
    """The stage's colour in every chart."""
    return describe(name).colour or plain.colour(name)


def role(name: str) -> str:
    """The staff role serving the stage: its kind's, or for a plain stage its own name."""
    return describe(name).role or name


def server(name: str) -> str:
    """One server of the stage in words ("registration desk", "id check server")."""
    return describe(name).server or f"{label(name).lower()} server"


def staff_count(name: str) -> str:
    """The field of a point's ``staff`` that counts the stage's staff (``registrars``, a plain stage's name)."""
    return describe(name).staff_count or name


def lever(name: str) -> str:
    """The stem of the stage's levers' names: its kind's (``desk`` for ``desk+1``), else its name
    (``<name>_servers`` for a plain stage named like a known kind's stem, ``tent`` say)."""
    stem = describe(name).lever
    if stem:
        return stem
    return name if name not in {kind.lever for kind in KINDS.values()} else f"{name}_servers"
