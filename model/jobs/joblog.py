"""The job log (`ZOL_JOB_LOG`): one CSV line per finished job, for whoever runs the server."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass

# A file to append one line per finished job to (see `JOB_LOG_COLUMNS`): queue waits and
# training times of a class.
JOB_LOG_ENV = "ZOL_JOB_LOG"
JOB_LOG_COLUMNS = (
    "finished_unix",
    "job",
    "state",
    "epochs",
    "queued_s",
    "training_s",
    "worker_pid",
    "service_s",
    "slices",
)


@dataclass(frozen=True)
class LogLine:
    """One finished job; times are monotonic seconds, `started_at` None if it never ran.

    `queued_s` is submit to first start, `training_s` first start to finish (including any
    time it spent preempted), `service_s` the time it held a worker.
    """

    job_id: int
    state: str
    epochs: int
    submitted_at: float
    started_at: float | None
    finished_at: float
    worker_pid: int | None
    service_seconds: float
    slices: int


def append_job_log(path: str, line: LogLine) -> None:
    started = line.started_at if line.started_at is not None else line.finished_at
    row = (
        f"{time.time():.3f}",
        str(line.job_id),
        line.state,
        str(line.epochs),
        f"{started - line.submitted_at:.3f}",
        f"{line.finished_at - started:.3f}",
        str(line.worker_pid or ""),
        f"{line.service_seconds:.3f}",
        str(line.slices),
    )
    try:
        with open(path, "a", encoding="utf-8") as log:
            log.write(",".join(row) + "\n")
    except OSError:  # an unwritable log must not fail the job
        traceback.print_exc()
