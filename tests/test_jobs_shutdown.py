"""The job pool's end: shutdown stops every worker, records the jobs it takes back, exits cleanly."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import psutil
import pytest

from model import jobs
from model.jobs import DONE, FAILED, RUNNING, JobManager, JobRequest
from tests.test_jobs import LONG, SHORT, WAIT, finished


def test_shutdown_all_stops_every_open_manager(monkeypatch) -> None:
    # Only this test's managers: the module's shared manager stays open.
    monkeypatch.setattr(jobs.manager, "_OPEN_MANAGERS", set())
    pools = [JobManager(workers=1, start_delay=3600) for _ in range(2)]
    jobs.shutdown_all()
    for pool in pools:
        with pytest.raises(RuntimeError, match="shut down"):
            pool.submit(JobRequest(SHORT), "a")


def test_shutdown_leaves_no_worker_processes() -> None:
    pool = JobManager(workers=2)
    pids = pool.worker_pids()
    queued = pool.submit(JobRequest(SHORT), "a")
    pool.shutdown()
    assert pool.status(queued).state == FAILED
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids
    )
    with pytest.raises(RuntimeError):
        pool.submit(JobRequest(SHORT), "a")


def test_the_recorder_sees_tagged_jobs_while_they_train_when_they_end_and_at_shutdown() -> None:
    recorded: list = []
    pool = JobManager(
        workers=1, jobs_per_worker=100, recorder=recorded.append, checkpoint_seconds=0.5
    )
    try:
        assert pool.wait_until_ready(WAIT)
        untagged = pool.submit(JobRequest(SHORT))
        finished(pool, untagged)
        assert recorded == []
        tagged = pool.submit(JobRequest(SHORT, tag="run-a", first_epoch=4))
        finished(pool, tagged)
        assert recorded[-1].tag == "run-a" and recorded[-1].state == DONE
        assert recorded[-1].first_epoch == 4 and recorded[-1].result is not None
        recorded.clear()
        long = pool.submit(JobRequest(LONG, tag="run-b"))
        pool.wait(long, lambda view: view.epochs_done >= 3, WAIT)
        time.sleep(1.5)
        checkpoints = [view for view in recorded if view.state == RUNNING]
        assert checkpoints and all(view.weights is not None for view in checkpoints)
        # Checkpoints are throttled: far fewer than the epochs done.
        assert len(checkpoints) < pool.status(long).epochs_done
        recorded.clear()
    finally:
        pool.shutdown()
    # The server stopping hands over the running job's latest state, not a failure.
    assert [(view.tag, view.state) for view in recorded] == [("run-b", RUNNING)]
    assert recorded[0].weights is not None and recorded[0].history


def test_shutdown_while_a_job_trains_lets_the_worker_exit_by_itself() -> None:
    recorded: list = []
    pool = JobManager(workers=1, recorder=recorded.append)
    job_id = pool.submit(JobRequest(LONG, tag="run-c"))
    pool.wait(job_id, lambda view: view.epochs_done >= 1, WAIT)
    exit_codes = pool.shutdown()
    # Not killed: it handed its state back at the end of an epoch and was told to stop.
    assert exit_codes == [0]
    # The last record is the job as it stood when the server stopped, not its failure.
    assert {(view.tag, view.state) for view in recorded} == {("run-c", RUNNING)}
    assert recorded[-1].weights is not None and recorded[-1].epochs_done >= 1
    assert pool.status(job_id).state == FAILED


def test_shutdown_while_a_job_makes_its_copies_lets_the_worker_exit_by_itself() -> None:
    recorded: list = []
    pool = JobManager(workers=1, recorder=recorded.append)
    # The whole training set's copies: tens of seconds of Pillow, far past the shutdown's 4 s.
    config = SHORT.with_changes(augment=True, seed=31)
    job_id = pool.submit(JobRequest(config, tag="run-f"))
    pool.wait(job_id, lambda view: view.state == RUNNING, WAIT)
    exit_codes = pool.shutdown()
    # It stopped making copies when asked for the worker back, rather than being killed.
    assert exit_codes == [0]
    assert {(view.tag, view.state, view.epochs_done) for view in recorded} == {
        ("run-f", RUNNING, 0)
    }


def test_a_job_the_shutdown_takes_back_keeps_its_optimizer_state_and_continues_exactly() -> None:
    from model.data import load_splits
    from model.training import train

    recorded: list = []
    pool = JobManager(workers=1, recorder=recorded.append)
    job_id = pool.submit(JobRequest(LONG, tag="run-e"))
    pool.wait(job_id, lambda view: view.epochs_done >= 1, WAIT)
    pool.shutdown()
    last = recorded[-1]
    done = last.epochs_done
    assert last.optimizer_state is not None and last.weights is not None
    # A restarted server's Continue, against one run that was never cut off.
    more = 2
    continued = train(
        LONG.with_changes(epochs=more),
        load_splits(),
        initial=last.weights,
        first_epoch=done + 1,
        optimizer_state=last.optimizer_state,
    )
    straight = train(LONG.with_changes(epochs=done + more), load_splits())
    for resumed, whole in zip(continued.weights.as_list(), straight.weights.as_list(), strict=True):
        np.testing.assert_allclose(resumed, whole, atol=1e-5)


def test_workers_leave_the_servers_process_group_so_only_the_manager_ends_them(manager) -> None:
    # Ctrl+C in the server's terminal, or a signal to its group, must not end a worker before
    # the stopping server has saved the job it trains.
    (pid,) = manager.worker_pids()
    assert os.getpgid(pid) != os.getpgid(0)
    os.kill(pid, signal.SIGINT)
    time.sleep(0.5)
    assert psutil.Process(pid).status() != "zombie"
    job_id = manager.submit(JobRequest(SHORT), "a")
    assert finished(manager, job_id).state == DONE
