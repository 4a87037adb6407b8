"""The recorder: job snapshots reach the store in order, off the caller's thread; a real job end to end."""

from __future__ import annotations

import numpy as np

from model.config import TrainConfig
from model.jobs import DONE, RUNNING, STOPPED, JobManager, JobRequest, JobView
from store import labs as lab_store
from store import runs as run_store
from store.recorder import DIVERGED, Recorder
from tests.test_jobs import LONG, WAIT, finished
from tests.test_store import CONFIG, logs, weights


def view(tag: str, state: str, history, snapshot=None, first_epoch: int = 1) -> JobView:
    return JobView(
        job_id=1,
        owner="",
        state=state,
        position=None,
        epochs_done=len(history),
        epochs_total=10,
        history=tuple(history),
        weights=snapshot,
        error=None,
        error_kind=None,
        result=None,
        submitted_at=0.0,
        started_at=0.0,
        finished_at=None,
        worker_pid=None,
        tag=tag,
        first_epoch=first_epoch,
    )


def test_checkpoints_collapse_into_the_newest_and_a_job_end_is_always_written(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    run = run_store.add_run(store_engine, lab.id, CONFIG, "queued")
    recorder = Recorder(store_engine)
    for epoch in range(1, 6):
        recorder(view(run.id, RUNNING, logs(1, epoch), weights(epoch)))
    recorder(view(run.id, STOPPED, logs(1, 5), weights(5)))
    recorder(view(run.id, RUNNING, logs(6, 1), weights(6), first_epoch=6))
    recorder(view("untagged-run-that-does-not-exist", RUNNING, logs(1, 1)))
    assert recorder.flush(10)
    loaded = run_store.load_run(store_engine, lab.id, run.id)
    assert loaded.status == RUNNING and [log.epoch for log in loaded.history] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(loaded.weights.kernels[0], weights(6).kernels[0])
    assert recorder.failures == 0


def test_a_real_job_is_recorded_while_it_trains_when_it_ends_and_when_the_pool_stops(
    tmp_path,
) -> None:
    from store.database import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'lab.sqlite3'}")
    lab = lab_store.create_lab(engine)
    recorder = Recorder(engine)
    short = run_store.add_run(engine, lab.id, TrainConfig(hidden_units=(4,), epochs=3), "queued")
    long = run_store.add_run(engine, lab.id, LONG, "queued")
    pool = JobManager(workers=1, jobs_per_worker=100, recorder=recorder, checkpoint_seconds=0.5)
    try:
        assert pool.wait_until_ready(WAIT)
        finished(pool, pool.submit(JobRequest(short.config, tag=short.id)))
        job = pool.submit(JobRequest(LONG, tag=long.id))
        pool.wait(job, lambda view: view.epochs_done >= 2, WAIT)
        assert recorder.flush(10)
    finally:
        pool.shutdown()
    assert recorder.flush(10)
    done = run_store.load_run(engine, lab.id, short.id)
    assert done.status == DONE and done.epochs_done == 3 and done.test_accuracy is not None
    assert done.optimizer_state is not None and done.keras_file[:2] == b"PK"
    interrupted = run_store.load_run(engine, lab.id, long.id)
    assert interrupted.status == RUNNING and interrupted.epochs_done >= 2
    assert interrupted.weights is not None


def test_a_diverged_job_is_stored_as_diverged_with_the_reason() -> None:
    from dataclasses import replace
    from types import SimpleNamespace

    from store.recorder import DIVERGED_MESSAGE, outcome

    ended = replace(view("run", DONE, logs(1, 2)), result=SimpleNamespace(diverged=True))
    assert outcome(ended) == (DIVERGED, DIVERGED_MESSAGE)
    assert outcome(replace(ended, result=None, error="boom", state="failed")) == ("failed", "boom")


def test_a_run_that_ends_within_the_checkpoint_interval_writes_only_its_end() -> None:
    recorded: list[JobView] = []
    pool = JobManager(
        workers=1, jobs_per_worker=100, recorder=recorded.append, checkpoint_seconds=60.0
    )
    try:
        assert pool.wait_until_ready(WAIT)
        config = TrainConfig(hidden_units=(4,), epochs=30)
        finished(pool, pool.submit(JobRequest(config, tag="run")))
    finally:
        pool.shutdown()
    # A class's short runs cost the store one write each, not a checkpoint as well.
    assert [view.state for view in recorded] == [DONE]
