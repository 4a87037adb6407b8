"""The server's job log read back, and the classroom benchmark's printed reports."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.class_measure import MemorySampler
from bench.class_sessions import LATE_ARRIVAL_UNITS, SINGLE_RUN_UNITS, SessionResult
from model.jobs import DONE, JOB_LOG_COLUMNS

# Job ids in the server's log: 1 warms the pool up, then the single runs, then the class.
FIRST_SINGLE_JOB = 2


@dataclass(frozen=True)
class LoggedJob:
    """One line of the server's job log (`ZOL_JOB_LOG`), times in seconds since the epoch."""

    job_id: int
    state: str
    submitted: float
    started: float
    finished: float
    worker_pid: str
    epochs: int = 0
    queued: float = 0.0
    # Seconds it held a worker, and in how many slices (a preempted job has several).
    service: float = 0.0
    slices: int = 1


def read_job_log(path: Path) -> dict[int, LoggedJob]:
    jobs = {}
    for line in path.read_text().splitlines():
        row = dict(zip(JOB_LOG_COLUMNS, line.split(","), strict=True))
        finished = float(row["finished_unix"])
        started = finished - float(row["training_s"])
        submitted = started - float(row["queued_s"])
        job = LoggedJob(
            int(row["job"]),
            row["state"],
            submitted,
            started,
            finished,
            row["worker_pid"],
            int(row["epochs"]),
            float(row["queued_s"]),
            float(row["service_s"]),
            int(row["slices"]),
        )
        jobs[job.job_id] = job
    return jobs


def late_job_ids(hogs: int) -> range:
    """The late arrivals' jobs in the server's log: after the warm-up, the single runs and the hogs."""
    first = FIRST_SINGLE_JOB + len(SINGLE_RUN_UNITS) + hogs
    return range(first, first + (len(LATE_ARRIVAL_UNITS) if hogs else 0))


def class_job_ids(sessions: int, hogs: int) -> range:
    """The class's jobs in the server's log: after those and the late arrivals'."""
    first = late_job_ids(hogs).stop
    return range(first, first + sessions)


def report_server_side(
    jobs: dict[int, LoggedJob], sessions: int, workers: int, hogs: int = 0
) -> tuple[float, float]:
    """Makespan from the server's job log, the single runs' median from it too. Returns
    makespan / ideal and the makespan."""
    last_single = FIRST_SINGLE_JOB + len(SINGLE_RUN_UNITS) - 1
    single = statistics.median(
        jobs[job_id].finished - jobs[job_id].submitted
        for job_id in range(FIRST_SINGLE_JOB, last_single + 1)
    )
    class_jobs = [jobs[job_id] for job_id in class_job_ids(sessions, hogs) if job_id in jobs]
    makespan = max(job.finished for job in class_jobs) - min(job.submitted for job in class_jobs)
    ideal = sessions * single / workers
    done = sum(job.state == DONE for job in class_jobs)
    print(
        f"server side (job log): {done}/{sessions} class jobs done; single run (median) "
        f"{single:.1f} s from submit to finish; makespan {makespan:.1f} s, ideal "
        f"{sessions} × {single:.1f} / {workers} = {ideal:.1f} s"
    )
    report_workers(class_jobs, makespan, workers)
    return makespan / ideal, makespan


def report_hogs(jobs: dict[int, LoggedJob], sessions: int, hogs: int) -> tuple[int, float, float]:
    """Epochs the hogs trained, the class's 95th percentile of the time from submit to a
    worker (the first epoch follows within a trace of its shape), and the longest such wait
    of the late arrivals."""
    first_hog = FIRST_SINGLE_JOB + len(SINGLE_RUN_UNITS)
    epochs = sum(
        jobs[job_id].epochs for job_id in range(first_hog, first_hog + hogs) if job_id in jobs
    )
    class_ids = class_job_ids(sessions, hogs)
    waits = sorted(jobs[job_id].queued for job_id in class_ids if job_id in jobs)
    p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))] if waits else float("nan")
    late = [jobs[job_id].queued for job_id in late_job_ids(hogs) if job_id in jobs]
    print(
        "late arrivals while the hogs hold every worker, submit to first slice: "
        + ", ".join(f"{wait:.2f} s" for wait in late)
    )
    late_max = max(late) if len(late) == len(LATE_ARRIVAL_UNITS) else float("nan")
    return epochs, p95, late_max


def report_workers(class_jobs: list[LoggedJob], makespan: float, workers: int) -> None:
    """Where the makespan went: each worker process's jobs (by the worker of a job's last
    slice; a process that appears mid-class replaced one that was recycled) and the time the
    jobs held a worker (their service: a preempted job's waits between slices are not in it)."""
    by_worker: dict[str, list[LoggedJob]] = {}
    for job in sorted(class_jobs, key=lambda job: job.started):
        by_worker.setdefault(job.worker_pid, []).append(job)
    start = min(job.submitted for job in class_jobs)
    for pid, worker_jobs in by_worker.items():
        service = sum(job.service for job in worker_jobs)
        print(
            f"  worker {pid}: {len(worker_jobs)} jobs from {worker_jobs[0].started - start:.1f} "
            f"to {max(job.finished for job in worker_jobs) - start:.1f} s, {service:.1f} s training"
        )
    service = sum(job.service for job in class_jobs)
    preempted = sum(job.slices > 1 for job in class_jobs)
    print(
        f"  worker time spent training the class: {service:.1f} s of {workers} × {makespan:.1f} s "
        f"({service / (workers * makespan):.0%}); per job: median "
        f"{statistics.median(job.service for job in class_jobs):.1f} s; {preempted} jobs preempted"
    )


def report_classroom(
    single: float, results: list[SessionResult], workers: int, sampler: MemorySampler
) -> float:
    completed = [r for r in results if r.error is None and r.seconds is not None]
    errors = [r for r in results if r.error is not None]
    leaking = [r for r in results if r.leaks]
    pressed = [r.pressed_at for r in results if r.pressed_at is not None]
    finished = [r.results_at for r in results if r.results_at is not None]
    makespan = max(finished) - min(pressed) if pressed and finished else float("nan")
    ideal = len(results) * single / workers
    predictions = [r.prediction for r in completed]
    durations = sorted(r.seconds for r in completed)
    if pressed and durations:
        print(
            f"Train presses spread over {max(pressed) - min(pressed):.1f} s; press to results "
            f"per session: min {durations[0]:.1f} s, median {statistics.median(durations):.1f} s, "
            f"max {durations[-1]:.1f} s"
        )
    print(f"single run alone: {single:.1f} s (median; press Train to results, 100 epochs)")
    print(f"sessions: {len(results)}, workers: {workers}")
    print(f"completed: {len(completed)}/{len(results)}, errors: {len(errors)}")
    for r in errors:
        print(f"  session {r.index} (units {r.units}): {r.error}")
    leak_word = "none" if not leaking else f"{len(leaking)} sessions"
    print(f"leakage check (own run 1, own parameter count, own model on Draw): {leak_word}")
    for r in leaking:
        print(f"  session {r.index} (units {r.units}): wrong {', '.join(r.leaks)}")
    print(f"Draw answers to a drawn 1: {predictions.count('1')} × '1' of {len(predictions)}")
    counted = [r.page_runs for r in results if r.page_runs is not None]
    if counted:
        print(
            "page runs per session on the server (median): "
            f"{statistics.median(full for full, _ in counted):.0f} whole-page, "
            f"{statistics.median(fragment for _, fragment in counted):.0f} fragment"
        )
    print(
        f"in the browsers: makespan {makespan:.1f} s (first press to last results shown), "
        f"ideal {len(results)} × {single:.1f} / {workers} = {ideal:.1f} s, "
        f"ratio {makespan / ideal:.2f}"
    )
    peak = sampler.peak
    parts = ", ".join(f"{name} {pss / 2**20:.0f}" for name, _, pss in peak.processes)
    print(f"peak memory, server + workers: {peak.pss / 2**30:.2f} GB (sum of PSS; MB: {parts})")
    print(
        f"  (sum of RSS, shared library pages counted in every process: {sampler.peak_rss / 2**30:.2f} GB)"
    )
    return peak.pss / 2**30
