"""The job manager's public face: submit, follow, cancel and shut down training jobs."""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Callable

from model.config import TrainConfig
from model.jobs import policy
from model.jobs.api import (
    FAILED,
    FINISHED_STATES,
    POOL_BROKEN_MESSAGE,
    POOL_ERROR,
    SHUTDOWN_MESSAGE,
    JobRefused,
    JobRequest,
    JobView,
    Recorder,
    shape_key,
)
from model.jobs.dispatch import Dispatcher
from model.jobs.records import Job
from model.jobs.state import CHECKPOINT_SECONDS
from model.limits import Limits

# A stopping server (`docker stop` kills after 10 s) waits this long for the running jobs to
# hand back their weights at the end of an epoch, and this long in all for its workers to exit.
SHUTDOWN_PAUSE_SECONDS = 2.0
SHUTDOWN_SECONDS = 4.0


class JobManager(Dispatcher):
    """Runs training jobs in slices on a pool of spawned worker processes, least trained first.

    All state changes happen under one lock; one dispatcher thread asks `policy.schedule` what
    to do, sends slices to free workers, pauses the ones the policy preempts, and reads what
    the workers send back. The worker processes start `start_delay` seconds after the
    manager, or at once when a job is submitted: starting Python processes that import
    TensorFlow would otherwise slow down the page being drawn. A `recorder` sees every tagged
    job's progress (every `checkpoint_seconds` at most), its end, and its latest state when
    the manager shuts down, so that the caller can keep it.
    """

    def __init__(
        self,
        workers: int | None = None,
        jobs_per_worker: int | None = None,
        owner_alive: Callable[[str], bool] | None = None,
        start_delay: float = 0.0,
        recorder: Recorder | None = None,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        limits: Limits | None = None,
    ) -> None:
        super().__init__(
            workers, jobs_per_worker, owner_alive, start_delay, recorder, checkpoint_seconds, limits
        )
        if start_delay <= 0:
            self._start_workers()
        self._dispatcher = threading.Thread(target=self._dispatch, name="job-manager", daemon=True)
        self._dispatcher.start()
        _OPEN_MANAGERS.add(self)

    # -- public API ----------------------------------------------------------------------

    def submit(self, request: JobRequest, owner: str = "", client: str | None = None) -> int:
        """Queue a job; `client` (the learner's address) is held to the per-client cap.

        Raises `JobRefused` if a cap forbids it, RuntimeError once the manager is shut down.
        """
        with self._lock:
            if self._closing:
                raise RuntimeError("the job manager is shut down")
            problem = self._admission_problem(request.config, client)
            if problem is not None:
                raise JobRefused(problem)
            job = Job(next(self._ids), owner, request, client=client)
            self._jobs[job.job_id] = job
            if self._broken:
                message = POOL_BROKEN_MESSAGE.format(detail=self._broken)
                self._finish(job, FAILED, error=message, kind=POOL_ERROR)
            else:
                self._queue[job.job_id] = job
                self._start_workers()
                self._schedule(estimate=True)
        self._wake()
        return job.job_id

    def admission_problem(self, config: TrainConfig, client: str | None = None) -> str | None:
        """What a cap says against submitting this run now (None: it may go)."""
        with self._lock:
            return self._admission_problem(config, client)

    def estimate(self, config: TrainConfig) -> tuple[float, float | None]:
        """Seconds of training this run needs here, and the expected wait for a worker now."""
        with self._lock:
            now = time.monotonic()
            shape = shape_key(config)
            traced = any(shape in worker.shapes for worker in self._workers)
            work = self.cost.run_seconds(config, traced=traced)
            newcomer = policy.Waiting(
                -1,
                0.0,
                now,
                now,
                shape,
                work,
                taste=self._first_epoch_seconds(config),
                preparation=self._preparation(config),
            )
            waiting = [*self._waiting(now), newcomer]
            waits = policy.estimate_waits(waiting, self._slots(now), now)
            return work, waits.get(-1)

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
        """A queued job leaves the queue; a running (or preempted) one stops after its epoch."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                self._cancel(job)
                self._schedule(estimate=True)
        self._wake()

    def forget(self, job_id: int) -> None:
        """Drop a job's record (cancelling it first if it has not finished)."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is not None:
                self._cancel(job, forgotten=True)
                self._schedule(estimate=True)
        self._wake()

    def cancel_owner(self, owner: str, forget: bool = True, reason: str | None = None) -> None:
        """Cancel (and by default forget) every job of one owner, e.g. a closed browser tab;
        `reason` is what `gone_reason` says of each forgotten job."""
        with self._lock:
            self._cancel_owner(owner, forget, reason)
            self._schedule(estimate=True)
        self._wake()

    def adopt(self, tag: str, owner: str) -> int | None:
        """The unfinished job with this tag, from now on owned by `owner`; None if there is none.

        A reloaded tab (a new session) takes its run's job back before the old tab's absence
        would cancel it.
        """
        with self._lock:
            for job in self._jobs.values():
                if job.request.tag == tag and job.state not in FINISHED_STATES:
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

    def shutdown(self) -> list[int | None]:
        """Stop every worker within `SHUTDOWN_SECONDS`; unfinished jobs fail with a message.

        The running jobs are first asked to hand back their state at the end of their epoch
        (while the dispatcher still reads the workers' pipes), so that the recorder gets
        their latest weights. Returns the workers' exit codes (0: they ended on their own).
        """
        started = time.monotonic()
        with self._changed:
            if self._closing:
                return []
            self._closing = True
            for worker in self._workers:
                worker.pause.set()
                worker.handing_back = worker.job is not None
            self._changed.notify_all()
        self._wake()
        with self._changed:
            deadline = started + SHUTDOWN_PAUSE_SECONDS
            while any(worker.job for worker in self._workers) and time.monotonic() < deadline:
                self._changed.wait(deadline - time.monotonic())
            unfinished = [*self._queue.values(), *self._parked]
            unfinished += [worker.job for worker in self._workers if worker.job]
            # Their last state is what a restarted server resumes from.
            for job in unfinished:
                self._record(job, force=True)
            self._closed = True
            for job in unfinished:
                self._finish(job, FAILED, error=SHUTDOWN_MESSAGE, kind=POOL_ERROR)
            self._queue.clear()
            self._parked.clear()
            workers = list(self._workers)
            for worker in workers:
                worker.cancel.set()
        self._wake()
        self._dispatcher.join(SHUTDOWN_SECONDS)
        for worker in workers:
            if worker.ready:
                with contextlib.suppress(OSError, ValueError):
                    worker.connection.send(None)
            else:
                # Still importing TensorFlow: it holds no job, and would not read the message yet.
                worker.process.terminate()
            # A worker still sending a result gets a broken pipe instead of waiting for a reader.
            worker.connection.close()
        for worker in workers:
            worker.process.join(max(0.0, started + SHUTDOWN_SECONDS - time.monotonic()))
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(0.5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        with self._lock:
            self._workers.clear()
        _OPEN_MANAGERS.discard(self)
        return [worker.process.exitcode for worker in workers]


# Every manager not shut down yet, for `shutdown_all`.
_OPEN_MANAGERS: set[JobManager] = set()


def shutdown_all() -> None:
    """Shut down every job manager of this process: the server is stopping."""
    for manager in list(_OPEN_MANAGERS):
        manager.shutdown()


# A server stopped without its lifespan hook (`streamlit run` of a plain script) still stops
# its workers on the way out.
atexit.register(shutdown_all)
