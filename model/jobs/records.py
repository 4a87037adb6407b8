"""The manager's own records of a job and of a worker process, and the snapshots made from them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from model.epochs import EpochLog
from model.forward import NetworkWeights
from model.jobs import policy
from model.jobs.api import QUEUED, RUNNING, JobRequest, JobResult, JobView
from model.jobs.workers import Paused, Slice


@dataclass
class Job:
    job_id: int
    owner: str
    request: JobRequest
    client: str | None = None
    state: str = QUEUED
    history: list[EpochLog] = field(default_factory=list)
    weights: NetworkWeights | None = None
    error: str | None = None
    error_kind: str | None = None
    result: JobResult | None = None
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    worker: Worker | None = None
    worker_pid: int | None = None
    recorded_at: float = 0.0
    # Scheduling: seconds on a worker before the current slice, slices begun, and since when
    # it waits (submitted or preempted).
    service: float = 0.0
    slices: int = 0
    waiting_since: float = field(default_factory=time.monotonic)
    slice_started: float = 0.0
    # Epochs in `history` before the current slice, and epochs the slice has reported.
    slice_first: int = 0
    slice_epochs: int = 0
    # Where a preempted job goes on from, and the graph it started on.
    paused: Paused | None = None
    xla: bool | None = None
    # Stop asked while it was preempted: its next slice only ends it with a result.
    stop_asked: bool = False
    ran_on: set[int] = field(default_factory=set)
    last_worker: int | None = None
    position: int | None = None
    estimated_wait: float | None = None

    def attained(self, now: float) -> float:
        if self.state == RUNNING and self.worker is not None:
            return self.service + now - self.slice_started
        return self.service

    def next_slice(self, epochs: int | None = None) -> Slice:
        """The request for the job's next slice: the rest of its epochs, from where it paused;
        the slice ends after `epochs` of them if given."""
        request, paused = self.request, self.paused
        if paused is None:
            return Slice(self.job_id, request, self.xla, epochs)
        done = len(self.history)
        # `replace` keeps whatever else the request carries (the class's drawings, the tag).
        resumed = replace(
            request,
            config=request.config.with_changes(epochs=request.config.epochs - done),
            initial=paused.weights,
            first_epoch=request.first_epoch + done,
            optimizer_state=paused.optimizer_state,
        )
        return Slice(self.job_id, resumed, self.xla, epochs)

    def view(self, with_history: bool, pool_starting: bool, work_left: float) -> JobView:
        now = time.monotonic()
        return JobView(
            job_id=self.job_id,
            owner=self.owner,
            state=self.state,
            position=self.position if self.state == QUEUED else None,
            epochs_done=len(self.history),
            epochs_total=self.request.config.epochs,
            history=tuple(self.history) if with_history else (),
            weights=self.weights,
            error=self.error,
            error_kind=self.error_kind,
            result=self.result,
            submitted_at=self.submitted_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            worker_pid=self.worker_pid,
            pool_starting=pool_starting,
            tag=self.request.tag,
            first_epoch=self.request.first_epoch,
            service_seconds=self.attained(now),
            estimated_wait=self.estimated_wait if self.state == QUEUED else None,
            work_left=work_left,
            preempted=self.state == QUEUED and self.slices > 0,
            slices=self.slices,
            optimizer_state=self.paused_optimizer_state(),
        )

    def paused_optimizer_state(self) -> list[np.ndarray] | None:
        """The optimizer's state at the end of the last slice, while the job is off its worker
        and its weights are still that slice's (a later slice's progress brings newer weights
        without one)."""
        if (
            self.paused is None
            or self.worker is not None
            or self.weights is not self.paused.weights
        ):
            return None
        return self.paused.optimizer_state


@dataclass
class Worker:
    worker_id: int
    process: Any
    connection: Connection
    cancel: Any
    pause: Any
    ready: bool = False
    # Idle and not compiling, and the network shapes it has compiled for (see `shape_key`).
    settled: bool = False
    shapes: tuple[tuple, ...] = ()
    # Jobs begun there, and the networks it built for them (shapes it had not traced).
    jobs_started: int = 0
    builds: int = 0
    job: Job | None = None
    retiring: bool = False
    # Hands its job back at the end of the current epoch: asked to pause, or sent a taste.
    handing_back: bool = False

    @property
    def wear(self) -> float:
        return policy.wear(self.builds, self.jobs_started)
