"""Step 3 of the lesson, fit: train a network for some epochs, reporting each epoch as it ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model.config import TrainConfig
from model.data import Splits
from model.engine import Engine
from model.epochs import EpochLog
from model.forward import NetworkWeights

EpochSink = Callable[[EpochLog, NetworkWeights], None]
StopFlag = Callable[[], bool]


@dataclass
class TrainResult:
    config: TrainConfig
    weights: NetworkWeights
    history: list[EpochLog] = field(default_factory=list)
    stopped: bool = False
    diverged: bool = False
    # Adam's step count and moments at the end (None after a divergence), so Continue resumes exactly.
    optimizer_state: list[np.ndarray] | None = None
    keras_file: bytes | None = None


def train(
    config: TrainConfig,
    splits: Splits,
    *,
    initial: NetworkWeights | None = None,
    first_epoch: int = 1,
    on_epoch: EpochSink | None = None,
    should_stop: StopFlag | None = None,
    optimizer_state: list[np.ndarray] | None = None,
    export_keras: bool = False,
) -> TrainResult:
    """Train `config.epochs` epochs, from `initial` weights if given (Continue) or fresh ones.

    Stops early when `should_stop()` turns true (checked every epoch) or when the
    loss stops being a finite number, keeping the last weights that were finite.
    With `export_keras` the result also carries the trained model as `.keras` bytes.
    """
    if config.augment:
        from model.augment import augmented

        splits = augmented(splits, config)
    engine = Engine.for_config(config, splits)
    engine.start(initial, optimizer_state)
    result = TrainResult(config, engine.weights())
    for epoch in range(first_epoch, first_epoch + config.epochs):
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        log = engine.run_epoch(epoch)
        if not log.is_finite():
            result.diverged = True
            break
        result.weights = engine.weights()
        result.history.append(log)
        if on_epoch is not None:
            on_epoch(log, result.weights)
    if not result.diverged:
        result.optimizer_state = engine.optimizer_state()
    if export_keras:
        result.keras_file = engine.keras_file_bytes(result.weights)
    return result
