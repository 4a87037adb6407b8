"""Labs: create, find by id or resume code, touch, delete, and expire the ones left alone."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.codes import (
    WRONG_CODE_DELAY_SECONDS,
    WRONG_CODE_WINDOW_SECONDS,
    AttemptVerdict,
    code_attempt_verdict,
    is_lab_id,
    new_code,
    new_lab_id,
    normalise_code,
)
from store.schema import (
    APPROVED,
    class_drawings,
    class_members,
    class_scores,
    classes,
    code_attempts,
    drawings,
    labs,
    runs,
)

RETENTION_DAYS_ENV = "ZOL_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30.0
# A visit marks the lab as used at most this often: a rerun must not write to the database.
TOUCH_INTERVAL_SECONDS = 3600.0
NEW_CODE_TRIES = 20


@dataclass(frozen=True)
class Lab:
    id: str
    code: str
    created_at: float
    touched_at: float
    active_run: str | None


@dataclass(frozen=True)
class LabCounts:
    runs: int
    drawings: int


def retention_days() -> float:
    try:
        days = float(os.environ.get(RETENTION_DAYS_ENV) or DEFAULT_RETENTION_DAYS)
    except ValueError:
        return DEFAULT_RETENTION_DAYS
    return days if days > 0 else DEFAULT_RETENTION_DAYS


def _lab(row) -> Lab:
    return Lab(row.id, row.code, row.created_at, row.touched_at, row.active_run)


def create_lab(engine: Engine, now: float | None = None) -> Lab:
    """A new, empty lab with a fresh secret id and an unused resume code."""
    now = time.time() if now is None else now
    for _ in range(NEW_CODE_TRIES):
        lab = Lab(new_lab_id(), new_code(), now, now, None)
        try:
            with engine.begin() as connection:
                connection.execute(
                    insert(labs).values(
                        id=lab.id, code=lab.code, created_at=now, touched_at=now, active_run=None
                    )
                )
            return lab
        except IntegrityError:
            continue  # the code was taken (about one in a billion): draw another
    raise RuntimeError("could not find an unused resume code")


def find_lab(engine: Engine, lab_id: str) -> Lab | None:
    """The lab with this secret id; None for an unknown or malformed id."""
    if not isinstance(lab_id, str) or not is_lab_id(lab_id):
        return None
    with engine.connect() as connection:
        row = connection.execute(select(labs).where(labs.c.id == lab_id)).first()
    return None if row is None else _lab(row)


def touch_lab(engine: Engine, lab: Lab, now: float | None = None) -> Lab:
    """Mark the lab as visited (at most once an hour), so that it is not expired."""
    now = time.time() if now is None else now
    if now - lab.touched_at < TOUCH_INTERVAL_SECONDS:
        return lab
    with engine.begin() as connection:
        connection.execute(update(labs).where(labs.c.id == lab.id).values(touched_at=now))
    return Lab(lab.id, lab.code, lab.created_at, now, lab.active_run)


def _touch(connection: Connection, lab_id: str) -> None:
    connection.execute(update(labs).where(labs.c.id == lab_id).values(touched_at=time.time()))


def set_active_run(engine: Engine, lab_id: str, run_id: str | None) -> None:
    """Which run's weights answer on the Draw page; None for the bundled model."""
    with engine.begin() as connection:
        connection.execute(
            update(labs)
            .where(labs.c.id == lab_id)
            .values(active_run=run_id, touched_at=time.time())
        )


def lab_counts(engine: Engine, lab_id: str) -> LabCounts:
    with engine.connect() as connection:
        run_count = connection.execute(
            select(func.count()).select_from(runs).where(runs.c.lab_id == lab_id)
        ).scalar_one()
        drawing_count = connection.execute(
            select(func.count()).select_from(drawings).where(drawings.c.lab_id == lab_id)
        ).scalar_one()
    return LabCounts(run_count, drawing_count)


def delete_lab(engine: Engine, lab_id: str) -> None:
    """Everything of the lab, now: its runs, checkpoints and drawings go with it."""
    with engine.begin() as connection:
        _delete_labs(connection, [lab_id])


def _delete_labs(connection: Connection, lab_ids: list[str]) -> None:
    # Explicit deletes rather than ON DELETE CASCADE alone: SQLite enforces foreign keys
    # only on connections that switched them on.
    lab_runs = select(runs.c.id).where(runs.c.lab_id.in_(lab_ids))
    connection.execute(delete(class_scores).where(class_scores.c.run_id.in_(lab_runs)))
    # A class whose approved set loses drawings has a new set: its cached scores are stale.
    losing = select(class_drawings.c.class_id).where(
        class_drawings.c.lab_id.in_(lab_ids), class_drawings.c.status == APPROVED
    )
    connection.execute(
        update(classes)
        .where(classes.c.id.in_(losing))
        .values(set_version=classes.c.set_version + 1)
    )
    connection.execute(delete(class_drawings).where(class_drawings.c.lab_id.in_(lab_ids)))
    connection.execute(delete(class_members).where(class_members.c.lab_id.in_(lab_ids)))
    connection.execute(delete(drawings).where(drawings.c.lab_id.in_(lab_ids)))
    connection.execute(delete(runs).where(runs.c.lab_id.in_(lab_ids)))
    connection.execute(delete(labs).where(labs.c.id.in_(lab_ids)))


def delete_expired(engine: Engine, days: float | None = None, now: float | None = None) -> int:
    """Delete labs untouched for `days` (default `retention_days()`); how many were deleted.

    A run's checkpoint counts as a touch, so a lab training right now is never expired.
    """
    now = time.time() if now is None else now
    cutoff = now - 86400.0 * (retention_days() if days is None else days)
    with engine.begin() as connection:
        recently_written = select(runs.c.lab_id).where(runs.c.updated_at >= cutoff)
        expired = list(
            connection.execute(
                select(labs.c.id).where(
                    labs.c.touched_at < cutoff, labs.c.id.not_in(recently_written)
                )
            ).scalars()
        )
        for start in range(0, len(expired), 500):
            _delete_labs(connection, expired[start : start + 500])
        connection.execute(
            delete(code_attempts).where(code_attempts.c.at < now - WRONG_CODE_WINDOW_SECONDS)
        )
    return len(expired)


@dataclass(frozen=True)
class CodeLookup:
    """What a typed resume code found: a lab, or why not (the message is for the learner)."""

    lab: Lab | None
    message: str | None = None
    # Seconds the caller should wait before answering: wrong codes are slowed down.
    delay: float = 0.0


def open_by_code(engine: Engine, typed: str, client: str, now: float | None = None) -> CodeLookup:
    """The lab with this resume code, unless this client has sent too many wrong codes."""
    now = time.time() if now is None else now
    refusal = wrong_code_refusal(engine, client, now)
    if refusal is not None:
        return CodeLookup(None, refusal, WRONG_CODE_DELAY_SECONDS)
    code = normalise_code(typed)
    row = None
    if code is not None:
        with engine.connect() as connection:
            row = connection.execute(select(labs).where(labs.c.code == code)).first()
    if row is not None:
        return CodeLookup(_lab(row))
    count_wrong_code(engine, client, now)
    shape = (
        ""
        if code is not None
        else " A code is three words and a number, e.g. maple-otter-river-42."
    )
    return CodeLookup(None, f"No lab has this code.{shape}", WRONG_CODE_DELAY_SECONDS)


def wrong_code_refusal(engine: Engine, client: str | None, now: float | None = None) -> str | None:
    """Why this client may not try another code now (too many wrong ones), or None.

    Resume codes and class join codes share the count: neither can be enumerated.
    """
    now = time.time() if now is None else now
    with engine.connect() as connection:
        recent = connection.execute(
            select(code_attempts.c.at).where(
                code_attempts.c.client == _client(client),
                code_attempts.c.at >= now - WRONG_CODE_WINDOW_SECONDS,
            )
        ).scalars()
        verdict: AttemptVerdict = code_attempt_verdict(list(recent), now)
    if verdict.allowed:
        return None
    minutes = max(1, round(verdict.retry_after / 60))
    return f"Too many wrong codes from this address: try again in about {minutes} min."


def count_wrong_code(engine: Engine, client: str | None, now: float | None = None) -> None:
    now = time.time() if now is None else now
    with engine.begin() as connection:
        connection.execute(insert(code_attempts).values(client=_client(client), at=now))


def _client(client: str | None) -> str:
    return (client or "unknown")[:128]
