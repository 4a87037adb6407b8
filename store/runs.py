"""A lab's runs: settings, curves, the latest weights (checkpoints), and what Continue needs."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from model.config import TrainConfig
from model.forward import NetworkWeights
from model.storage import arrays_npz_bytes, npz_arrays, weights_from_npz, weights_npz_bytes
from model.training import EpochLog
from store.schema import class_scores, labs, runs

MAX_RUNS_PER_LAB = 50
RUN_ID_BYTES = 16
# A run's status beyond the job states: cut off by a server restart; its checkpoint is kept.
INTERRUPTED = "interrupted"
# Statuses of a run that has a job somewhere (or had one when the server stopped).
ACTIVE_STATUSES = ("queued", "running")
# The largest `.keras` file of the largest network is about 1.2 MB.
MAX_KERAS_BYTES = 4_000_000
LIGHT_COLUMNS = (
    runs.c.id,
    runs.c.lab_id,
    runs.c.number,
    runs.c.config,
    runs.c.status,
    runs.c.message,
    runs.c.history,
    runs.c.test_accuracy,
    runs.c.created_at,
    runs.c.updated_at,
)


class RunLimitReached(ValueError):
    """The lab holds `MAX_RUNS_PER_LAB` runs already."""


RUN_LIMIT_MESSAGE = (
    f"Your lab keeps at most {MAX_RUNS_PER_LAB} runs and is full: delete old runs "
    "(My lab page) to train more."
)


@dataclass(frozen=True)
class StoredRun:
    """One run as the store has it; the weights and files only when asked for (`heavy`)."""

    id: str
    lab_id: str
    number: int
    config: TrainConfig
    status: str
    message: str | None
    history: tuple[EpochLog, ...]
    test_accuracy: float | None
    created_at: float
    updated_at: float
    weights: NetworkWeights | None = None
    optimizer_state: list[np.ndarray] | None = None
    keras_file: bytes | None = None

    @property
    def epochs_done(self) -> int:
        return len(self.history)


def history_json(history: Sequence[EpochLog]) -> str:
    return json.dumps(
        [[log.epoch, log.loss, log.accuracy, log.val_loss, log.val_accuracy] for log in history]
    )


def history_from_json(text: str) -> tuple[EpochLog, ...]:
    return tuple(
        EpochLog(int(row[0]), *(float(value) for value in row[1:])) for row in json.loads(text)
    )


def merged_history(
    earlier: Sequence[EpochLog], first_epoch: int, latest: Sequence[EpochLog]
) -> list[EpochLog]:
    """A continued run's curves: the epochs before this job's first, then this job's."""
    return [log for log in earlier if log.epoch < first_epoch] + list(latest)


def optimizer_npz(state: list[np.ndarray] | None) -> bytes | None:
    return None if state is None else arrays_npz_bytes([np.asarray(array) for array in state])


def optimizer_from_npz(data: bytes | None) -> list[np.ndarray] | None:
    if data is None:
        return None
    arrays = npz_arrays(data, "optimizer state")
    if not all(np.isfinite(array).all() for array in arrays if array.dtype.kind == "f"):
        return None
    return arrays


def _stored(row, heavy: bool) -> StoredRun:
    config = TrainConfig.from_dict(json.loads(row.config))
    weights = optimizer_state = keras_file = None
    if heavy:
        if row.weights is not None:
            weights = weights_from_npz(config, row.weights)
        optimizer_state = optimizer_from_npz(row.optimizer_state)
        keras_file = row.keras_file
    return StoredRun(
        row.id,
        row.lab_id,
        row.number,
        config,
        row.status,
        row.message,
        history_from_json(row.history),
        row.test_accuracy,
        row.created_at,
        row.updated_at,
        weights,
        optimizer_state,
        keras_file,
    )


def add_run(
    engine: Engine,
    lab_id: str,
    config: TrainConfig,
    status: str,
    *,
    history: Sequence[EpochLog] = (),
    message: str | None = None,
    test_accuracy: float | None = None,
    weights: NetworkWeights | None = None,
    optimizer_state: list[np.ndarray] | None = None,
) -> StoredRun:
    """A new run numbered after the lab's others; `RunLimitReached` when the lab is full."""
    with engine.begin() as connection:
        (stored,) = insert_runs(
            connection,
            lab_id,
            [(config, status, history, message, test_accuracy, weights, optimizer_state)],
        )
    return stored


def insert_runs(
    connection: Connection,
    lab_id: str,
    items: Sequence[tuple],
) -> list[StoredRun]:
    """Several new runs in one transaction (a lab file's): all of them or, past the cap, none."""
    # The lab's row is locked so that two tabs of one lab never number two runs alike.
    if (
        connection.execute(select(labs.c.id).where(labs.c.id == lab_id).with_for_update()).first()
        is None
    ):
        raise LookupError("the lab no longer exists")
    count, highest = connection.execute(
        select(func.count(), func.max(runs.c.number)).where(runs.c.lab_id == lab_id)
    ).one()
    if count + len(items) > MAX_RUNS_PER_LAB:
        raise RunLimitReached(RUN_LIMIT_MESSAGE)
    now = time.time()
    stored: list[StoredRun] = []
    for offset, (config, status, history, message, accuracy, weights, state) in enumerate(
        items, start=1
    ):
        run = StoredRun(
            secrets.token_hex(RUN_ID_BYTES),
            lab_id,
            (highest or 0) + offset,
            config,
            status,
            message,
            tuple(history),
            accuracy,
            now,
            now,
            weights,
            state,
        )
        connection.execute(
            insert(runs).values(
                id=run.id,
                lab_id=lab_id,
                number=run.number,
                config=json.dumps(config.to_dict()),
                status=status,
                message=message,
                history=history_json(history),
                test_accuracy=accuracy,
                weights=None if weights is None else weights_npz_bytes(weights),
                optimizer_state=optimizer_npz(state),
                created_at=now,
                updated_at=now,
            )
        )
        stored.append(run)
    connection.execute(update(labs).where(labs.c.id == lab_id).values(touched_at=now))
    return stored


def load_runs(engine: Engine, lab_id: str, heavy_run: str | None = None) -> list[StoredRun]:
    """The lab's runs, oldest first: settings and curves, and the weights of `heavy_run`."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(*LIGHT_COLUMNS).where(runs.c.lab_id == lab_id).order_by(runs.c.number)
        ).all()
        loaded = [_stored(row, heavy=False) for row in rows]
        if heavy_run is None:
            return loaded
        heavy_row = connection.execute(
            select(runs).where(runs.c.lab_id == lab_id, runs.c.id == heavy_run)
        ).first()
    if heavy_row is None:
        return loaded
    heavy = _stored(heavy_row, heavy=True)
    return [heavy if run.id == heavy.id else run for run in loaded]


def load_run(engine: Engine, lab_id: str, run_id: str) -> StoredRun | None:
    """One run with its weights; only from its own lab."""
    with engine.connect() as connection:
        row = connection.execute(
            select(runs).where(runs.c.lab_id == lab_id, runs.c.id == run_id)
        ).first()
    return None if row is None else _stored(row, heavy=True)


def save_progress(
    engine: Engine,
    run_id: str,
    *,
    status: str,
    first_epoch: int,
    history: Sequence[EpochLog],
    weights: NetworkWeights | None,
    message: str | None = None,
    config: TrainConfig | None = None,
    test_accuracy: float | None = None,
    optimizer_state: list[np.ndarray] | None = None,
    keras_file: bytes | None = None,
    final: bool = False,
) -> bool:
    """Record what a job of this run has done (its epochs from `first_epoch` on); False if the
    run is gone (its lab was deleted meanwhile).

    A checkpoint (`final=False`) keeps the finished job's test accuracy and `.keras` file; its
    weights come with the optimizer state that goes with them, or with none (Continue then
    starts a fresh one rather than pair them with an older state). The end of a job
    (`final=True`) replaces all of it, with None meaning there is none.
    """
    now = time.time()
    with engine.begin() as connection:
        row = connection.execute(
            select(runs.c.history, runs.c.lab_id).where(runs.c.id == run_id)
        ).first()
        if row is None:
            return False
        merged = merged_history(history_from_json(row.history), first_epoch, history)
        values: dict = {
            "status": status,
            "message": message,
            "history": history_json(merged),
            "updated_at": now,
        }
        if weights is not None:
            values["weights"] = weights_npz_bytes(weights)
            values["optimizer_state"] = optimizer_npz(optimizer_state)
        if config is not None:
            values["config"] = json.dumps(config.to_dict())
        if final:
            values["test_accuracy"] = test_accuracy
            values["optimizer_state"] = optimizer_npz(optimizer_state)
            values["keras_file"] = (
                keras_file if keras_file and len(keras_file) <= MAX_KERAS_BYTES else None
            )
        connection.execute(update(runs).where(runs.c.id == run_id).values(**values))
        connection.execute(update(labs).where(labs.c.id == row.lab_id).values(touched_at=now))
    return True


def set_status(
    engine: Engine,
    lab_id: str,
    run_id: str,
    status: str,
    message: str | None = None,
    config: TrainConfig | None = None,
) -> None:
    values: dict = {"status": status, "message": message, "updated_at": time.time()}
    if config is not None:
        values["config"] = json.dumps(config.to_dict())
    with engine.begin() as connection:
        connection.execute(
            update(runs).where(runs.c.lab_id == lab_id, runs.c.id == run_id).values(**values)
        )


def delete_runs(engine: Engine, lab_id: str, run_ids: Sequence[str]) -> None:
    with engine.begin() as connection:
        own = select(runs.c.id).where(runs.c.lab_id == lab_id, runs.c.id.in_(list(run_ids)))
        connection.execute(delete(class_scores).where(class_scores.c.run_id.in_(own)))
        connection.execute(
            delete(runs).where(runs.c.lab_id == lab_id, runs.c.id.in_(list(run_ids)))
        )
        connection.execute(
            update(labs)
            .where(labs.c.id == lab_id, labs.c.active_run.in_(list(run_ids)))
            .values(active_run=None)
        )
