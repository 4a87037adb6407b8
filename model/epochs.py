"""One epoch's report and sample order: what the engine and the training loop both need."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EpochLog:
    """What one finished epoch reports; `epoch` counts from 1 across continued runs."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float

    def is_finite(self) -> bool:
        return all(math.isfinite(value) for value in (self.loss, self.val_loss))


def shuffled_order(size: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of one epoch: reproducible from the run's seed and the epoch number."""
    return np.random.default_rng([seed, epoch]).permutation(size).astype(np.int32)
