"""Probability distributions as they are written in scenario files.

Each distribution is a small frozen pydantic model tagged by ``dist``; the
random module turns it into numpy draws. Keeping the description separate from
the sampling lets a scenario be validated, saved and compared without drawing.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field, model_validator

from .base import FrozenModel

_FINITE = {"allow_inf_nan": False}
# Far beyond any real service time or lateness (ten days), small enough to keep
# every computation finite: an "impossible number" is refused, not simulated.
_LIMIT = 864_000.0
Number = Annotated[float, Field(ge=-_LIMIT, le=_LIMIT, **_FINITE)]
Positive = Annotated[float, Field(gt=0, le=_LIMIT, **_FINITE)]
NonNegative = Annotated[float, Field(ge=0, le=_LIMIT, **_FINITE)]


class _Dist(FrozenModel):
    @property
    def mean_value(self) -> float:
        """Mean of the distribution before any truncation at zero."""
        raise NotImplementedError


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: Number

    @property
    def mean_value(self) -> float:
        return self.value


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean: Positive

    @property
    def mean_value(self) -> float:
        return self.mean


class Lognormal(_Dist):
    """Parameterised by the mean and standard deviation of the values themselves."""

    dist: Literal["lognormal"]
    mean: Positive
    sd: NonNegative

    @property
    def mean_value(self) -> float:
        return self.mean


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: Number
    mode: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> "Triangular":
        if not self.low <= self.mode <= self.high:
            raise ValueError("needs low <= mode <= high")
        if self.low == self.high:
            raise ValueError("needs low < high (use dist: fixed for a constant)")
        return self

    @property
    def mean_value(self) -> float:
        return (self.low + self.mode + self.high) / 3.0


class Normal(_Dist):
    """Truncated at zero when it describes a duration (resampled, not clipped)."""

    dist: Literal["normal"]
    mean: Number
    sd: NonNegative

    @property
    def mean_value(self) -> float:
        return self.mean


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.low > self.high:
            raise ValueError("needs low <= high")
        return self

    @property
    def mean_value(self) -> float:
        return (self.low + self.high) / 2.0


class Gamma(_Dist):
    """Gamma with ``shape`` k and ``scale`` theta (mean k theta), as numpy and scipy write it."""

    dist: Literal["gamma"]
    shape: Positive
    scale: Positive

    @property
    def mean_value(self) -> float:
        return self.shape * self.scale


class Weibull(_Dist):
    """Weibull with ``shape`` k and ``scale`` lambda: P(X > x) = exp(-(x / lambda)^k)."""

    dist: Literal["weibull"]
    shape: Annotated[float, Field(ge=0.05, le=1000, allow_inf_nan=False)]
    scale: Positive

    @property
    def mean_value(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)


class Empirical(_Dist):
    """Draws uniformly among observed values (a bootstrap of a field survey)."""

    dist: Literal["empirical"]
    values: Annotated[list[Number], Field(min_length=1, max_length=100_000)]

    @property
    def mean_value(self) -> float:
        return sum(self.values) / len(self.values)


Distribution = Annotated[
    Union[Fixed, Exponential, Lognormal, Triangular, Normal, Uniform, Gamma, Weibull, Empirical],
    Field(discriminator="dist"),
]


def _require_duration(dist: _Dist) -> _Dist:
    """A duration cannot be negative: refuse parameters that would give one."""
    if isinstance(dist, Fixed) and dist.value < 0:
        raise ValueError("a duration cannot be negative")
    if isinstance(dist, (Triangular, Uniform)) and dist.low < 0:
        raise ValueError("a duration cannot be negative: low must be >= 0")
    if isinstance(dist, Empirical) and min(dist.values) < 0:
        raise ValueError("a duration cannot be negative: all values must be >= 0")
    if isinstance(dist, Normal) and dist.mean <= 0:
        raise ValueError("a duration drawn from a normal needs mean > 0 (it is truncated at 0)")
    return dist


Duration = Annotated[Distribution, AfterValidator(_require_duration)]
"""A distribution of non-negative durations (service times, delays)."""

Offset = Distribution
"""A distribution of signed offsets (lateness: negative means early)."""
