"""The worker process: import TensorFlow once, then train slice after slice of the jobs it is sent."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from model.config import TrainConfig
from model.data import CLASS_DRAWINGS_MISSING, DatasetUnavailable, Splits, load_dataset
from model.engine import CACHED_ENGINES
from model.epochs import EpochLog
from model.forward import NetworkWeights
from model.jobs.api import (
    DATASET_ERROR,
    TRAINING_ERROR,
    JobRequest,
    JobResult,
    shape_key,
    with_latest,
)
from model.training_data import Preparation

# Tiny matrices: one thread per worker beats several threads fighting over two cores.
DEFAULT_TF_THREADS = 1
# The worker sends metrics at least this often, and weights (tens to hundreds of kB) less often.
METRICS_INTERVAL_SECONDS = 0.1
WEIGHTS_INTERVAL_SECONDS = 0.3
# The manager sends a queued job the moment it reads a result; a worker waits this long for
# one before it starts compiling for a repeat run (seconds of XLA a queued job would wait for).
NEXT_JOB_WAIT_SECONDS = 0.5
# Workers yield the CPU to the server: on two cores a page view or a Stop click must not wait
# behind training, and a worker importing TensorFlow must not slow the first page down.
WORKER_NICENESS = 10
# Augmented training sets a worker keeps (seconds of Pillow each): a preempted augmented
# run resumes without drawing its copies again.
CACHED_AUGMENTED = 2
# Augmented copies a worker's warm-up times for the cost model (about 3 ms each).
WARM_UP_COPIES = 12


@dataclass(frozen=True)
class Slice:
    """Train `request` until it ends or the manager asks for the worker back (`pause`), or
    after `epochs` of it if given (a newcomer's first epoch while others wait for theirs).

    `xla` pins the graph the job started on (None: the best this worker has).
    """

    job_id: int
    request: JobRequest
    xla: bool | None = None
    epochs: int | None = None


@dataclass(frozen=True)
class Paused:
    """Where a preempted job stands: enough to go on exactly, on this worker or another."""

    weights: NetworkWeights
    optimizer_state: list[np.ndarray] | None
    logs: list[EpochLog]
    seconds: list[float]
    xla: bool


class _Data:
    """The worker's datasets, and the changed training sets (augmented, sampled, noisy) of its
    latest runs, finished or still being made."""

    def __init__(self) -> None:
        self.splits: dict[str, Splits] = {}
        self.augmented: OrderedDict[tuple, Splits] = OrderedDict()
        self.preparing: OrderedDict[tuple, Preparation] = OrderedDict()

    def for_request(
        self, request: JobRequest, should_stop: Callable[[], bool] | None = None
    ) -> Splits | None:
        """The splits `request` trains on; DatasetUnavailable if they cannot be made.

        None if `should_stop()` turned true while they were being made: the copies made so
        far are kept for the job's next slice on this worker.
        """
        key = self._key(request)
        if key is None:
            return self._dataset(request.config.dataset)
        if key not in self.augmented:
            preparation = self.preparing.pop(key, None) or self._preparation(request)
            if not preparation.advance(should_stop):
                _keep(self.preparing, key, preparation)
                return None
            _keep(self.augmented, key, preparation.splits())
        self.augmented.move_to_end(key)
        return self.augmented[key]

    def unchanged(self, request: JobRequest) -> Splits:
        """The splits `request` starts from, before its data settings change the training set."""
        if request.config.dataset == "class":
            return self._combined(request)
        return self._dataset(request.config.dataset)

    def _key(self, request: JobRequest) -> tuple | None:
        """What the run's training set depends on; None if it is the dataset's own."""
        config = request.config
        changes = (config.augment, config.train_size, config.label_noise, config.input_noise)
        if config.dataset == "class":
            drawings = request.class_drawings
            if drawings is None:
                raise DatasetUnavailable(CLASS_DRAWINGS_MISSING)
            # The class's drawings are split by the run's seed, so the seed is in every key.
            return ("class", drawings.digest(), config.seed, *changes)
        if changes == (False, None, 0.0, 0.0):
            return None
        # Every change is seeded by the run's seed: the same settings make the same images.
        return (config.dataset, config.seed, *changes)

    def _dataset(self, name: str) -> Splits:
        from model.data import load_splits

        if name not in self.splits:
            self.splits[name] = load_splits(name)
        return self.splits[name]

    def _combined(self, request: JobRequest) -> Splits:
        from model.class_data import with_class_drawings

        return with_class_drawings(
            self._dataset("bundled"), request.class_drawings, request.config.seed
        )

    def _preparation(self, request: JobRequest) -> Preparation:
        config = request.config
        if config.dataset != "class":
            return Preparation(self._dataset(config.dataset), config)
        from model.class_data import class_dataset
        from model.data import load_bundled

        # Bundled plus the drawings; augmentation redraws each original from 28×28, the
        # drawings' from their pixels.
        source = class_dataset(load_bundled(), request.class_drawings) if config.augment else None
        return Preparation(self._combined(request), config, source)


def _keep(cache: OrderedDict, key: tuple, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > CACHED_AUGMENTED:
        cache.popitem(last=False)


def worker_main(connection: Connection, cancel: Any, pause: Any, tf_threads: int) -> None:
    """A worker's life: import TensorFlow once, warm up, then train slice after slice."""
    _leave_the_servers_signals()
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    # TensorFlow's start-up notices would otherwise fill the server's log once per worker.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's OpenMP pool would otherwise start a thread per core in every worker.
    os.environ.setdefault("OMP_NUM_THREADS", str(tf_threads))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(tf_threads)
    tf.config.threading.set_inter_op_parallelism_threads(tf_threads)
    code = 1
    try:
        _serve_forever(connection, cancel, pause)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        # Tearing TensorFlow down with the interpreter takes seconds, more on a busy machine:
        # a stopping server must not wait for it (nor kill the worker for taking too long).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _leave_the_servers_signals() -> None:
    """Only the manager ends a worker, so that a stopping server can save the job it trains.

    A signal sent to the server's process group (Ctrl+C in its terminal, `kill` of the group)
    would otherwise end the workers before the server has asked for their state, and the run
    would be recorded as failed instead of cut off. Re-importing the server's entry script
    also installs its SIGTERM handler here: the manager's `terminate()` must still end us.
    """
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _serve_forever(connection: Connection, cancel: Any, pause: Any) -> None:
    data = _Data()
    warmed, calibration = _warm_up(data)
    shapes: tuple[tuple, ...] = (warmed,)
    # The manager closing its end while this worker sends means the server is stopping.
    with contextlib.suppress(OSError):
        connection.send(("ready", shapes, calibration))
        while True:
            try:
                message = connection.recv()
            except EOFError:
                return
            if message is None:
                return
            if _serve(message, connection, cancel, pause, data):
                shapes = with_latest(shapes, shape_key(message.request.config), CACHED_ENGINES)
            # Compile only while nothing waits: a queued job should not wait for XLA, nor a
            # stopping server (it asks every worker to pause) for the seconds it takes.
            if not connection.poll(NEXT_JOB_WAIT_SECONDS) and not pause.is_set():
                _compile_idle()
            # A full collection and trim takes 0.3-0.5 s, growing with the worker's age: between
            # queued jobs Python's own collector does, and it waits for an idle moment.
            if not connection.poll():
                _release_memory()
            connection.send(("ready", shapes, None))


def _serve(message: Slice, connection: Connection, cancel: Any, pause: Any, data: _Data) -> bool:
    """Run one slice and send its reply; whether it built (or reused) the job's network."""
    job_id = message.job_id
    try:
        reply = _run_slice(message, connection, cancel, pause, data)
        connection.send(reply)
    except DatasetUnavailable as error:
        connection.send(("error", job_id, str(error), DATASET_ERROR))
        return False
    except OSError:
        raise
    except Exception as error:
        detail = "".join(traceback.format_exception_only(error)).strip()
        connection.send(("error", job_id, f"Training failed: {detail}", TRAINING_ERROR))
        return False
    # Handed back while its copies were still being made: no network was built.
    return reply[2] is not None


def _release_memory() -> None:
    """Hand the freed parts of a finished job's graphs back to the system, not just to malloc."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _compile_idle() -> None:
    from model.engine import compile_latest_engine

    try:
        compile_latest_engine()
    except Exception:  # XLA missing or failing only leaves the slower graph in use
        traceback.print_exc()


def _warm_up(data: _Data) -> tuple[tuple, tuple[TrainConfig, float, float, float]]:
    """Ready the lesson's own network: trace it, train it two epochs, then XLA-compile it.

    That is the graph most learners' first run uses: every width up to the lesson's padded
    ones (`padded_units`: 32 then 16). A one-unit network's epoch first loads Keras, the
    optimizer and tf.function, which the first trace in a process also pays for, so that the
    lesson's trace measures this machine for the cost model: returns the lesson's shape key,
    its tracing (the first call's time less the second's), a plain-graph epoch and the
    seconds of an augmented copy.
    """
    from model.keras_export import template_for
    from model.training import train

    # Neither config changes the training data: both train on the bundled splits as loaded.
    loading = TrainConfig(hidden_units=(1,), epochs=1, batch_size=64)
    train(loading, data.unchanged(JobRequest(loading)))
    lesson = TrainConfig(epochs=2)
    calls: list[float] = []
    train(
        lesson,
        data.unchanged(JobRequest(lesson)),
        on_call=lambda epochs, seconds, xla: calls.append(seconds / epochs),
    )
    _compile_idle()
    # The lesson's kind of `.keras` file: its template takes a real Keras save (about 0.1 s).
    template_for(lesson)
    tracing = max(0.0, calls[0] - calls[-1])
    return shape_key(lesson), (lesson, tracing, calls[-1], _copy_seconds())


def _copy_seconds() -> float:
    """Seconds one augmented copy takes here, timed over a few (after one that loads things)."""
    from model.augment import augmented_features

    dataset = load_dataset("bundled")
    rng = np.random.default_rng(0)
    augmented_features(dataset.images[0], int(dataset.labels[0]), rng)
    started = time.perf_counter()
    for index in range(1, 1 + WARM_UP_COPIES):
        augmented_features(dataset.images[index], int(dataset.labels[index]), rng)
    return (time.perf_counter() - started) / WARM_UP_COPIES


def _run_slice(
    message: Slice, connection: Connection, cancel: Any, pause: Any, data: _Data
) -> tuple:
    """Train until the job ends ("result") or the manager wants the worker back ("paused").

    Progress messages carry each epoch's seconds (its graph call's, shared out): the manager's
    cost model learns from them.
    """
    from model.training import train

    job_id, request = message.job_id, message.request
    config = request.config
    splits = data.for_request(request, should_stop=lambda: pause.is_set() or cancel.is_set())
    if splits is None and not cancel.is_set():
        # Asked for the worker back while the copies were being made: nothing trained yet.
        return ("paused", job_id, None)
    if splits is None:
        # Stopped while its copies were being made: the weights it has (untrained, or the last
        # slice's) are its result, as when a Stop comes just before an epoch.
        splits = data.unchanged(request)
    last_epoch = request.first_epoch + config.epochs - 1
    pending: list[EpochLog] = []
    pending_seconds: list[float] = []
    sent_at = {"metrics": 0.0, "weights": 0.0}
    # Seconds an epoch of the latest graph call took, and whether the slice trains through XLA.
    pace = [0.0]
    compiled = [False]

    def on_call(epochs: int, seconds: float, xla: bool) -> None:
        pace[0] = seconds / epochs
        compiled[0] = xla

    def on_epoch(log: EpochLog, weights: NetworkWeights) -> None:
        now = time.monotonic()
        pending.append(log)
        pending_seconds.append(pace[0])
        final = log.epoch == last_epoch
        if final or now - sent_at["metrics"] >= METRICS_INTERVAL_SECONDS:
            send_weights = final or now - sent_at["weights"] >= WEIGHTS_INTERVAL_SECONDS
            connection.send(
                (
                    "progress",
                    job_id,
                    list(pending),
                    weights if send_weights else None,
                    list(pending_seconds),
                    compiled[0],
                )
            )
            pending.clear()
            pending_seconds.clear()
            sent_at["metrics"] = now
            if send_weights:
                sent_at["weights"] = now

    result = train(
        config,
        splits,
        initial=request.initial,
        first_epoch=request.first_epoch,
        on_epoch=on_epoch,
        should_stop=cancel.is_set,
        optimizer_state=request.optimizer_state,
        export_keras=True,
        should_pause=pause.is_set,
        pause_after=message.epochs,
        xla=message.xla,
        prepared=True,
        on_call=on_call,
    )
    if result.paused:
        state = Paused(
            result.weights, result.optimizer_state, list(pending), list(pending_seconds), result.xla
        )
        return ("paused", job_id, state)
    return (
        "result",
        job_id,
        JobResult(
            config=config,
            weights=result.weights,
            history=tuple(result.history),
            stopped=result.stopped,
            diverged=result.diverged,
            optimizer_state=result.optimizer_state,
            keras_file=result.keras_file,
            test=splits.test,
        ),
        result.xla,
    )
