"""The process-wide training job queue: a pool of worker processes that each import TensorFlow once."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

from model.config import TrainConfig
from model.data import DatasetUnavailable, Split
from model.engine import CACHED_ENGINES
from model.forward import NetworkWeights
from model.training import EpochLog

WORKERS_ENV = "ZOL_WORKERS"
JOBS_PER_WORKER_ENV = "ZOL_JOBS_PER_WORKER"
TF_THREADS_ENV = "ZOL_TF_THREADS"
ORPHAN_GRACE_ENV = "ZOL_ORPHAN_GRACE_SECONDS"
# A file to append one line per finished job to (see `JOB_LOG_COLUMNS`), for whoever runs
# the server: queue waits and training times of a class.
JOB_LOG_ENV = "ZOL_JOB_LOG"
JOB_LOG_COLUMNS = (
    "finished_unix",
    "job",
    "state",
    "epochs",
    "queued_s",
    "training_s",
    "worker_pid",
)
# Each job keeps about 25 MB for good in its worker (TensorFlow's traced graphs of a new
# network shape); a fresh process hands it all back. Ten jobs bound a worker near 1.1 GB.
DEFAULT_JOBS_PER_WORKER = 10
# While jobs wait and no other worker serves them, a used-up worker goes on up to this many
# times its budget.
RECYCLE_GRACE_FACTOR = 2
# Tiny matrices: one thread per worker beats several threads fighting over two cores.
DEFAULT_TF_THREADS = 1
# The worker sends metrics at least this often, and weights (tens to hundreds of kB) less often.
METRICS_INTERVAL_SECONDS = 0.1
WEIGHTS_INTERVAL_SECONDS = 0.3
# The manager sends a queued job the moment it reads a result; a worker waits this long for
# one before it starts compiling for a repeat run (seconds of XLA a queued job would wait for).
NEXT_JOB_WAIT_SECONDS = 0.5
# A job whose owner (a browser session) has been gone this long is cancelled and forgotten;
# long enough to survive a page reload or a brief network drop.
DEFAULT_ORPHAN_GRACE_SECONDS = 30.0
# Workers yield the CPU to the server: on two cores a page view or a Stop click must not wait
# behind training, and a worker importing TensorFlow must not slow the first page down.
WORKER_NICENESS = 10
ORPHAN_GRACE_SECONDS = float(os.environ.get(ORPHAN_GRACE_ENV) or DEFAULT_ORPHAN_GRACE_SECONDS)
OWNER_CHECK_SECONDS = 5.0
# A worker that dies this many times in a row before it is ready means the pool cannot start.
MAX_FAILED_STARTS = 3
SHUTDOWN_SECONDS = 10.0
# A job with a tag is handed to the recorder at most this often while it trains (and always
# when it ends, or when the server stops): what a restart can lose.
CHECKPOINT_SECONDS = 3.0

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
# How many cancelled orphans' job ids keep their reason, for a tab that comes back later.
GONE_REASONS_KEPT = 1000


@dataclass(frozen=True)
class JobRequest:
    """One training run: from `initial` weights (Continue) or the seed's fresh ones."""

    config: TrainConfig
    initial: NetworkWeights | None = None
    first_epoch: int = 1
    optimizer_state: list[np.ndarray] | None = None
    # The caller's name for what this job trains (a stored run's id), passed to the recorder.
    tag: str | None = None


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
        """Seconds left, from the pace so far; None until an epoch has finished."""
        if self.state != RUNNING or self.epochs_done == 0:
            return None
        return self.elapsed / self.epochs_done * (self.epochs_total - self.epochs_done)


@dataclass
class _Job:
    job_id: int
    owner: str
    request: JobRequest
    state: str = QUEUED
    history: list[EpochLog] = field(default_factory=list)
    weights: NetworkWeights | None = None
    error: str | None = None
    error_kind: str | None = None
    result: JobResult | None = None
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    worker: _Worker | None = None
    worker_pid: int | None = None
    recorded_at: float = 0.0


@dataclass
class _Worker:
    process: Any
    connection: Connection
    cancel: Any
    ready: bool = False
    # Idle and not compiling, and the network shapes it has compiled for (see `shape_key`).
    settled: bool = False
    shapes: tuple[tuple, ...] = ()
    jobs_started: int = 0
    job: _Job | None = None
    retiring: bool = False


def shape_key(config: TrainConfig) -> tuple:
    """What a worker's cached, compiled training graph depends on; seed and learning rate are not."""
    return (
        config.hidden_units,
        config.activation,
        config.loss,
        config.optimizer,
        config.batch_size,
        config.dataset,
        config.augment,
        # The epoch graph is traced for one number of training images.
        config.train_size,
    )


def configured_workers() -> int:
    return max(1, int(os.environ.get(WORKERS_ENV) or os.cpu_count() or 1))


def configured_jobs_per_worker() -> int:
    return max(1, int(os.environ.get(JOBS_PER_WORKER_ENV) or DEFAULT_JOBS_PER_WORKER))


class JobManager:
    """Runs training jobs first-in first-out on a pool of spawned worker processes.

    All state changes happen under one lock; one dispatcher thread moves jobs to idle
    workers and reads what the workers send back. The worker processes start
    `start_delay` seconds after the manager, or at once when a job is submitted: starting
    Python processes that import TensorFlow would otherwise slow down the page being drawn.
    A `recorder` sees every tagged job's progress (every `checkpoint_seconds` at most), its end,
    and its latest state when the manager shuts down, so that the caller can keep it.
    """

    def __init__(
        self,
        workers: int | None = None,
        jobs_per_worker: int | None = None,
        owner_alive: Callable[[str], bool] | None = None,
        start_delay: float = 0.0,
        recorder: Recorder | None = None,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
    ) -> None:
        self.size = workers if workers is not None else configured_workers()
        self.jobs_per_worker = jobs_per_worker or configured_jobs_per_worker()
        self._owner_alive = owner_alive
        self._recorder = recorder
        self._checkpoint_seconds = checkpoint_seconds
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[int, _Job] = {}
        self._queue: deque[_Job] = deque()
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._failed_starts = 0
        self._broken: str | None = None
        self._owners_gone_since: dict[str, float] = {}
        self._gone_reasons: OrderedDict[int, str] = OrderedDict()
        self._job_log = os.environ.get(JOB_LOG_ENV) or None
        self._last_owner_check = 0.0
        self._closed = False
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)
        self.workers_started = 0
        # When the dispatcher starts the workers; None once they are started.
        self._start_at: float | None = time.monotonic() + start_delay
        if start_delay <= 0:
            self._start_workers()
        self._dispatcher = threading.Thread(target=self._dispatch, name="job-manager", daemon=True)
        self._dispatcher.start()
        _OPEN_MANAGERS.add(self)

    # -- public API ----------------------------------------------------------------------

    def submit(self, request: JobRequest, owner: str = "") -> int:
        with self._lock:
            if self._closed:
                raise RuntimeError("the job manager is shut down")
            job = _Job(next(self._ids), owner, request)
            self._jobs[job.job_id] = job
            if self._broken:
                message = POOL_BROKEN_MESSAGE.format(detail=self._broken)
                self._finish(job, FAILED, error=message, kind=POOL_ERROR)
            else:
                self._queue.append(job)
                self._start_workers()
        self._wake()
        return job.job_id

    def status(self, job_id: int) -> JobView | None:
        """The job's state, metrics and latest weights; None if unknown or forgotten."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._view(job, with_history=True)

    def peek(self, job_id: int) -> JobView | None:
        """Like `status` without copying the metrics history: cheap enough for every rerun."""
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self._view(job, with_history=False)

    def wait(
        self, job_id: int, until: Callable[[JobView], bool], timeout: float | None = None
    ) -> JobView | None:
        """Block until `until(view)` holds (checked on every update) or the timeout passes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                job = self._jobs.get(job_id)
                view = None if job is None else self._view(job, with_history=True)
                if view is None or until(view) or view.finished:
                    return view
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return view
                self._changed.wait(left)

    def cancel(self, job_id: int) -> None:
        """A queued job leaves the queue; a running one stops after its current epoch."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._cancel(job)

    def forget(self, job_id: int) -> None:
        """Drop a job's record (cancelling it first if it has not finished)."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is not None:
                self._cancel(job)

    def cancel_owner(self, owner: str, forget: bool = True, reason: str | None = None) -> None:
        """Cancel (and by default forget) every job of one owner, e.g. a closed browser tab;
        `reason` is what `gone_reason` says of each forgotten job."""
        with self._lock:
            self._cancel_owner(owner, forget, reason)

    def adopt(self, tag: str, owner: str) -> int | None:
        """The unfinished job with this tag, from now on owned by `owner`; None if there is none.

        A reloaded tab (a new session) takes its run's job back before the old tab's absence
        would cancel it.
        """
        with self._lock:
            for job in self._jobs.values():
                if job.request.tag == tag and job.state in (QUEUED, RUNNING):
                    job.owner = owner
                    return job.job_id
        return None

    def gone_reason(self, job_id: int) -> str | None:
        """Why the manager itself dropped a job, e.g. its tab was away too long; else None."""
        with self._lock:
            return self._gone_reasons.get(job_id)

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [worker.process.pid for worker in self._workers]

    def ready_workers(self) -> int:
        with self._lock:
            return sum(worker.ready for worker in self._workers)

    def wait_until_ready(self, timeout: float = 120.0) -> bool:
        """Start the workers if they are still delayed, then block until every one has imported
        TensorFlow and is idle (or the pool is broken)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._start_workers()
            while not self._broken and not all(
                worker.ready and worker.settled and worker.job is None for worker in self._workers
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return not self._broken

    def shutdown(self) -> None:
        """Stop the dispatcher and every worker; unfinished jobs fail with a message."""
        with self._lock:
            if self._closed:
                return
            unfinished = list(self._queue) + [w.job for w in self._workers if w.job]
            # Their last state is what a restarted server resumes from.
            for job in unfinished:
                self._record(job, force=True)
            self._closed = True
            for job in unfinished:
                self._finish(job, FAILED, error=SHUTDOWN_MESSAGE, kind=POOL_ERROR)
            self._queue.clear()
            for worker in self._workers:
                worker.cancel.set()
        self._wake()
        self._dispatcher.join(SHUTDOWN_SECONDS)
        for worker in self._workers:
            if worker.ready:
                self._stop_worker(worker)
            else:
                # Still importing TensorFlow: it holds no job, and would not read the message yet.
                worker.process.terminate()
        for worker in self._workers:
            worker.process.join(SHUTDOWN_SECONDS)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        self._workers.clear()
        _OPEN_MANAGERS.discard(self)

    # -- inside the lock -----------------------------------------------------------------

    def _view(self, job: _Job, with_history: bool) -> JobView:
        position = None
        if job.state == QUEUED:
            position = next(
                (index for index, queued in enumerate(self._queue, start=1) if queued is job),
                None,
            )
        return JobView(
            job_id=job.job_id,
            owner=job.owner,
            state=job.state,
            position=position,
            epochs_done=len(job.history),
            epochs_total=job.request.config.epochs,
            history=tuple(job.history) if with_history else (),
            weights=job.weights,
            error=job.error,
            error_kind=job.error_kind,
            result=job.result,
            submitted_at=job.submitted_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            worker_pid=job.worker_pid,
            pool_starting=not any(worker.ready for worker in self._workers),
            tag=job.request.tag,
            first_epoch=job.request.first_epoch,
        )

    def _record(self, job: _Job, force: bool) -> None:
        if self._recorder is None or job.request.tag is None:
            return
        now = time.monotonic()
        if not force and now - job.recorded_at < self._checkpoint_seconds:
            return
        job.recorded_at = now
        try:
            self._recorder(self._view(job, with_history=True))
        except Exception:  # a failing recorder must not stop training or the dispatcher
            traceback.print_exc()

    def _cancel_owner(self, owner: str, forget: bool, reason: str | None) -> None:
        for job in [job for job in self._jobs.values() if job.owner == owner]:
            self._cancel(job)
            if forget:
                self._jobs.pop(job.job_id, None)
                if reason is not None:
                    self._gone_reasons[job.job_id] = reason
        while len(self._gone_reasons) > GONE_REASONS_KEPT:
            self._gone_reasons.popitem(last=False)

    def _cancel(self, job: _Job) -> None:
        if job.state == QUEUED:
            self._queue.remove(job)
            self._finish(job, CANCELLED)
        elif job.state == RUNNING and job.worker is not None:
            job.worker.cancel.set()

    def _finish(
        self, job: _Job, state: str, error: str | None = None, kind: str | None = None
    ) -> None:
        job.state = state
        job.error = error
        job.error_kind = kind
        job.finished_at = time.monotonic()
        if job.worker is not None:
            job.worker.job = None
            job.worker = None
        self._changed.notify_all()
        if not self._closed:
            self._record(job, force=True)
        if self._job_log is not None:
            _append_job_log(self._job_log, job)

    def _start_workers(self) -> None:
        if self._start_at is None or self._closed:
            return
        self._start_at = None
        for _ in range(self.size):
            self._start_worker()

    def _start_worker(self) -> None:
        parent_end, child_end = self._context.Pipe()
        cancel = self._context.Event()
        tf_threads = int(os.environ.get(TF_THREADS_ENV) or DEFAULT_TF_THREADS)
        process = self._context.Process(
            target=worker_main,
            args=(child_end, cancel, tf_threads),
            name="zol-training-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        self.workers_started += 1
        self._workers.append(_Worker(process, parent_end, cancel))

    def _stop_worker(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError, ValueError):
            worker.connection.send(None)

    def _free_worker(self, config: TrainConfig) -> _Worker | None:
        """An idle worker, best one that has compiled this shape; one still compiling will do."""
        free = [w for w in self._workers if w.ready and w.job is None and not w.retiring]
        key = shape_key(config)
        for preferred in (
            [w for w in free if w.settled and key in w.shapes],
            [w for w in free if w.settled],
            free,
        ):
            if preferred:
                return preferred[0]
        return None

    def _assign(self) -> None:
        while self._queue:
            worker = self._free_worker(self._queue[0].request.config)
            if worker is None:
                return
            job = self._queue.popleft()
            worker.cancel.clear()
            try:
                worker.connection.send((job.job_id, job.request))
            except (OSError, ValueError):
                self._queue.appendleft(job)
                return
            worker.job = job
            worker.jobs_started += 1
            job.worker = worker
            job.worker_pid = worker.process.pid
            job.state = RUNNING
            job.started_at = time.monotonic()
            self._changed.notify_all()

    # -- the dispatcher thread ----------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._wake_writer.send_bytes(b"!")

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                timeout = OWNER_CHECK_SECONDS
                if self._start_at is not None:
                    timeout = min(timeout, self._start_at - time.monotonic())
                    if timeout <= 0:
                        self._start_workers()
                        timeout = OWNER_CHECK_SECONDS
                self._assign()
                self._check_owners()
                waitables: list[Any] = [self._wake_reader]
                for worker in self._workers:
                    waitables += [worker.connection, worker.process.sentinel]
            for ready in wait(waitables, timeout=timeout):
                if ready is self._wake_reader:
                    while self._wake_reader.poll():
                        self._wake_reader.recv_bytes()
                    continue
                worker = self._worker_for(ready)
                if worker is None:
                    continue
                if ready is worker.connection:
                    self._receive(worker)
                else:
                    self._worker_exited(worker)

    def _worker_for(self, handle: Any) -> _Worker | None:
        with self._lock:
            return next(
                (
                    worker
                    for worker in self._workers
                    if handle in (worker.connection, worker.process.sentinel)
                ),
                None,
            )

    def _receive(self, worker: _Worker) -> None:
        try:
            while worker.connection.poll():
                self._handle(worker, worker.connection.recv())
        except (EOFError, OSError):
            self._worker_exited(worker)

    def _handle(self, worker: _Worker, message: tuple) -> None:
        kind = message[0]
        with self._lock:
            if kind == "ready":
                worker.ready = True
                worker.settled = True
                worker.shapes = message[1]
                self._failed_starts = 0
                self._changed.notify_all()
                return
            job = worker.job
            if job is None or job.job_id != message[1]:
                return
            if kind in ("result", "error"):
                worker.settled = False
            if kind == "progress":
                _, _, logs, weights = message
                job.history.extend(logs)
                if weights is not None:
                    job.weights = weights
                    self._record(job, force=False)
                self._changed.notify_all()
            elif kind == "result":
                result: JobResult = message[2]
                job.history = list(result.history)
                job.weights = result.weights
                job.result = result
                self._finish(job, STOPPED if result.stopped else DONE)
                self._retire_if_used_up(worker)
            elif kind == "error":
                self._finish(job, FAILED, error=message[2], kind=message[3])
                self._retire_if_used_up(worker)

    def _retire_if_used_up(self, worker: _Worker) -> None:
        if worker.jobs_started < self.jobs_per_worker or self._closed:
            return
        # A replacement imports TensorFlow for seconds: while jobs wait and no other worker
        # serves them (it is the only one, or the other is being replaced), this one goes on.
        another_serving = any(
            other.ready and not other.retiring for other in self._workers if other is not worker
        )
        within_grace = worker.jobs_started < self.jobs_per_worker * RECYCLE_GRACE_FACTOR
        if self._queue and not another_serving and within_grace:
            return
        worker.retiring = True
        self._stop_worker(worker)

    def _worker_exited(self, worker: _Worker) -> None:
        worker.process.join(SHUTDOWN_SECONDS)
        with self._lock:
            if worker not in self._workers:
                return
            self._workers.remove(worker)
            worker.connection.close()
            if self._closed:
                return
            if worker.job is not None:
                code = worker.process.exitcode
                message = WORKER_DIED_MESSAGE.format(code=code)
                self._finish(worker.job, FAILED, error=message, kind=WORKER_ERROR)
            if not worker.ready and not worker.retiring:
                self._failed_starts += 1
                if self._failed_starts >= MAX_FAILED_STARTS:
                    self._break(f"exit code {worker.process.exitcode}")
                    return
            self._start_worker()
            self._changed.notify_all()

    def _break(self, detail: str) -> None:
        self._broken = detail
        message = POOL_BROKEN_MESSAGE.format(detail=detail)
        while self._queue:
            self._finish(self._queue.popleft(), FAILED, error=message, kind=POOL_ERROR)
        self._changed.notify_all()

    def _check_owners(self) -> None:
        now = time.monotonic()
        if self._owner_alive is None or now - self._last_owner_check < OWNER_CHECK_SECONDS:
            return
        self._last_owner_check = now
        owners = {job.owner for job in self._jobs.values()}
        for owner in owners:
            if self._owner_alive(owner):
                self._owners_gone_since.pop(owner, None)
                continue
            gone_since = self._owners_gone_since.setdefault(owner, now)
            if now - gone_since >= ORPHAN_GRACE_SECONDS:
                reason = ORPHANED_MESSAGE.format(seconds=ORPHAN_GRACE_SECONDS)
                self._cancel_owner(owner, forget=True, reason=reason)
                self._owners_gone_since.pop(owner, None)
        for owner in set(self._owners_gone_since) - owners:
            self._owners_gone_since.pop(owner, None)


# Every manager not shut down yet, for `shutdown_all`.
_OPEN_MANAGERS: set[JobManager] = set()


def shutdown_all() -> None:
    """Shut down every job manager of this process: the server is stopping."""
    for manager in list(_OPEN_MANAGERS):
        manager.shutdown()


# A server stopped without its lifespan hook (`streamlit run` of a plain script) still stops
# its workers on the way out.
atexit.register(shutdown_all)


def _append_job_log(path: str, job: _Job) -> None:
    started = job.started_at if job.started_at is not None else job.finished_at
    row = (
        f"{time.time():.3f}",
        str(job.job_id),
        job.state,
        str(len(job.history)),
        f"{started - job.submitted_at:.3f}",
        f"{job.finished_at - started:.3f}",
        str(job.worker_pid or ""),
    )
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(",".join(row) + "\n")
    except OSError:  # an unwritable log must not fail the job
        traceback.print_exc()


# -- the worker process -----------------------------------------------------------------


def worker_main(connection: Connection, cancel: Any, tf_threads: int) -> None:
    """A worker's life: import TensorFlow once, warm up, then train job after job."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    # TensorFlow's start-up notices would otherwise fill the server's log once per worker.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's OpenMP pool would otherwise start a thread per core in every worker.
    os.environ.setdefault("OMP_NUM_THREADS", str(tf_threads))
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(tf_threads)
    tf.config.threading.set_inter_op_parallelism_threads(tf_threads)
    splits_cache: dict[str, Any] = {}
    shapes: deque[tuple] = deque(maxlen=CACHED_ENGINES)
    _warm_up(splits_cache)
    connection.send(("ready", ()))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, request = message
        try:
            result = _run_job(job_id, request, connection, cancel, splits_cache)
            connection.send(("result", job_id, result))
        except DatasetUnavailable as error:
            connection.send(("error", job_id, str(error), DATASET_ERROR))
        except Exception as error:
            detail = "".join(traceback.format_exception_only(error)).strip()
            connection.send(("error", job_id, f"Training failed: {detail}", TRAINING_ERROR))
        key = shape_key(request.config)
        if key not in shapes:
            shapes.append(key)
        # Compile only while nothing waits: a queued job should not wait for XLA.
        if not connection.poll(NEXT_JOB_WAIT_SECONDS):
            _compile_idle()
        # A full collection and trim takes 0.3-0.5 s, growing with the worker's age: between
        # queued jobs Python's own collector does, and it waits for an idle moment.
        if not connection.poll():
            _release_memory()
        connection.send(("ready", tuple(shapes)))


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


def _splits(name: str, cache: dict[str, Any]) -> Any:
    from model.data import load_splits

    if name not in cache:
        cache[name] = load_splits(name)
    return cache[name]


def _warm_up(cache: dict[str, Any]) -> None:
    """Train a one-unit network for one epoch so Keras, the optimizer and tf.function are loaded.

    Its shape is unlike any a learner picks first, so it does not stand in for their run's tracing.
    """
    from model.training import train

    train(TrainConfig(hidden_units=(1,), epochs=1, batch_size=64), _splits("bundled", cache))
    _compile_idle()


def _run_job(
    job_id: int, request: JobRequest, connection: Connection, cancel: Any, cache: dict[str, Any]
) -> JobResult:
    from model.training import train

    config = request.config
    splits = _splits(config.dataset, cache)
    last_epoch = request.first_epoch + config.epochs - 1
    pending: list[EpochLog] = []
    sent_at = {"metrics": 0.0, "weights": 0.0}

    def on_epoch(log: EpochLog, weights: NetworkWeights) -> None:
        pending.append(log)
        now = time.monotonic()
        final = log.epoch == last_epoch
        if final or now - sent_at["metrics"] >= METRICS_INTERVAL_SECONDS:
            send_weights = final or now - sent_at["weights"] >= WEIGHTS_INTERVAL_SECONDS
            connection.send(("progress", job_id, list(pending), weights if send_weights else None))
            pending.clear()
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
    )
    return JobResult(
        config=config,
        weights=result.weights,
        history=tuple(result.history),
        stopped=result.stopped,
        diverged=result.diverged,
        optimizer_state=result.optimizer_state,
        keras_file=result.keras_file,
        test=splits.test,
    )
