"""What every part of a scenario shares: frozen, strict models and the common field types.

Kept apart from ``schema.py`` so that the stage kinds (``simsampling/stages``), which the
schema is built from, can use them too.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .distributions import positive_zero

MAX_SERVERS = 10_000


class FrozenModel(BaseModel):
    """A part of a scenario: unknown keys refused, types strict, immutable once validated."""

    # strict: a scenario says what it means (no "5" for 5, no true for 1).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_negative_zero(cls, data):
        return {key: positive_zero(value) for key, value in data.items()} if isinstance(data, dict) else data


Servers = Annotated[int, Field(ge=1, le=MAX_SERVERS)]
Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
