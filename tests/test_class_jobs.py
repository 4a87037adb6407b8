"""The job pool trains on the "class" dataset end to end, and refuses it clearly without drawings."""

from __future__ import annotations

import numpy as np

from model.class_data import ClassDrawings
from model.config import TrainConfig
from model.data import CLASS_DRAWINGS_MISSING, load_splits
from model.jobs import DATASET_ERROR, DONE, FAILED, JobRequest
from model.jobs.records import Job
from model.jobs.workers import Paused
from tests.test_jobs import finished

CLASS = TrainConfig(hidden_units=(4,), epochs=3, dataset="class")


def class_drawings(count: int = 10) -> ClassDrawings:
    rng = np.random.default_rng(7)
    return ClassDrawings.checked(rng.random((count, 400), dtype=np.float32), np.arange(count) % 2)


def test_a_class_run_tests_on_the_bundled_test_images_and_three_drawings(manager) -> None:
    drawings = class_drawings(10)
    view = finished(manager, manager.submit(JobRequest(CLASS, class_drawings=drawings), "t"))
    assert view.state == DONE and view.error is None, view.error
    assert [log.epoch for log in view.history] == [1, 2, 3]
    test = view.result.test
    bundled = load_splits("bundled").test
    assert len(test) == len(bundled) + 3
    np.testing.assert_array_equal(test.x[: len(bundled)], bundled.x)
    added = test.indices[len(bundled) :] - 1000
    np.testing.assert_array_equal(test.x[len(bundled) :], drawings.images[added])
    np.testing.assert_array_equal(test.y[len(bundled) :], drawings.labels[added])


def test_a_class_run_without_drawings_fails_clearly_and_the_worker_goes_on(manager) -> None:
    failed = finished(manager, manager.submit(JobRequest(CLASS), "t"))
    assert failed.state == FAILED and failed.error_kind == DATASET_ERROR
    assert failed.error == CLASS_DRAWINGS_MISSING
    after = finished(
        manager, manager.submit(JobRequest(CLASS.with_changes(dataset="bundled")), "t")
    )
    assert failed.worker_pid is not None
    assert after.state == DONE and after.worker_pid == failed.worker_pid


def test_a_preempted_class_job_resumes_with_its_drawings() -> None:
    drawings = class_drawings(4)
    job = Job(1, "t", JobRequest(CLASS, class_drawings=drawings, tag="run"))
    job.paused = Paused(None, None, [], [], False)
    resumed = job.next_slice().request
    assert resumed.class_drawings is drawings and resumed.tag == "run"
