"""A run's augmented copies take seconds to make: a worker asked for its process back stops making
them, keeps what it made, and the run goes on later exactly as if it had never stopped."""

from __future__ import annotations

import threading
from multiprocessing import Event, Pipe

import numpy as np
import pytest

from model.config import TrainConfig
from model.data import load_splits
from model.jobs import DONE, JobRequest
from model.jobs.workers import Slice, _Data, _run_slice
from model.training_data import Preparation, training_splits
from tests.test_jobs import SHORT, WAIT, finished

# Ten images of 24 copies each: a fraction of a second of Pillow.
AUGMENTED = TrainConfig(hidden_units=(3,), epochs=2, augment=True, train_size=10, seed=21)


def assert_same_splits(left, right) -> None:
    for name in ("train", "validation", "test"):
        one, other = getattr(left, name), getattr(right, name)
        np.testing.assert_array_equal(one.x, other.x)
        np.testing.assert_array_equal(one.y, other.y)
        np.testing.assert_array_equal(one.indices, other.indices)


def test_copies_made_in_many_goes_are_the_copies_made_in_one() -> None:
    splits = load_splits()
    config = AUGMENTED.with_changes(label_noise=0.2, input_noise=0.1)
    preparation = Preparation(splits, config)
    goes = 1
    # Asked to stop after every image: one image's copies per call.
    while not preparation.advance(should_stop=lambda: True):
        with pytest.raises(RuntimeError, match="not all made"):
            preparation.splits()
        goes += 1
    assert goes == 10
    prepared = preparation.splits()
    assert_same_splits(prepared, training_splits(splits, config))
    assert len(prepared.train) == 10 * 25


def test_a_worker_asked_back_while_making_copies_hands_the_job_back_untrained() -> None:
    data = _Data()
    request = JobRequest(AUGMENTED.with_changes(seed=22))
    cancel, pause = Event(), Event()
    pause.set()
    receiving, sending = Pipe(duplex=False)
    # Before the fix the worker made every copy, then paused with the untrained weights.
    assert _run_slice(Slice(1, request), sending, cancel, pause, data) == ("paused", 1, None)
    assert not data.augmented and len(data.preparing) == 1
    pause.clear()
    kind, job_id, result, _ = _run_slice(Slice(1, request), sending, cancel, pause, data)
    assert (kind, job_id) == ("result", 1) and [log.epoch for log in result.history] == [1, 2]
    assert not data.preparing and len(data.augmented) == 1
    assert_same_splits(data.augmented.popitem()[1], training_splits(load_splits(), request.config))
    receiving.close()


def test_a_stop_while_the_copies_are_made_ends_at_once_with_the_untrained_network() -> None:
    data = _Data()
    request = JobRequest(AUGMENTED.with_changes(seed=23, train_size=700))
    cancel, pause = Event(), Event()
    receiving, sending = Pipe(duplex=False)
    # The Stop comes while the first images' copies are made (of 700 images' 16,800).
    threading.Timer(0.2, cancel.set).start()
    kind, _, result, _ = _run_slice(Slice(1, request), sending, cancel, pause, data)
    assert kind == "result" and result.stopped and result.history == ()
    assert result.keras_file[:2] == b"PK" and len(result.test) == len(load_splits().test)
    assert not data.augmented and len(data.preparing) == 1
    receiving.close()


def test_a_short_job_goes_first_while_a_long_one_makes_its_copies_which_then_trains_unchanged(
    manager, monkeypatch
) -> None:
    from model.jobs import policy
    from model.training import train

    # The long job leaves the first service band while it makes its copies, so a newcomer
    # takes its worker once its slice is over.
    monkeypatch.setattr(policy, "SERVICE_BANDS", (0.2, 30.0, 300.0))
    # A hundred images: seconds of copies, so the short job arrives while they are made.
    long_config = AUGMENTED.with_changes(seed=24, train_size=100)
    long_id = manager.submit(JobRequest(long_config), "long")
    manager.wait(long_id, lambda view: view.state != "queued", WAIT)
    short = finished(manager, manager.submit(JobRequest(SHORT), "short"))
    long = finished(manager, long_id)
    assert short.state == DONE and long.state == DONE
    assert short.finished_at < long.finished_at and long.slices >= 2
    assert [log.epoch for log in long.result.history] == [1, 2]
    straight = train(long_config, load_splits())
    for sliced, whole in zip(
        long.result.weights.as_list(), straight.weights.as_list(), strict=True
    ):
        np.testing.assert_allclose(sliced, whole, atol=1e-5)
