"""What a kind of stage is: its words and colour, who serves it, its random streams, how it serves.

A kind is data (:class:`StageKind`); each module of this package describes one.
Every layer reads it from here: the schema takes its configuration model, the
draws its streams and draw function, the staff plan its role, both engines its
``serving`` (which of their serving modules runs it), the outputs its label and
colour. A stage whose name is not a known kind is a plain stage (``plain.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Callable, Literal, Optional, Union

from pydantic import Field

from ..scenario.base import FrozenModel, Servers
from ..scenario.distributions import Duration

if TYPE_CHECKING:  # numpy is loaded by what draws, not by reading a scenario (``validate``)
    import numpy as np

STAGE_NAME = r"^[a-z][a-z0-9_]{0,39}$"
"""A stage's name: lower-case letters, digits and ``_`` (it names columns, streams and staff roles)."""

Sample = Callable[..., "np.ndarray"]
"""``sample(dist, stream, scale=1.0)``: one draw per resident who came, in arrival order, from the named stream."""
Uniform = Callable[[str], "np.ndarray"]
"""``uniform(stream)``: one uniform draw in [0, 1) per resident who came, from the named stream."""

POOL, REGISTRATION, STATIONS = "pool", "registration", "stations"
"""How a stage serves, as both engines implement it: a pool of servers with one line;
registration (a pool of desks, or a registrar paired with each swab station); the swab stations."""


class Divert(FrozenModel):
    """After a stage, a ``share`` of the residents it served go to the side stage ``to``."""

    share: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
    to: Annotated[str, Field(pattern=STAGE_NAME)]


Routes = Union[Divert, Annotated[list[Divert], Field(min_length=1, max_length=20)]]


class PlainStage(FrozenModel):
    """A stage of ``servers`` in one line, each serving in ``service_s`` seconds.

    ``servers: per_tent`` is one server per tent. ``divert`` sends a share of the
    residents served here to a side stage (after which they leave unswabbed).
    """

    servers: Union[Literal["per_tent"], Servers] = 1
    service_s: Duration
    divert: Optional[Routes] = None


def routes(config: FrozenModel) -> tuple[Divert, ...]:
    """The side routes of a stage's configuration (none for kinds that cannot divert).

    Read from the model's own dict: ``getattr`` with a default on a kind without ``divert`` (the swab's) fails
    through pydantic's ``__getattr__`` first, several microseconds at each point of a city."""
    divert = vars(config).get("divert")
    if divert is None:
        return ()
    return (divert,) if isinstance(divert, Divert) else tuple(divert)


@dataclass(frozen=True)
class StageKind:
    """One kind of stage, described once.

    ``name`` is the stage name that selects it (None: the plain kind, any other
    name); ``role`` the staff role serving it (None: the stage's own name, so
    ``staff: {<stage>: 2}`` and rota shifts of role ``<stage>`` staff it);
    ``streams`` the random streams its draws use (None: ``stage:<name>``);
    ``draw(name, config, sample, uniform)`` returns the stage's per-resident
    arrays: ``service_s`` and any extra the log keeps (``qr``, ``disinfection_s``).
    """

    name: Optional[str]
    label: str
    colour: str
    role: Optional[str]
    serving: str
    config: type
    draw: Callable[[str, FrozenModel, Sample, Uniform], dict[str, np.ndarray]]
    streams: Optional[tuple[str, ...]] = None
    side: bool = False
    """Whether a stage of this kind may be a side stage (reached by a divert)."""
    divert: bool = True
    """Whether a stage of this kind may divert residents."""
    server: str = ""
    """One of its servers in words, for levers and tables ("temperature checker"; empty: "<label> server")."""
    staff_count: Optional[str] = None
    """The field of ``staff`` counting its staff (``registrars``; None: the stage's own name)."""
    lever: Optional[str] = None
    """The name of its levers (``desk``: ``desk+1``, ``desk-1``; None: the stage's own name)."""


def stage_stream(name: str) -> str:
    """The random stream of a stage that has no stream of its own from before stages were data."""
    return f"stage:{name}"


def draw_service(name: str, config: PlainStage, sample: Sample, uniform: Uniform, stream: Optional[str] = None) -> dict[str, np.ndarray]:
    """A stage with one service-time law: one draw per resident from the stage's stream."""
    return {"service_s": sample(config.service_s, stream or stage_stream(name))}
