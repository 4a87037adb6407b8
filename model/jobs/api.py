"""What the job queue's callers see: requests, results, snapshots, states and messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model.class_data import ClassDrawings
from model.config import TrainConfig, padded_units
from model.data import Split
from model.epochs import EpochLog
from model.forward import NetworkWeights

QUEUED, RUNNING, DONE, STOPPED, CANCELLED, FAILED = (
    "queued",
    "running",
    "done",
    "stopped",
    "cancelled",
    "failed",
)
FINISHED_STATES = (DONE, STOPPED, CANCELLED, FAILED)
# Why a job failed, for the page to react (e.g. fall back to the bundled dataset).
DATASET_ERROR, TRAINING_ERROR, WORKER_ERROR, POOL_ERROR = "dataset", "training", "worker", "pool"

WORKER_DIED_MESSAGE = (
    "The training process stopped unexpectedly (exit code {code}), perhaps out of memory. "
    "Your settings and earlier weights are kept: press Train to try again."
)
POOL_BROKEN_MESSAGE = "Training is unavailable: the worker processes could not start ({detail})."
SHUTDOWN_MESSAGE = "The server is shutting down; this job did not finish."
ORPHANED_MESSAGE = (
    "Training was cancelled because this tab was disconnected for more than {seconds:.0f} s: "
    "the training processes are shared by everyone on this server. Press Train again."
)


class JobRefused(RuntimeError):
    """The manager will not queue this job (a cap); the message says what to change."""


@dataclass(frozen=True)
class JobRequest:
    """One training run: from `initial` weights (Continue) or the seed's fresh ones."""

    config: TrainConfig
    initial: NetworkWeights | None = None
    first_epoch: int = 1
    optimizer_state: list[np.ndarray] | None = None
    # The caller's name for what this job trains (a stored run's id), passed to the recorder.
    tag: str | None = None
    # The class's drawings a run with dataset "class" adds to the bundled images (ignored by
    # the other datasets); without them such a run fails as a dataset error.
    class_drawings: ClassDrawings | None = None


# Called with a snapshot of a tagged job, under the manager's lock: it must not block.
Recorder = Callable[["JobView"], None]


@dataclass(frozen=True)
class JobResult:
    """A finished (or stopped) run as plain NumPy data: nothing here needs TensorFlow to read."""

    config: TrainConfig
    weights: NetworkWeights
    history: tuple[EpochLog, ...]
    stopped: bool
    diverged: bool
    optimizer_state: list[np.ndarray] | None
    keras_file: bytes | None
    test: Split


@dataclass(frozen=True)
class JobView:
    """A snapshot of one job, safe to read from any thread."""

    job_id: int
    owner: str
    state: str
    position: int | None
    epochs_done: int
    epochs_total: int
    history: tuple[EpochLog, ...]
    weights: NetworkWeights | None
    error: str | None
    error_kind: str | None
    result: JobResult | None
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    worker_pid: int | None
    # True while no worker has finished importing TensorFlow yet.
    pool_starting: bool = False
    tag: str | None = None
    # The number of the job's first epoch (after the earlier jobs of a continued run).
    first_epoch: int = 1
    # Seconds of training the job has had, and the scheduler's estimate of the wait until it
    # (re)starts while it is queued (None when it cannot tell).
    service_seconds: float = 0.0
    estimated_wait: float | None = None
    # Seconds of training left, from the job's own pace or the server's cost model.
    work_left: float | None = None
    # Queued again after it trained for a while, so that shorter runs could go first; and
    # how many slices of training it has begun.
    preempted: bool = False
    slices: int = 0
    # The optimizer's state that goes with `weights` while the job is off a worker (queued
    # after a pause, or handed back by a stopping server); None while a worker trains it.
    optimizer_state: list[np.ndarray] | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at

    @property
    def eta(self) -> float | None:
        """Seconds of training left, from the pace so far; None until an epoch has finished."""
        if self.state != RUNNING or self.epochs_done == 0:
            return None
        if self.work_left is not None:
            return self.work_left
        return self.elapsed / self.epochs_done * (self.epochs_total - self.epochs_done)


def shape_key(config: TrainConfig) -> tuple:
    """What a worker's cached, compiled training graph depends on (as `model.engine.engine_key`):
    seed, learning rate and the units within one padded width are not."""
    return (
        padded_units(config.hidden_units),
        config.activation,
        config.loss,
        config.optimizer,
        config.batch_size,
        config.dataset,
        config.augment,
        config.train_size,
    )


def with_latest(shapes: tuple[tuple, ...], key: tuple, kept: int) -> tuple[tuple, ...]:
    """A worker's traced shapes after it trains `key`: the latest `kept`, as its engine cache
    keeps them (`model.engine.CACHED_ENGINES`)."""
    return (*(shape for shape in shapes if shape != key), key)[-kept:]
