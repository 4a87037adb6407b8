"""The job manager's state and the bookkeeping done under its lock: queue, views, the policy's plan."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable

from model.config import TrainConfig
from model.cost import PRIOR_COPY_SECONDS, CostModel, preparation_seconds
from model.engine import CACHED_ENGINES
from model.jobs import policy
from model.jobs.api import (
    CANCELLED,
    FINISHED_STATES,
    QUEUED,
    RUNNING,
    JobView,
    Recorder,
    shape_key,
    with_latest,
)
from model.jobs.joblog import JOB_LOG_ENV, LogLine, append_job_log
from model.jobs.records import Job, Worker
from model.jobs.sizing import configured_jobs_per_worker, configured_workers
from model.limits import Limits, client_cap_problem, run_cap_problem

# A job with a tag is handed to the recorder at most this often while it trains (and always
# when it ends, or when the server stops): what a restart can lose.
CHECKPOINT_SECONDS = 3.0
# How many cancelled orphans' job ids keep their reason, for a tab that comes back later.
GONE_REASONS_KEPT = 1000
# Queue positions are kept current; the estimated waits (a play-through of the policy) are
# worked out again at most this often.
ESTIMATE_SECONDS = 1.0


class JobState:
    """What the manager knows, changed only under `_lock`; the subclasses add the threads."""

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
        self.size = workers if workers is not None else configured_workers()
        self.jobs_per_worker = jobs_per_worker or configured_jobs_per_worker()
        self.limits = limits or Limits.from_env()
        self.cost = CostModel()
        self._owner_alive = owner_alive
        self._recorder = recorder
        self._checkpoint_seconds = checkpoint_seconds
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[int, Job] = {}
        # Jobs waiting for a worker, new or preempted, in submission order.
        self._queue: dict[int, Job] = {}
        self._workers: list[Worker] = []
        self._ids = itertools.count(1)
        self._worker_ids = itertools.count(1)
        self._failed_starts = 0
        self._broken: str | None = None
        self._owners_gone_since: dict[str, float] = {}
        self._gone_reasons: OrderedDict[int, str] = OrderedDict()
        self._job_log = os.environ.get(JOB_LOG_ENV) or None
        self._last_owner_check = 0.0
        self._wake_at: float | None = None
        self._estimated_at = 0.0
        # Shutting down: no new jobs or slices, running ones asked to hand their state back.
        self._closing = False
        self._closed = False
        self._parked: list[Job] = []
        self._wake_reader, self._wake_writer = self._context.Pipe(duplex=False)
        self.workers_started = 0
        # When the dispatcher starts the workers; None once they are started.
        self._start_at: float | None = time.monotonic() + start_delay

    # -- inside the lock -----------------------------------------------------------------

    def _admission_problem(self, config: TrainConfig, client: str | None) -> str | None:
        problem = run_cap_problem(config, self.cost, self.limits)
        if problem is None and client is not None:
            unfinished = sum(
                job.client == client and job.state not in FINISHED_STATES
                for job in self._jobs.values()
            )
            problem = client_cap_problem(unfinished, self.limits)
        return problem

    def _work_left(self, job: Job) -> float:
        config = job.request.config
        left = (config.epochs - len(job.history)) * self.cost.epoch_seconds(config)
        if not job.history:
            # Its copies may still be in the making (a worker stops making them when preempted).
            left += self._preparation(config)
        return left + (self.cost.start_seconds(config) if job.slices == 0 else 0.0)

    def _view(self, job: Job, with_history: bool) -> JobView:
        starting = not any(worker.ready for worker in self._workers)
        return job.view(with_history, starting, self._work_left(job))

    def _waiting(self, now: float) -> list[policy.Waiting]:
        return [
            policy.Waiting(
                job.job_id,
                # A stopped job's last slice only ends it: it goes first.
                -1.0 if job.stop_asked else job.service,
                job.submitted_at,
                job.waiting_since,
                shape_key(job.request.config),
                self._work_left(job),
                job.last_worker,
                job.slices,
                self._first_epoch_seconds(job.request.config),
                self._preparation(job.request.config),
            )
            for job in self._queue.values()
        ]

    def _first_epoch_seconds(self, config: TrainConfig) -> float:
        return self.cost.start_seconds(config) + self.cost.epoch_seconds(config)

    def _preparation(self, config: TrainConfig) -> float:
        return preparation_seconds(config, self.cost.copy_seconds or PRIOR_COPY_SECONDS)

    def _slots(self, now: float) -> list[policy.Slot]:
        return [
            policy.Slot(
                worker.worker_id,
                available=worker.ready and not worker.retiring,
                job_id=None if worker.job is None else worker.job.job_id,
                service=0.0 if worker.job is None else worker.job.service,
                slice_started=0.0 if worker.job is None else worker.job.slice_started,
                work_left=0.0 if worker.job is None else self._work_left(worker.job),
                handing_back=worker.handing_back,
                shapes=worker.shapes,
                settled=worker.settled,
                slice_epochs=0 if worker.job is None else worker.job.slice_epochs,
                replaced_soon=policy.replaced_soon(worker.wear, self.jobs_per_worker),
                preparation=0.0
                if worker.job is None
                else self._preparation(worker.job.request.config),
            )
            for worker in self._workers
        ]

    def _schedule(self, estimate: bool = False) -> None:
        """Carry out the policy's plan, then bring the queue positions (and waits) up to date."""
        if self._closing:
            return
        now = time.monotonic()
        plan = policy.schedule(self._waiting(now), self._slots(now), now)
        workers = {worker.worker_id: worker for worker in self._workers}
        for job_id, worker_id in plan.assign:
            self._send(self._queue[job_id], workers[worker_id], taste=job_id in plan.tastes)
        for worker_id in plan.preempt:
            workers[worker_id].handing_back = True
            workers[worker_id].pause.set()
        self._wake_at = plan.wake_at
        waiting = self._waiting(now)
        for position, entry in enumerate(policy.queue_order(waiting, now), start=1):
            self._queue[entry.job_id].position = position
        if estimate or plan.assign or now - self._estimated_at >= ESTIMATE_SECONDS:
            self._estimated_at = now
            waits = policy.estimate_waits(waiting, self._slots(now), now)
            for job_id, seconds in waits.items():
                self._queue[job_id].estimated_wait = seconds
        if plan.assign:
            self._changed.notify_all()

    def _send(self, job: Job, worker: Worker, taste: bool = False) -> None:
        """Send the job's next slice; a taste is one epoch, then the worker hands it back."""
        worker.cancel.clear()
        worker.pause.clear()
        if job.stop_asked:
            worker.cancel.set()
        try:
            worker.connection.send(job.next_slice(epochs=1 if taste else None))
        except (OSError, ValueError):
            return
        worker.handing_back = taste
        del self._queue[job.job_id]
        # What the worker will keep of this job, for its budget (`policy.wear`); its next
        # "ready" message, which lists its shapes, comes only after it idled a while.
        shape = shape_key(job.request.config)
        if shape not in worker.shapes:
            worker.builds += 1
        worker.shapes = with_latest(worker.shapes, shape, CACHED_ENGINES)
        if worker.worker_id not in job.ran_on:
            job.ran_on.add(worker.worker_id)
            worker.jobs_started += 1
        job.last_worker = worker.worker_id
        worker.job = job
        job.worker = worker
        job.worker_pid = worker.process.pid
        job.state = RUNNING
        now = time.monotonic()
        if job.started_at is None:
            job.started_at = now
            # The first checkpoint comes a checkpoint's interval into training: a class's runs
            # end sooner, and their end is written anyway.
            job.recorded_at = now
        job.slice_started = now
        job.slice_first = len(job.history)
        job.slice_epochs = 0
        job.slices += 1
        job.position = job.estimated_wait = None

    def _record(self, job: Job, force: bool) -> None:
        if self._recorder is None or job.request.tag is None:
            return
        now = time.monotonic()
        # A stopping server records each job once, as it stands when the workers are stopped.
        if not force and (self._closing or now - job.recorded_at < self._checkpoint_seconds):
            return
        job.recorded_at = now
        try:
            self._recorder(self._view(job, with_history=True))
        except Exception:  # a failing recorder must not stop training or the dispatcher
            traceback.print_exc()

    def _cancel_owner(self, owner: str, forget: bool, reason: str | None) -> None:
        for job in [job for job in self._jobs.values() if job.owner == owner]:
            self._cancel(job, forgotten=forget)
            if forget:
                self._jobs.pop(job.job_id, None)
                if reason is not None:
                    self._gone_reasons[job.job_id] = reason
        while len(self._gone_reasons) > GONE_REASONS_KEPT:
            self._gone_reasons.popitem(last=False)

    def _cancel(self, job: Job, forgotten: bool = False) -> None:
        if job.state == QUEUED and (job.slices == 0 or forgotten):
            self._queue.pop(job.job_id, None)
            self._finish(job, CANCELLED)
        elif job.state == QUEUED:
            # Preempted with weights: one more (empty) slice ends it with a usable result.
            job.stop_asked = True
        elif job.state == RUNNING and job.worker is not None:
            job.stop_asked = True
            job.worker.cancel.set()

    def _finish(
        self, job: Job, state: str, error: str | None = None, kind: str | None = None
    ) -> None:
        now = time.monotonic()
        if job.state == RUNNING and job.worker is not None:
            job.service += now - job.slice_started
        job.state = state
        job.error = error
        job.error_kind = kind
        job.finished_at = now
        if job.worker is not None:
            job.worker.job = None
            job.worker.handing_back = False
            job.worker = None
        self._changed.notify_all()
        if not self._closed:
            self._record(job, force=True)
        if self._job_log is not None:
            line = LogLine(
                job.job_id,
                state,
                len(job.history),
                job.submitted_at,
                job.started_at,
                now,
                job.worker_pid,
                job.service,
                job.slices,
            )
            append_job_log(self._job_log, line)
