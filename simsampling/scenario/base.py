"""What every part of a scenario shares: frozen, strict models and the common field types.

Kept apart from ``schema.py`` so that the stage kinds (``simsampling/stages``), which the
schema is built from, can use them too.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


MAX_SERVERS = 10_000


def positive_zero(value):
    """``value`` with every -0.0 made 0.0 (in lists too): a standard deviation of -0.0 passes ``ge=0`` but numpy
    refuses it ("scale < 0"), and "-0" would be printed. Used by every model's before-validator."""
    if type(value) is float and value == 0.0:
        return 0.0
    if isinstance(value, list):
        return [positive_zero(item) for item in value]
    return value


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
