"""How long a run takes on this server: steps per epoch × a step's cost, calibrated as workers train."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from model.augment import AUGMENTED_COPIES
from model.config import TrainConfig, padded_config, padded_units, parameter_counts

# Training images per dataset (70 % of 1,000 and of about 14,780), until a worker reports them.
# "class" adds 70 % of a class's drawings to the bundled 700: tens of images, a few percent of
# an epoch, so the estimate leaves them out rather than ask for the drawings.
TRAIN_IMAGES = {"bundled": 700, "mnist": 10346, "class": 700}
# The prior, from the plain (not yet XLA-compiled) graph on this project's 2-core machine:
# a step's fixed cost, its cost per layer, and per multiply-add of the forward and backward pass.
PRIOR_STEP_SECONDS = 1.0e-4
PRIOR_LAYER_STEP_SECONDS = 5.0e-5
PRIOR_MAC_SECONDS = 7.6e-11
# Validation and the loop's Python, once an epoch.
PRIOR_EPOCH_SECONDS = 1.0e-3
# Building a fresh network shape's model and tracing its epoch graph, once a run: a fixed
# part, and a part per layer of weights (each one's step is traced).
START_SECONDS = 0.2
START_LAYER_SECONDS = 0.05
# Making one augmented copy of a training image (Pillow, `model.augment`), before the first
# epoch: 24 copies of the 700 images take about 50 s here, far more than the epochs of a short
# run. Each worker's warm-up times a few copies (`CostModel.calibrate`).
PRIOR_COPY_SECONDS = 3.0e-3
# Weight of the newest measurement in the running averages.
SMOOTHING = 0.3
# How far the measured shapes may move the prior for the others: a few shapes on a busy
# machine say little about a very different one.
FACTOR_RANGE = (0.25, 4.0)
# Forward pass, then gradients for the inputs and for the weights: three products per weight.
MACS_PER_WEIGHT = 3


def original_images(config: TrainConfig) -> int:
    """The training images a run samples before any copies: the size asked for, or all."""
    originals = TRAIN_IMAGES[config.dataset]
    return originals if config.train_size is None else min(originals, config.train_size)


def train_images(config: TrainConfig) -> int:
    """How many images one epoch trains on: the sample asked for (or all), with their copies."""
    copies = 1 + AUGMENTED_COPIES if config.augment else 1
    return original_images(config) * copies


def steps_per_epoch(config: TrainConfig, images: int | None = None) -> int:
    images = train_images(config) if images is None else images
    return math.ceil(images / min(config.batch_size, images))


def prior_epoch_seconds(config: TrainConfig, images: int | None = None) -> float:
    """One epoch's seconds before anything was measured on this server."""
    images = train_images(config) if images is None else images
    batch = min(config.batch_size, images)
    # The engine's arithmetic is its padded network's (`padded_units`).
    weights = sum(parameter_counts(padded_config(config)))
    step = (
        PRIOR_STEP_SECONDS
        + PRIOR_LAYER_STEP_SECONDS * (len(config.hidden_units) + 1)
        + PRIOR_MAC_SECONDS * MACS_PER_WEIGHT * batch * weights
    )
    return steps_per_epoch(config, images) * step + PRIOR_EPOCH_SECONDS


def prior_tracing_seconds(config: TrainConfig) -> float:
    """Building a fresh shape's model and tracing its epoch graph, before anything was measured."""
    return START_SECONDS + START_LAYER_SECONDS * (len(config.hidden_units) + 1)


def preparation_seconds(config: TrainConfig, copy_seconds: float = PRIOR_COPY_SECONDS) -> float:
    """Seconds of making the run's augmented copies before it trains (none without augmentation)."""
    if not config.augment:
        return 0.0
    return original_images(config) * AUGMENTED_COPIES * copy_seconds


def _smoothed(old: float | None, new: float) -> float:
    return new if old is None else (1 - SMOOTHING) * old + SMOOTHING * new


def cost_key(config: TrainConfig) -> tuple:
    """What an epoch's cost depends on: the network as the engine pads it, the batch and the
    training set's size."""
    return (
        padded_units(config.hidden_units),
        config.activation,
        config.loss,
        config.optimizer,
        config.batch_size,
        config.dataset,
        config.augment,
    )


@dataclass
class CostModel:
    """Epoch seconds measured per network shape; a shape not measured yet gets the prior times
    how much faster or slower than the prior this server has been on the shapes it measured."""

    factor: float = 1.0
    measured: dict[tuple, float] = field(default_factory=dict)
    # How much slower than the prior this server traces a fresh shape (None: not measured).
    start_factor: float | None = None
    # Plain-graph epochs that moved `factor`: the first sets it, the later ones smooth it.
    plain_epochs: int = 0
    # Seconds of one augmented copy on this server, as the workers' warm-ups timed it.
    copy_seconds: float | None = None

    def observe(self, config: TrainConfig, seconds: float, compiled: bool = False) -> None:
        """One epoch of `config` took `seconds` of a worker's time (not its first of a slice),
        through the XLA-compiled graph if `compiled`.

        Only the plain graph's epochs calibrate the other shapes: a shape not measured yet is
        new to the workers, and a new shape trains through the plain graph.
        """
        if not math.isfinite(seconds) or seconds <= 0:
            return
        key = cost_key(config)
        self.measured[key] = _smoothed(self.measured.get(key), seconds)
        if not compiled:
            self._scale_epochs(seconds / prior_epoch_seconds(config))

    def _scale_epochs(self, ratio: float) -> None:
        low, high = FACTOR_RANGE
        old = self.factor if self.plain_epochs else None
        self.factor = min(high, max(low, _smoothed(old, ratio)))
        self.plain_epochs += 1

    def calibrate(
        self, config: TrainConfig, tracing: float, epoch: float, copy: float | None = None
    ) -> None:
        """A worker's warm-up: tracing `config`'s graph took `tracing` seconds, an epoch of it
        on the plain graph `epoch` and an augmented copy `copy`. They scale the prior; no
        shape's own cost is set (the warm-up's shape is XLA-compiled next, and trains faster
        than this epoch)."""
        low, high = FACTOR_RANGE
        if copy is not None and math.isfinite(copy) and copy > 0:
            self.copy_seconds = _smoothed(self.copy_seconds, copy)
        if math.isfinite(tracing) and tracing > 0:
            ratio = tracing / prior_tracing_seconds(config)
            self.start_factor = min(high, max(low, _smoothed(self.start_factor, ratio)))
        if math.isfinite(epoch) and epoch > 0:
            self._scale_epochs(epoch / prior_epoch_seconds(config))

    def epoch_seconds(self, config: TrainConfig) -> float:
        measured = self.measured.get(cost_key(config))
        return measured if measured is not None else prior_epoch_seconds(config) * self.factor

    def start_seconds(self, config: TrainConfig, traced: bool = False) -> float:
        """Setting a run up before its first epoch: the graph's tracing (unless a worker has
        `traced` the shape already), then the copies."""
        tracing = 0.0 if traced else prior_tracing_seconds(config) * (self.start_factor or 1.0)
        return tracing + preparation_seconds(config, self.copy_seconds or PRIOR_COPY_SECONDS)

    def run_seconds(
        self, config: TrainConfig, epochs: int | None = None, traced: bool = False
    ) -> float:
        """A run of `epochs` (the config's by default) from submit to its last epoch, alone."""
        epochs = config.epochs if epochs is None else epochs
        return self.start_seconds(config, traced) + epochs * self.epoch_seconds(config)
