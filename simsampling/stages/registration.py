"""Registration: the resident's QR code (or ID, typed by hand) and the tube's barcode scanned.

Served by a pool of desks in one line (``servers: N``), or by a registrar paired
with each swab station (``servers: per_tent``): the resident keeps the registrar
until that station's sampler is free, so registration must come right before swab.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Optional, Union

from ..scenario.base import FrozenModel, Servers, Share
from ..scenario.distributions import Duration, Lognormal
from .kind import REGISTRATION, Routes, StageKind

if TYPE_CHECKING:
    import numpy as np


class RegistrationTimes(FrozenModel):
    qr: Duration = Lognormal(dist="lognormal", mean=8, sd=3)
    manual: Duration = Lognormal(dist="lognormal", mean=60, sd=20)


class RegistrationStage(FrozenModel):
    """Scan of the resident's QR code and the tube barcode, or manual entry.

    ``servers: per_tent`` pairs a registrar with each swab station: the resident
    keeps the registrar until that station's sampler is free. An integer is a
    pool of separate desks feeding all stations.
    """

    servers: Union[Literal["per_tent"], Servers] = "per_tent"
    qr_share: Share = 0.8
    service_s: RegistrationTimes = RegistrationTimes()
    divert: Optional[Routes] = None

    @property
    def paired(self) -> bool:
        return self.servers == "per_tent"


def draw(name: str, config: RegistrationStage, sample, uniform) -> dict[str, np.ndarray]:
    """QR or manual per resident (the ``qr`` stream), then the time of the way it registers."""
    import numpy as np

    qr = uniform("qr") < config.qr_share
    by_qr = sample(config.service_s.qr, "registration_qr")
    by_hand = sample(config.service_s.manual, "registration_manual")
    return {"service_s": np.where(qr, by_qr, by_hand), "qr": qr}


KIND = StageKind(
    name="registration",
    label="Registration",
    colour="#3a7ebf",
    role="registrar",
    serving=REGISTRATION,
    config=RegistrationStage,
    streams=("qr", "registration_qr", "registration_manual"),
    server="registration desk",
    staff_count="registrars",
    lever="desk",
    draw=draw,
)
