"""Random draws the twin's agents share."""

from __future__ import annotations

import math
import random


def mean_one_lognormal(rng: random.Random, cv: float) -> float:
    """A multiplicative noise factor with mean one and coefficient of variation ``cv`` (1.0 when
    ``cv`` is zero): how much longer or shorter than planned a pick or a ride really takes."""
    if cv <= 0:
        return 1.0
    sigma2 = math.log(1 + cv**2)
    return rng.lognormvariate(-sigma2 / 2, math.sqrt(sigma2))
