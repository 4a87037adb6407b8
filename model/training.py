"""Step 3 of the lesson, fit: train a network for some epochs, reporting each epoch as it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from model.config import TrainConfig
from model.data import Dataset, Splits
from model.engine import Engine
from model.epochs import EpochLog
from model.forward import NetworkWeights

# A graph call runs this long at most, as estimated from the one before: the live chart and
# Stop see a run at least this often.
CALL_SECONDS = 0.25

EpochSink = Callable[[EpochLog, NetworkWeights], None]
CallSink = Callable[[int, float, bool], None]
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
    # Ended by `should_pause` (to go on later from these weights and optimizer state).
    paused: bool = False
    # Whether the epochs ran through the XLA-compiled graph: a resumed run asks for the same.
    xla: bool = False


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
    should_pause: StopFlag | None = None,
    xla: bool | None = None,
    prepared: bool = False,
    on_call: CallSink | None = None,
    pause_after: int | None = None,
) -> TrainResult:
    """Train `config.epochs` epochs, from `initial` weights if given (Continue) or fresh ones.

    The epochs run in graph calls of several at a time, each sized to last about
    `CALL_SECONDS`; `on_epoch` gets each epoch's log with the weights at the end of its call,
    and `on_call(epochs, seconds, xla)` (if given) each call's duration (and graph) first.
    Stops early when `should_stop()` turns true (checked before every call) or when the
    loss stops being a finite number, keeping the last weights that were finite.
    `should_pause()` stops the same way but marks the result paused (no `.keras` export):
    training from its weights and optimizer state at the next epoch goes on exactly.
    `pause_after` pauses the same way once that many epochs are trained (no call runs past it).
    With `export_keras` the result also carries the trained model as `.keras` bytes.
    `prepared` says `splits` are already augmented if the config asks for it.
    """
    if not prepared:
        splits = prepare_splits(config, splits)
    engine = Engine.for_config(config, splits)
    engine.start(initial, optimizer_state)
    result = TrainResult(config, engine.weights())
    result.xla = engine.compiled if xla is None else xla and engine.compiled
    epoch, end = first_epoch, first_epoch + config.epochs
    pause_at = end if pause_after is None else min(end, first_epoch + pause_after)
    # The first call runs one epoch (and pays for tracing); its pace sizes the next calls.
    per_call = 1
    while epoch < end:
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        if epoch == pause_at or (should_pause is not None and should_pause()):
            result.stopped = result.paused = True
            break
        count = min(per_call, pause_at - epoch)
        state_before = engine.optimizer_state()
        started = time.perf_counter()
        logs = engine.run_epochs(epoch, count, result.xla)
        seconds = time.perf_counter() - started
        finite = next((index for index, log in enumerate(logs) if not log.is_finite()), None)
        if finite is not None:
            # Go back to the call's start and train only its finite epochs, for their weights.
            engine.start(result.weights, state_before)
            logs = engine.run_epochs(epoch, finite, result.xla) if finite else []
            result.diverged = True
        if on_call is not None and logs:
            on_call(len(logs), seconds * len(logs) / count, result.xla)
        if logs:
            result.weights = engine.weights()
        for log in logs:
            result.history.append(log)
            if on_epoch is not None:
                on_epoch(log, result.weights)
        if result.diverged:
            break
        epoch += count
        per_call = max(
            1, min(engine.epochs_per_call, int(CALL_SECONDS * count / max(seconds, 1e-6)))
        )
    if not result.diverged:
        result.optimizer_state = engine.optimizer_state()
    if export_keras and not result.paused:
        result.keras_file = engine.keras_file_bytes(result.weights)
    return result


def prepare_splits(config: TrainConfig, splits: Splits, source: Dataset | None = None) -> Splits:
    """The splits a run trains on: sampled, augmented, mislabelled and noisy as the config says.

    `source` is the raw images augmentation redraws, when not the config's dataset's file.
    """
    from model.training_data import training_splits

    return training_splits(splits, config, source)
