"""The job queue: FIFO order, cancel, weights streamed back, recycling, killed workers, orphans."""

from __future__ import annotations

import os
import signal
import time

import numpy as np

from model import jobs
from model.config import TrainConfig
from model.forward import NetworkWeights
from model.jobs import (
    CANCELLED,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    STOPPED,
    WORKER_ERROR,
    JobManager,
    JobRequest,
)

SHORT = TrainConfig(hidden_units=(4,), epochs=3)
# Batches of one make each epoch take a noticeable time, so a job is still running when poked.
LONG = TrainConfig(hidden_units=(4,), epochs=1000, batch_size=1)
WAIT = 120


def finished(manager: JobManager, job_id: int):
    view = manager.wait(job_id, lambda view: view.finished, WAIT)
    assert view is not None and view.finished, view
    return view


def test_a_worker_s_shapes_are_its_latest_as_its_engine_cache_keeps_them() -> None:
    from model.jobs.api import with_latest

    assert with_latest((("a",), ("b",)), ("a",), 2) == (("b",), ("a",))
    assert with_latest((("a",), ("b",)), ("c",), 2) == (("b",), ("c",))


def test_a_ready_worker_has_the_lessons_padded_network_traced(manager) -> None:
    # First in the module: the worker has trained nothing else yet.
    lesson = jobs.shape_key(TrainConfig())
    assert lesson == jobs.shape_key(TrainConfig(hidden_units=(30, 12), seed=5))
    assert lesson != jobs.shape_key(TrainConfig(hidden_units=(33, 12)))
    ready = [worker for worker in manager._workers if worker.ready]
    assert ready and all(lesson in worker.shapes for worker in ready)
    # Its warm-up measured this machine for the estimates: tracing, and a plain-graph epoch.
    assert manager.cost.start_factor is not None and manager.cost.factor != 1.0
    assert manager.cost.copy_seconds is not None and manager.cost.copy_seconds > 0
    assert not manager.cost.measured


def test_a_job_streams_metrics_and_weights_and_returns_numpy_results(manager) -> None:
    job_id = manager.submit(JobRequest(SHORT), "alice")
    view = finished(manager, job_id)
    assert view.state == DONE and view.error is None
    assert [log.epoch for log in view.history] == [1, 2, 3]
    result = view.result
    assert result.config == SHORT and not result.stopped and not result.diverged
    assert isinstance(result.weights, NetworkWeights) and result.weights.hidden_units == (4,)
    assert view.weights is result.weights
    assert result.keras_file[:2] == b"PK"
    assert len(result.test) == 150 and result.optimizer_state is not None


def test_jobs_run_first_in_first_out_with_visible_positions(manager) -> None:
    first = manager.submit(JobRequest(LONG), "a")
    second = manager.submit(JobRequest(SHORT), "b")
    third = manager.submit(JobRequest(SHORT.with_changes(seed=9)), "c")
    manager.wait(first, lambda view: view.state == RUNNING, WAIT)
    assert manager.status(second).state == QUEUED and manager.status(second).position == 1
    assert manager.status(third).position == 2
    manager.cancel(first)
    views = [finished(manager, job_id) for job_id in (first, second, third)]
    assert [view.state for view in views] == [STOPPED, DONE, DONE]
    assert views[0].started_at < views[1].started_at < views[2].started_at


def test_cancelling_a_queued_job_removes_it_from_the_queue(manager) -> None:
    running = manager.submit(JobRequest(LONG), "a")
    queued = manager.submit(JobRequest(SHORT), "b")
    behind = manager.submit(JobRequest(SHORT), "c")
    manager.wait(running, lambda view: view.state == RUNNING, WAIT)
    manager.cancel(queued)
    assert manager.status(queued).state == CANCELLED
    assert manager.status(behind).position == 1
    manager.cancel(running)
    assert finished(manager, behind).state == DONE
    assert manager.status(queued).history == ()


def test_stopping_a_running_job_keeps_the_weights_so_far(manager) -> None:
    job_id = manager.submit(JobRequest(LONG), "a")
    manager.wait(job_id, lambda view: view.epochs_done >= 2, WAIT)
    manager.cancel(job_id)
    view = finished(manager, job_id)
    assert view.state == STOPPED and view.result.stopped
    assert 2 <= len(view.result.history) < LONG.epochs
    assert view.result.weights is not None and view.result.keras_file is not None


def test_stopping_during_the_first_epoch_ends_with_a_usable_result(manager) -> None:
    job_id = manager.submit(JobRequest(LONG), "a")
    started = manager.wait(job_id, lambda view: view.state == RUNNING, WAIT)
    assert started.state == RUNNING and started.epochs_done == 0
    manager.cancel(job_id)
    view = finished(manager, job_id)
    assert view.state == STOPPED and view.error is None and view.result.stopped
    assert len(view.result.history) <= 1
    assert view.result.weights.hidden_units == LONG.hidden_units
    assert view.result.keras_file[:2] == b"PK"


def test_continue_resumes_the_epoch_count_from_the_given_weights(manager) -> None:
    first = finished(manager, manager.submit(JobRequest(SHORT), "a")).result
    request = JobRequest(
        SHORT.with_changes(epochs=2),
        initial=first.weights,
        first_epoch=4,
        optimizer_state=first.optimizer_state,
    )
    view = finished(manager, manager.submit(request, "a"))
    assert [log.epoch for log in view.history] == [4, 5]
    assert view.history[-1].loss < first.history[0].loss


def test_a_nan_loss_ends_the_run_with_the_last_finite_weights(manager) -> None:
    huge = NetworkWeights(
        (np.full((400, 4), 3e38, np.float32) * [1, -1, 1, -1], np.ones((4, 1), np.float32)),
        (np.zeros(4, np.float32), np.zeros(1, np.float32)),
        "relu",
    )
    config = SHORT.with_changes(activation="relu")
    view = finished(manager, manager.submit(JobRequest(config, initial=huge), "a"))
    assert view.state == DONE and view.result.diverged and view.history == ()
    np.testing.assert_array_equal(view.result.weights.kernels[0], huge.kernels[0])


def test_a_killed_worker_fails_its_job_clearly_and_is_replaced(manager) -> None:
    job_id = manager.submit(JobRequest(LONG), "victim")
    view = manager.wait(job_id, lambda view: view.epochs_done >= 1, WAIT)
    os.kill(view.worker_pid, signal.SIGKILL)
    view = finished(manager, job_id)
    assert view.state == FAILED and view.error_kind == WORKER_ERROR
    assert "stopped unexpectedly" in view.error and "press Train to try again" in view.error
    other = finished(manager, manager.submit(JobRequest(SHORT), "bystander"))
    assert other.state == DONE
    assert view.worker_pid not in manager.worker_pids()


def test_cancel_owner_cancels_and_forgets_that_owners_jobs(manager) -> None:
    running = manager.submit(JobRequest(LONG), "gone")
    queued = manager.submit(JobRequest(SHORT), "gone")
    kept = manager.submit(JobRequest(SHORT), "stays")
    manager.wait(running, lambda view: view.state == RUNNING, WAIT)
    manager.cancel_owner("gone")
    assert manager.status(running) is None and manager.status(queued) is None
    assert finished(manager, kept).state == DONE


# Networks of three padded widths (16, 32 and 48: `padded_units`), none the lesson's 32-16:
# each is a new network for a worker to build.
NEW_NETWORKS = [SHORT.with_changes(hidden_units=(units,)) for units in (4, 20, 40)]


def test_workers_are_recycled_after_their_budget_of_networks() -> None:
    pool = JobManager(workers=1, jobs_per_worker=2)
    try:
        pids = []
        for config in NEW_NETWORKS:
            view = finished(pool, pool.submit(JobRequest(config), "a"))
            assert view.state == DONE
            pids.append(view.worker_pid)
        assert pids[0] == pids[1] != pids[2]
        assert pool.workers_started == 2
    finally:
        pool.shutdown()


def test_jobs_on_a_network_a_worker_has_built_wear_it_little() -> None:
    pool = JobManager(workers=1, jobs_per_worker=2)
    try:
        # One build and six jobs: about 35 MB and 6 MB kept, well within two builds' worth.
        pids = {finished(pool, pool.submit(JobRequest(SHORT), "a")).worker_pid for _ in range(6)}
        assert len(pids) == 1 and pool.workers_started == 1
    finally:
        pool.shutdown()


def test_used_up_workers_go_on_while_jobs_wait() -> None:
    pool = JobManager(workers=2, jobs_per_worker=1)
    try:
        assert pool.wait_until_ready(WAIT)
        first_pids = set(pool.worker_pids())
        job_ids = [pool.submit(JobRequest(SHORT), "a") for _ in range(4)]
        views = [finished(pool, job_id) for job_id in job_ids]
        assert all(view.state == DONE for view in views)
        # Both workers used their budget on jobs 1 and 2, and took jobs 3 and 4 (up to twice
        # the budget) rather than import TensorFlow again while the class waited.
        assert {view.worker_pid for view in views} == first_pids
    finally:
        pool.shutdown()


def test_used_up_workers_are_replaced_one_at_a_time() -> None:
    pool = JobManager(workers=2, jobs_per_worker=1)
    try:
        assert pool.wait_until_ready(WAIT)
        job_ids = [pool.submit(JobRequest(SHORT), "a") for _ in range(2)]
        assert all(finished(pool, job_id).state == DONE for job_id in job_ids)
        serving = []
        deadline = time.monotonic() + WAIT
        while pool.workers_started < 4 and time.monotonic() < deadline:
            with pool._lock:
                serving.append(sum(w.ready and not w.retiring for w in pool._workers))
            time.sleep(0.02)
        assert pool.workers_started == 4
        # The second used-up worker waited for the first one's replacement to be ready.
        assert min(serving) >= 1
    finally:
        pool.shutdown()


def test_the_only_worker_is_recycled_once_no_job_waits_or_at_twice_its_budget() -> None:
    pool = JobManager(workers=1, jobs_per_worker=1)
    try:
        assert pool.wait_until_ready(WAIT)
        job_ids = [pool.submit(JobRequest(config), "a") for config in NEW_NETWORKS]
        pids = [finished(pool, job_id).worker_pid for job_id in job_ids]
        assert pids[0] == pids[1] != pids[2]
        later = finished(pool, pool.submit(JobRequest(SHORT), "a")).worker_pid
        assert later not in pids
    finally:
        pool.shutdown()


def test_jobs_of_vanished_owners_are_cancelled(monkeypatch) -> None:
    monkeypatch.setattr(jobs.dispatch, "OWNER_CHECK_SECONDS", 0.2)
    monkeypatch.setattr(jobs.dispatch, "ORPHAN_GRACE_SECONDS", 0.5)
    pool = JobManager(workers=1, owner_alive=lambda owner: owner != "closed-tab")
    try:
        orphan = pool.submit(JobRequest(SHORT), "closed-tab")
        alive = pool.submit(JobRequest(SHORT), "open-tab")
        assert finished(pool, alive).state == DONE
        deadline = time.monotonic() + WAIT
        while pool.status(orphan) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool.status(orphan) is None
        assert "disconnected" in pool.gone_reason(orphan)
        assert pool.gone_reason(alive) is None
    finally:
        pool.shutdown()


def test_finished_jobs_are_logged_when_asked(monkeypatch, tmp_path) -> None:
    log = tmp_path / "jobs.csv"
    monkeypatch.setenv(jobs.JOB_LOG_ENV, str(log))
    pool = JobManager(workers=1)
    try:
        done = pool.submit(JobRequest(SHORT), "a")
        assert finished(pool, done).state == DONE
        running = pool.submit(JobRequest(LONG), "b")
        pool.wait(running, lambda view: view.epochs_done > 0, WAIT)
        pool.cancel(running)
        finished(pool, running)
    finally:
        pool.shutdown()
    rows = [
        dict(zip(jobs.JOB_LOG_COLUMNS, line.split(","), strict=True))
        for line in log.read_text().splitlines()
    ]
    assert [(row["job"], row["state"]) for row in rows] == [
        (str(done), DONE),
        (str(running), STOPPED),
    ]
    assert rows[0]["epochs"] == "3" and int(rows[1]["epochs"]) >= 1
    assert all(float(row["queued_s"]) >= 0 and float(row["training_s"]) > 0 for row in rows)


def test_a_delayed_pool_starts_at_once_when_a_job_arrives() -> None:
    pool = JobManager(workers=1, start_delay=3600)
    try:
        assert pool.worker_pids() == []
        view = finished(pool, pool.submit(JobRequest(SHORT), "a"))
        assert view.state == DONE
    finally:
        pool.shutdown()


def test_a_delayed_pool_starts_its_processes_after_the_delay_without_a_job() -> None:
    pool = JobManager(workers=1, start_delay=0.5)
    try:
        assert pool.worker_pids() == []
        deadline = time.monotonic() + 10
        while not pool.worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(pool.worker_pids()) == 1
    finally:
        pool.shutdown()


def test_a_new_owner_adopts_the_unfinished_job_of_a_tag(manager) -> None:
    job_id = manager.submit(JobRequest(LONG, tag="run-adopt"), "old-tab")
    try:
        assert manager.adopt("run-adopt", "new-tab") == job_id
        assert manager.status(job_id).owner == "new-tab"
        assert manager.adopt("no-such-run", "new-tab") is None
    finally:
        manager.cancel(job_id)
    finished(manager, job_id)
    assert manager.adopt("run-adopt", "another-tab") is None


def test_a_short_job_behind_a_long_one_finishes_first_and_the_long_one_ends_unchanged(
    manager, monkeypatch
) -> None:
    from model.data import load_splits
    from model.jobs import policy
    from model.training import train

    # The long job leaves the first service band within its first slice, however fast the
    # machine trains it (the policy runs in this process, in the manager's thread).
    monkeypatch.setattr(policy, "SERVICE_BANDS", (0.2, 30.0, 300.0))

    # A shape no other test uses: the worker trains it through the plain graph, slice by slice.
    long_config = TrainConfig(hidden_units=(6, 3), epochs=60, batch_size=1, seed=5)
    long_id = manager.submit(JobRequest(long_config), "long")
    manager.wait(long_id, lambda view: view.epochs_done >= 1, WAIT)
    short_id = manager.submit(JobRequest(SHORT), "short")
    short = finished(manager, short_id)
    long = finished(manager, long_id)
    assert short.state == DONE and long.state == DONE
    assert short.finished_at < long.finished_at and long.slices >= 2
    assert [log.epoch for log in long.result.history] == list(range(1, 61))
    assert long.result.config == long_config and long.result.keras_file[:2] == b"PK"
    straight = train(long_config, load_splits())
    for sliced, whole in zip(
        long.result.weights.as_list(), straight.weights.as_list(), strict=True
    ):
        np.testing.assert_allclose(sliced, whole, atol=1e-5)


def test_a_preempted_job_that_is_stopped_ends_with_its_weights(manager, monkeypatch) -> None:
    from model.jobs import policy

    monkeypatch.setattr(policy, "SERVICE_BANDS", (0.2, 30.0, 300.0))
    long_id = manager.submit(JobRequest(LONG.with_changes(hidden_units=(5,))), "long")
    manager.wait(long_id, lambda view: view.epochs_done >= 1, WAIT)
    other = manager.submit(JobRequest(LONG.with_changes(seed=3)), "other")
    paused = manager.wait(long_id, lambda view: view.preempted, WAIT)
    assert paused.state == QUEUED and paused.epochs_done >= 1 and paused.position == 1
    manager.cancel(long_id)
    manager.cancel(other)
    view = finished(manager, long_id)
    assert view.state == STOPPED and view.result.keras_file[:2] == b"PK"
    assert len(view.result.history) == paused.epochs_done
    finished(manager, other)


def test_runs_pressed_together_all_train_a_first_epoch_before_any_goes_on(manager) -> None:
    from model.data import load_splits
    from model.training import train

    # About a second each at batch 1, in graph calls of a quarter of a second: first come,
    # first served would keep the later runs waiting for the earlier ones' whole runs.
    configs = [
        TrainConfig(hidden_units=(4,), epochs=20, batch_size=1, seed=seed) for seed in (1, 2, 3)
    ]
    job_ids = [
        manager.submit(JobRequest(config), f"learner-{index}")
        for index, config in enumerate(configs)
    ]
    firsts = [manager.wait(job_id, lambda view: view.epochs_done >= 1, WAIT) for job_id in job_ids]
    views = [finished(manager, job_id) for job_id in job_ids]
    assert all(view.state == DONE for view in views)
    # Each run's first epoch came before the first run ended: the first two handed their
    # worker over after one epoch (a taste); the last, with nobody behind it, trained on.
    assert max(view.started_at for view in views) < min(view.finished_at for view in views)
    assert [view.slices for view in views] == [2, 2, 1]
    assert all(first.epochs_done >= 1 for first in firsts)
    splits = load_splits()
    for view, config in zip(views, configs, strict=True):
        straight = train(config, splits)
        for tasted, whole in zip(
            view.result.weights.as_list(), straight.weights.as_list(), strict=True
        ):
            np.testing.assert_allclose(tasted, whole, atol=1e-5)
