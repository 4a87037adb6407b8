"""A class's drawings (submitted, reviewed, the approved set) and the board's cheap reads."""

from __future__ import annotations

import functools
import hashlib
import json
import time

import numpy as np
from sqlalchemy import Connection, Engine, and_, cast, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from model.config import INPUT_FEATURES, INPUT_SIDE, TrainConfig
from model.forward import NetworkWeights
from model.storage import ModelFileError, weights_from_npz
from store import class_rules as rules
from store.class_locks import bump_set_version, locked_membership, teacher_class_for_update
from store.class_rules import (
    NOT_IN_CLASS_MESSAGE,
    ClassDrawing,
    ClassError,
    DrawingLimitReached,
    DuplicateDrawing,
    NotInClass,
    RosterEntry,
    SharedRun,
    SubmittingTooFast,
)
from store.drawings import LABELS, valid_pixels
from store.runs import ACTIVE_STATUSES, history_from_json
from store.schema import (
    APPROVED,
    PENDING,
    REJECTED,
    class_members,
    class_scores,
    classes,
    runs,
)
from store.schema import class_drawings as drawings_table

# Raw little-endian float32: 1600 bytes a drawing, decoded without a copy.
PIXEL_DTYPE = np.dtype("<f4")
PIXEL_BYTES = INPUT_FEATURES * PIXEL_DTYPE.itemsize
RATE_WINDOW_SECONDS = 60.0
# Runs whose score the board shows: they ended and were tested.
FINISHED_STATUSES = ("done", "stopped")
STATUSES = (PENDING, APPROVED, REJECTED)
DRAWING_COLUMNS = (
    drawings_table.c.id,
    drawings_table.c.lab_id,
    class_members.c.nickname,
    drawings_table.c.label,
    drawings_table.c.pixels,
    drawings_table.c.status,
    drawings_table.c.submitted_at,
)


# A finished run's history no longer changes, and the board reads every shared one each few
# seconds: parsing 30 runs' 100 epochs anew would be most of a refresh.
_history = functools.lru_cache(maxsize=1024)(history_from_json)


def _pixels(data: bytes) -> np.ndarray | None:
    if data is None or len(data) != PIXEL_BYTES:
        return None
    return np.frombuffer(data, dtype=PIXEL_DTYPE).reshape(INPUT_SIDE, INPUT_SIDE)


def _drawings(rows) -> list[ClassDrawing]:
    kept = []
    for row in rows:
        pixels = _pixels(row.pixels)
        if pixels is not None:  # a damaged row loses one drawing, not the board
            kept.append(
                ClassDrawing(
                    row.id,
                    row.lab_id,
                    row.nickname,
                    row.label,
                    pixels,
                    row.status,
                    row.submitted_at,
                )
            )
    return kept


def submit_drawing(
    engine: Engine, lab_id: str, pixels: np.ndarray, label: int, now: float | None = None
) -> ClassDrawing:
    """Give the lab's class one drawing, pending the teacher's review."""
    now = time.time() if now is None else now
    if isinstance(label, bool) or label not in LABELS:
        raise ClassError("A class drawing's label is 0 or 1.")
    try:
        image = valid_pixels(pixels).astype(PIXEL_DTYPE)
    except ValueError as error:
        raise ClassError(f"{str(error).capitalize()}.") from error
    data = image.tobytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        with engine.begin() as connection:
            # The class is locked: two tabs of one student are counted one at a time.
            member = locked_membership(connection, lab_id)
            if member is None:
                raise NotInClass(NOT_IN_CLASS_MESSAGE)
            own = and_(
                drawings_table.c.class_id == member.class_id, drawings_table.c.lab_id == lab_id
            )
            recent, kept, same = connection.execute(
                select(
                    func.count().filter(drawings_table.c.submitted_at > now - RATE_WINDOW_SECONDS),
                    func.count().filter(drawings_table.c.status != REJECTED),
                    func.count().filter(drawings_table.c.digest == digest),
                ).where(own)
            ).one()
            if same:
                raise DuplicateDrawing("You have given the class this very drawing already.")
            if recent >= rules.SUBMISSIONS_PER_MINUTE:
                raise SubmittingTooFast(
                    f"At most {rules.SUBMISSIONS_PER_MINUTE} drawings a minute: wait a moment."
                )
            if kept >= rules.MAX_DRAWINGS_PER_STUDENT:
                raise DrawingLimitReached(
                    f"You have given the class {rules.MAX_DRAWINGS_PER_STUDENT} drawings, "
                    "as many as one student can."
                )
            drawing_id = connection.execute(
                insert(drawings_table).values(
                    class_id=member.class_id,
                    lab_id=lab_id,
                    label=int(label),
                    pixels=data,
                    digest=digest,
                    status=PENDING,
                    submitted_at=now,
                )
            ).inserted_primary_key[0]
            connection.execute(
                update(classes).where(classes.c.id == member.class_id).values(touched_at=now)
            )
    except IntegrityError as error:
        # The unique index: the same drawing sent twice at once from two tabs.
        raise DuplicateDrawing("You have given the class this very drawing already.") from error
    return ClassDrawing(
        drawing_id, lab_id, member.nickname, int(label), _pixels(data), PENDING, now
    )


def review_drawing(engine: Engine, teacher_key: str, drawing_id: int, approve: bool) -> None:
    """Approve a drawing of the class into its class set, or reject it (out of the set)."""
    with engine.begin() as connection:
        space = teacher_class_for_update(connection, teacher_key)
        row = connection.execute(
            select(drawings_table.c.status).where(
                drawings_table.c.id == drawing_id, drawings_table.c.class_id == space.id
            )
        ).first()
        if row is None:
            raise ClassError("This drawing is not in your class (it may have been withdrawn).")
        status = APPROVED if approve else REJECTED
        if row.status == status:
            return
        connection.execute(
            update(drawings_table).where(drawings_table.c.id == drawing_id).values(status=status)
        )
        if APPROVED in (row.status, status):
            bump_set_version(connection, space.id)


def class_drawings(engine: Engine, class_id: str, status: str | None = None) -> list[ClassDrawing]:
    """The class's drawings, oldest first; only those of `status` if given."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"a class drawing's status is one of {', '.join(STATUSES)}")
    query = (
        select(*DRAWING_COLUMNS)
        .join(class_members, class_members.c.lab_id == drawings_table.c.lab_id)
        .where(drawings_table.c.class_id == class_id, class_members.c.class_id == class_id)
        .order_by(drawings_table.c.id)
    )
    if status is not None:
        query = query.where(drawings_table.c.status == status)
    with engine.connect() as connection:
        return _drawings(connection.execute(query).all())


def my_drawings(engine: Engine, lab_id: str) -> list[ClassDrawing]:
    """The drawings this lab gave its current class, oldest first."""
    query = (
        select(*DRAWING_COLUMNS)
        .join(
            class_members,
            and_(
                class_members.c.lab_id == drawings_table.c.lab_id,
                class_members.c.class_id == drawings_table.c.class_id,
            ),
        )
        .where(drawings_table.c.lab_id == lab_id)
        .order_by(drawings_table.c.id)
    )
    with engine.connect() as connection:
        return _drawings(connection.execute(query).all())


def approved_set(engine: Engine, class_id: str) -> tuple[np.ndarray, np.ndarray, int]:
    """The class set as the network takes it: inputs (n, 400) float32, labels (n,) int64,
    and the set's version."""
    with engine.connect() as connection:
        # The version is read first: a set changed meanwhile is scored under the older
        # version, which the next read no longer asks for, never the other way round.
        version = connection.execute(
            select(classes.c.set_version).where(classes.c.id == class_id)
        ).scalar()
        rows = connection.execute(
            select(drawings_table.c.pixels, drawings_table.c.label)
            .where(drawings_table.c.class_id == class_id, drawings_table.c.status == APPROVED)
            .order_by(drawings_table.c.id)
        ).all()
    rows = [row for row in rows if row.pixels is not None and len(row.pixels) == PIXEL_BYTES]
    inputs = np.frombuffer(b"".join(row.pixels for row in rows), dtype=PIXEL_DTYPE)
    labels = np.array([row.label for row in rows], dtype=np.int64)
    return inputs.reshape(len(rows), INPUT_FEATURES), labels, version or 0


def _epochs_done(connection: Connection):
    """The number of epochs in a run's history, counted by the database (no JSON sent)."""
    if connection.dialect.name == "postgresql":
        return func.json_array_length(cast(runs.c.history, postgresql.JSON))
    return func.json_array_length(runs.c.history)


def roster(engine: Engine, class_id: str) -> list[RosterEntry]:
    """The class's students in joining order, each with what their latest run is doing."""
    in_class = select(class_members.c.lab_id).where(class_members.c.class_id == class_id)
    latest = (
        select(runs.c.lab_id, func.max(runs.c.number).label("number"))
        .where(runs.c.lab_id.in_(in_class))
        .group_by(runs.c.lab_id)
        .subquery()
    )
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                class_members.c.lab_id,
                class_members.c.nickname,
                class_members.c.share_runs,
                runs.c.status,
                _epochs_done(connection).label("epochs"),
            )
            .select_from(
                class_members.outerjoin(
                    latest, latest.c.lab_id == class_members.c.lab_id
                ).outerjoin(
                    runs, and_(runs.c.lab_id == latest.c.lab_id, runs.c.number == latest.c.number)
                )
            )
            .where(class_members.c.class_id == class_id)
            .order_by(class_members.c.joined_at, class_members.c.nickname_key)
        ).all()
    entries = []
    for row in rows:
        if row.status is None:
            state, epoch = "joined", None
        else:
            state = "training" if row.status in ACTIVE_STATUSES else "done"
            epoch = int(row.epochs or 0)
        entries.append(RosterEntry(row.lab_id, row.nickname, state, epoch, bool(row.share_runs)))
    return entries


def shared_runs(engine: Engine, class_id: str) -> list[SharedRun]:
    """The finished, tested runs of the students who share theirs, best test accuracy first;
    settings and curves only, never the weights."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                runs.c.id,
                runs.c.lab_id,
                class_members.c.nickname,
                runs.c.number,
                runs.c.config,
                runs.c.status,
                runs.c.test_accuracy,
                runs.c.history,
                runs.c.updated_at,
            )
            .join(class_members, class_members.c.lab_id == runs.c.lab_id)
            .where(
                class_members.c.class_id == class_id,
                class_members.c.share_runs.is_(True),
                runs.c.status.in_(FINISHED_STATUSES),
                runs.c.test_accuracy.is_not(None),
            )
            .order_by(runs.c.test_accuracy.desc(), runs.c.updated_at)
        ).all()
    shared = []
    for row in rows:
        try:
            config = TrainConfig.from_dict(json.loads(row.config))
            history = _history(row.history)
        except (ValueError, TypeError, KeyError, IndexError):
            continue  # a damaged row loses one run, not the board
        shared.append(
            SharedRun(
                row.id,
                row.lab_id,
                row.nickname,
                row.number,
                config,
                row.status,
                row.test_accuracy,
                history,
                row.updated_at,
            )
        )
    return shared


def run_weights(engine: Engine, run_id: str) -> NetworkWeights | None:
    """A run's latest weights (for scoring it on the class set); None if it has none."""
    with engine.connect() as connection:
        row = connection.execute(
            select(runs.c.config, runs.c.weights).where(runs.c.id == run_id)
        ).first()
    if row is None or row.weights is None:
        return None
    try:
        return weights_from_npz(TrainConfig.from_dict(json.loads(row.config)), row.weights)
    except (ModelFileError, ValueError, TypeError, KeyError):
        return None


def cached_scores(engine: Engine, class_id: str, set_version: int) -> dict[str, tuple[float, int]]:
    """Run id → (accuracy, drawings scored) on this version of the class set."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(class_scores.c.run_id, class_scores.c.accuracy, class_scores.c.count).where(
                class_scores.c.class_id == class_id, class_scores.c.set_version == set_version
            )
        ).all()
    return {row.run_id: (row.accuracy, row.count) for row in rows}


def save_score(
    engine: Engine, class_id: str, run_id: str, set_version: int, accuracy: float, count: int
) -> None:
    """Remember a run's accuracy on a version of the class set (never over a newer version's);
    quietly nothing if the run or the class is gone."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    values = {
        "run_id": run_id,
        "class_id": class_id,
        "set_version": set_version,
        "accuracy": float(accuracy),
        "count": int(count),
    }
    statement = dialect.insert(class_scores).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[class_scores.c.run_id, class_scores.c.class_id],
        set_={
            "set_version": statement.excluded.set_version,
            "accuracy": statement.excluded.accuracy,
            "count": statement.excluded.count,
        },
        # Two boards scoring at once: the one that saw the newer set wins.
        where=class_scores.c.set_version <= statement.excluded.set_version,
    )
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    except IntegrityError:
        return
