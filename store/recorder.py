"""Writes what training jobs stream (checkpoints, results) to the store, off the dispatcher's thread."""

from __future__ import annotations

import atexit
import threading
import time
import traceback
from collections import OrderedDict

from sqlalchemy import Engine

from model.evaluation import predict_test
from model.jobs import JobView, shutdown_all
from store.runs import save_progress

# A run's status beyond the job states: it stopped itself because the loss became NaN.
DIVERGED = "diverged"
DIVERGED_MESSAGE = (
    "The loss became NaN or infinite, so training stopped; the last weights with a finite "
    "loss are kept. Try a smaller learning rate."
)


def outcome(view: JobView) -> tuple[str, str | None]:
    """The run's status and message once its job has finished."""
    if view.result is not None and view.result.diverged:
        return DIVERGED, DIVERGED_MESSAGE
    return view.state, view.error


def record(engine: Engine, view: JobView) -> bool:
    """Write one snapshot of a tagged job; False if its run no longer exists."""
    if view.tag is None:
        return False
    if not view.finished:
        return save_progress(
            engine,
            view.tag,
            status=view.state,
            first_epoch=view.first_epoch,
            history=view.history,
            weights=view.weights,
            optimizer_state=view.optimizer_state,
        )
    status, message = outcome(view)
    result = view.result
    # Without a result (failed, or cancelled in the queue) the last streamed weights stay.
    ended: dict = {"history": view.history, "weights": view.weights}
    if result is not None:
        ended = {
            "history": result.history,
            "weights": result.weights,
            "config": result.config,
            "test_accuracy": predict_test(result.weights, result.test).confusion().accuracy,
            "optimizer_state": result.optimizer_state,
            "keras_file": result.keras_file,
        }
    return save_progress(
        engine,
        view.tag,
        status=status,
        message=message,
        first_epoch=view.first_epoch,
        final=True,
        **ended,
    )


class Recorder:
    """A `model.jobs.Recorder` that never blocks: snapshots queue up and one thread writes them.

    Checkpoints of one run that pile up while the database is slow collapse into the newest;
    a job's end is always written, in order.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Condition()
        self._pending: OrderedDict[str, list[JobView]] = OrderedDict()
        self._writing = False
        self.written = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="zol-store-recorder", daemon=True)
        self._thread.start()
        _RECORDERS.add(self)

    def __call__(self, view: JobView) -> None:
        if view.tag is None:
            return
        with self._lock:
            views = self._pending.setdefault(view.tag, [])
            if views and not views[-1].finished:
                views[-1] = view
            else:
                views.append(view)
            self._lock.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed over so far is written (or `timeout` passes)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending or self._writing:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._lock.wait()
                _, views = self._pending.popitem(last=False)
                self._writing = True
            for view in views:
                try:
                    record(self._engine, view)
                    self.written += 1
                except Exception:  # the database being away loses a checkpoint, not the server
                    self.failures += 1
                    traceback.print_exc()
            with self._lock:
                self._writing = False
                self._lock.notify_all()


# Every recorder of this process, for `flush_all`.
_RECORDERS: set[Recorder] = set()


def flush_all(timeout: float = 3.0) -> None:
    """Write what every recorder still holds: the server is stopping."""
    deadline = time.monotonic() + timeout
    for recorder in list(_RECORDERS):
        recorder.flush(max(0.0, deadline - time.monotonic()))


def _stop_training_then_flush() -> None:
    shutdown_all()
    flush_all()


# Registered after `model.jobs`'s own handler, so it runs first: the jobs' last checkpoints
# reach the recorders before they are written out.
atexit.register(_stop_training_then_flush)
