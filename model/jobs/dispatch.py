"""The executor: the dispatcher thread that starts, feeds, pauses, reads and replaces worker processes."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import replace
from multiprocessing.connection import wait
from typing import Any

from model.jobs import policy
from model.jobs.api import (
    DONE,
    FAILED,
    ORPHANED_MESSAGE,
    POOL_BROKEN_MESSAGE,
    POOL_ERROR,
    QUEUED,
    STOPPED,
    WORKER_DIED_MESSAGE,
    WORKER_ERROR,
    JobResult,
)
from model.jobs.records import Job, Worker
from model.jobs.state import JobState
from model.jobs.workers import DEFAULT_TF_THREADS, Paused, worker_main

TF_THREADS_ENV = "ZOL_TF_THREADS"
ORPHAN_GRACE_ENV = "ZOL_ORPHAN_GRACE_SECONDS"
# A job whose owner (a browser session) has been gone this long is cancelled and forgotten;
# long enough to survive a page reload or a brief network drop.
DEFAULT_ORPHAN_GRACE_SECONDS = 30.0
ORPHAN_GRACE_SECONDS = float(os.environ.get(ORPHAN_GRACE_ENV) or DEFAULT_ORPHAN_GRACE_SECONDS)
OWNER_CHECK_SECONDS = 5.0
# A worker that dies this many times in a row before it is ready means the pool cannot start.
MAX_FAILED_STARTS = 3
# A worker's exit is seen on its sentinel, so joining it is quick; this only bounds a stuck one.
EXIT_JOIN_SECONDS = 5.0


class Dispatcher(JobState):
    """Carries out the policy: holds no opinion about who goes next (see `policy`)."""

    def _start_workers(self) -> None:
        if self._start_at is None or self._closing:
            return
        self._start_at = None
        for _ in range(self.size):
            self._start_worker()

    def _start_worker(self) -> None:
        parent_end, child_end = self._context.Pipe()
        cancel, pause = self._context.Event(), self._context.Event()
        tf_threads = int(os.environ.get(TF_THREADS_ENV) or DEFAULT_TF_THREADS)
        process = self._context.Process(
            target=worker_main,
            args=(child_end, cancel, pause, tf_threads),
            name="zol-training-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        self.workers_started += 1
        self._workers.append(Worker(next(self._worker_ids), process, parent_end, cancel, pause))

    def _stop_worker(self, worker: Worker) -> None:
        with contextlib.suppress(OSError, ValueError):
            worker.connection.send(None)

    def _wake(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._wake_writer.send_bytes(b"!")

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                timeout = OWNER_CHECK_SECONDS
                if self._start_at is not None:
                    timeout = min(timeout, self._start_at - now)
                    if timeout <= 0:
                        self._start_workers()
                        timeout = OWNER_CHECK_SECONDS
                self._schedule()
                self._check_owners()
                if self._wake_at is not None:
                    timeout = max(0.0, min(timeout, self._wake_at - now))
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

    def _worker_for(self, handle: Any) -> Worker | None:
        with self._lock:
            return next(
                (
                    worker
                    for worker in self._workers
                    if handle in (worker.connection, worker.process.sentinel)
                ),
                None,
            )

    def _receive(self, worker: Worker) -> None:
        try:
            while worker.connection.poll():
                self._handle(worker, worker.connection.recv())
        except (EOFError, OSError):
            self._worker_exited(worker)

    def _handle(self, worker: Worker, message: tuple) -> None:
        kind = message[0]
        with self._lock:
            if kind == "ready":
                worker.ready = True
                worker.settled = True
                worker.shapes = message[1]
                if message[2] is not None:
                    self.cost.calibrate(*message[2])
                self._failed_starts = 0
                self._changed.notify_all()
                return
            job = worker.job
            if job is None or job.job_id != message[1]:
                return
            if kind in ("result", "error", "paused"):
                worker.settled = False
            if kind == "progress":
                _, _, logs, weights, seconds, xla = message
                self._observe(job, seconds, xla)
                job.history.extend(logs)
                if weights is not None:
                    job.weights = weights
                    self._record(job, force=False)
                self._changed.notify_all()
            elif kind == "paused":
                # Not retired here: the worker holds the paused job's engine for its next slice.
                self._paused(worker, job, message[2])
            elif kind == "result":
                result: JobResult = message[2]
                job.history[job.slice_first :] = result.history
                job.weights = result.weights
                # The last slice's result, as if the run had never been paused.
                job.result = replace(result, config=job.request.config, history=tuple(job.history))
                self._finish(job, STOPPED if result.stopped else DONE)
            elif kind == "error":
                self._finish(job, FAILED, error=message[2], kind=message[3])
            if kind != "progress":
                self._schedule(estimate=True)

    def _observe(self, job: Job, seconds: list[float], xla: bool) -> None:
        """Feed the cost model; a slice's first epoch also paid for setting the engine up."""
        for index, value in enumerate(seconds, start=job.slice_epochs):
            if index > 0:
                self.cost.observe(job.request.config, value, compiled=xla)
        job.slice_epochs += len(seconds)

    def _paused(self, worker: Worker, job: Job, paused: Paused | None) -> None:
        """Back in the queue from where it stands; `paused` is None when the worker was still
        making the job's training set (it keeps what it made, and the job stands as before)."""
        now = time.monotonic()
        if paused is not None:
            self._observe(job, paused.seconds, paused.xla)
            job.history.extend(paused.logs)
            job.weights = paused.weights
            job.paused = paused
            job.xla = paused.xla
        if self._closing:
            self._park(worker, job)
            return
        job.service += now - job.slice_started
        job.waiting_since = now
        job.worker = None
        worker.job = None
        worker.handing_back = False
        job.state = QUEUED
        self._queue[job.job_id] = job
        self._changed.notify_all()

    def _park(self, worker: Worker, job: Job) -> None:
        """Take a job off its worker as it stands (still "running") for the shutdown to record:
        its last weights are what a restarted server continues from."""
        job.service += time.monotonic() - job.slice_started
        job.worker = None
        worker.job = None
        worker.handing_back = False
        self._parked.append(job)
        self._changed.notify_all()

    def _schedule(self, estimate: bool = False) -> None:
        self._retire_used_up()
        super()._schedule(estimate)

    def _retire_used_up(self) -> None:
        """Replace the free workers that used up their budget, as `policy.should_retire` says."""
        if self._closing:
            return
        for worker in self._workers:
            if worker.job is not None or not worker.ready or worker.retiring:
                continue
            another_replacing = any(
                other.retiring or not other.ready for other in self._workers if other is not worker
            )
            if policy.should_retire(
                worker.wear, self.jobs_per_worker, bool(self._queue), another_replacing
            ):
                worker.retiring = True
                self._stop_worker(worker)

    def _worker_exited(self, worker: Worker) -> None:
        worker.process.join(EXIT_JOIN_SECONDS)
        with self._lock:
            if worker not in self._workers or self._closed:
                return
            self._workers.remove(worker)
            worker.connection.close()
            if worker.job is not None and self._closing:
                # Kept as it stands (still "running") for the shutdown to record.
                self._park(worker, worker.job)
            elif worker.job is not None:
                code = worker.process.exitcode
                message = WORKER_DIED_MESSAGE.format(code=code)
                self._finish(worker.job, FAILED, error=message, kind=WORKER_ERROR)
            if self._closing:
                return
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
        for job in list(self._queue.values()):
            self._finish(job, FAILED, error=message, kind=POOL_ERROR)
        self._queue.clear()
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
