"""How a class's transactions find and lock their class: rows in id order, the teacher's key."""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Row, select, update

from store.class_rules import TEACHER_KEY_MESSAGE, ClassSpace, TeacherKeyRefused
from store.schema import class_members, classes

# Longer keys are refused before any query: a real key is 32 characters.
MAX_TEACHER_KEY_LENGTH = 64


def class_space(row) -> ClassSpace:
    return ClassSpace(
        row.id,
        row.join_code,
        row.created_at,
        row.touched_at,
        bool(row.joining_open),
        row.challenge,
        row.train_link,
        row.set_version,
    )


def key_hash(teacher_key: str) -> str:
    return hashlib.sha256(teacher_key.encode()).hexdigest()


def lock_classes(connection: Connection, class_ids: set[str]) -> None:
    """Lock these classes' rows, in id order. Whatever changes a class's members or drawings
    locks the class first, so that two such transactions never wait for each other
    (PostgreSQL; SQLite's BEGIN IMMEDIATE runs one writer at a time anyway)."""
    connection.execute(
        select(classes.c.id)
        .where(classes.c.id.in_(sorted(set(class_ids))))
        .order_by(classes.c.id)
        .with_for_update(key_share=True)
    )


def locked_membership(
    connection: Connection, lab_id: str, also: tuple[str, ...] = ()
) -> Row | None:
    """The lab's membership row (or None), read after locking its class and the `also` ones."""
    current = None
    for _ in range(3):
        current = connection.execute(
            select(class_members).where(class_members.c.lab_id == lab_id)
        ).first()
        lock_classes(connection, {*also, *([current.class_id] if current else [])})
        again = connection.execute(
            select(class_members).where(class_members.c.lab_id == lab_id)
        ).first()
        if (again and again.class_id) == (current and current.class_id):
            return again
        current = again  # it moved meanwhile (another tab): lock its new class too
    return current


def teacher_class_for_update(
    connection: Connection, teacher_key: str, lock: bool = True
) -> ClassSpace:
    """The class this key is the teacher's of, its row locked (`lock`) for the caller's change."""
    if (
        not isinstance(teacher_key, str)
        or not teacher_key
        or len(teacher_key) > MAX_TEACHER_KEY_LENGTH
    ):
        raise TeacherKeyRefused(TEACHER_KEY_MESSAGE)
    query = select(classes).where(classes.c.teacher_key_hash == key_hash(teacher_key))
    row = connection.execute(query.with_for_update(key_share=True) if lock else query).first()
    if row is None:
        raise TeacherKeyRefused(TEACHER_KEY_MESSAGE)
    return class_space(row)


def bump_set_version(connection: Connection, class_id: str) -> None:
    connection.execute(
        update(classes)
        .where(classes.c.id == class_id)
        .values(set_version=classes.c.set_version + 1)
    )
