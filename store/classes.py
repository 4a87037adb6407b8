"""A teacher's class: create it, find it, its teacher's settings, students joining and leaving."""

# The rules, errors and records are in store.class_rules, the locking in store.class_locks,
# the class drawings and the board's reads in store.class_board.

from __future__ import annotations

import secrets
import time

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from store import class_rules as rules
from store.class_locks import (
    bump_set_version,
    class_space,
    key_hash,
    locked_membership,
    teacher_class_for_update,
)
from store.class_rules import (
    CHALLENGES,
    DEFAULT_CHALLENGE,
    NOT_IN_CLASS_MESSAGE,
    ClassError,
    ClassFull,
    ClassLimitReached,
    ClassSpace,
    JoiningClosed,
    Member,
    NicknameTaken,
    NotInClass,
    UnknownClass,
    new_join_code,
    nickname_key,
    normalize_join_code,
    valid_nickname,
    valid_train_link,
)
from store.labs import count_wrong_code, retention_days, wrong_code_refusal
from store.schema import (
    APPROVED,
    class_drawings,
    class_members,
    class_scores,
    classes,
    labs,
    runs,
)

# 24 random bytes (192 bits) each, written as 32 URL-safe characters.
CLASS_ID_BYTES = 24
TEACHER_KEY_BYTES = 24
NEW_CODE_TRIES = 20
# The board touches its class on every refresh; the row is written at most this often.
TOUCH_INTERVAL_SECONDS = 60.0


def _member(row) -> Member:
    return Member(row.lab_id, row.class_id, row.nickname, bool(row.share_runs), row.joined_at)


def create_class(engine: Engine, now: float | None = None) -> tuple[ClassSpace, str]:
    """A new class and its teacher key (shown once; only its hash is kept)."""
    now = time.time() if now is None else now
    teacher_key = secrets.token_urlsafe(TEACHER_KEY_BYTES)
    for _ in range(NEW_CODE_TRIES):
        space = ClassSpace(
            secrets.token_urlsafe(CLASS_ID_BYTES),
            new_join_code(),
            now,
            now,
            True,
            DEFAULT_CHALLENGE,
            None,
            0,
        )
        try:
            with engine.begin() as connection:
                live = connection.execute(select(func.count()).select_from(classes)).scalar_one()
                if live >= rules.MAX_CLASSES:
                    raise ClassLimitReached(
                        "The lab has as many classes as it can hold: try again in a few days, "
                        "when old ones have expired."
                    )
                connection.execute(
                    insert(classes).values(
                        id=space.id,
                        join_code=space.join_code,
                        teacher_key_hash=key_hash(teacher_key),
                        created_at=now,
                        touched_at=now,
                        joining_open=True,
                        challenge=space.challenge,
                        train_link=None,
                        set_version=0,
                    )
                )
            return space, teacher_key
        except IntegrityError:
            continue  # the join code was taken: draw another
    raise RuntimeError("could not find an unused join code")


def class_for_teacher(engine: Engine, teacher_key: str) -> ClassSpace:
    """The class of this teacher key; TeacherKeyRefused for a forged, missing or old key."""
    with engine.connect() as connection:
        return teacher_class_for_update(connection, teacher_key, lock=False)


def class_by_code(engine: Engine, code: str) -> ClassSpace | None:
    try:
        code = normalize_join_code(code)
    except UnknownClass:
        return None
    with engine.connect() as connection:
        row = connection.execute(select(classes).where(classes.c.join_code == code)).first()
    return None if row is None else class_space(row)


def class_by_id(engine: Engine, class_id: str) -> ClassSpace | None:
    if not isinstance(class_id, str) or len(class_id) > 64:
        return None
    with engine.connect() as connection:
        row = connection.execute(select(classes).where(classes.c.id == class_id)).first()
    return None if row is None else class_space(row)


def _update_class(engine: Engine, teacher_key: str, **values) -> ClassSpace:
    with engine.begin() as connection:
        space = teacher_class_for_update(connection, teacher_key)
        connection.execute(
            update(classes).where(classes.c.id == space.id).values(touched_at=time.time(), **values)
        )
        row = connection.execute(select(classes).where(classes.c.id == space.id)).one()
    return class_space(row)


def set_joining(engine: Engine, teacher_key: str, open_: bool) -> ClassSpace:
    return _update_class(engine, teacher_key, joining_open=bool(open_))


def set_challenge(engine: Engine, teacher_key: str, challenge: str) -> ClassSpace:
    if challenge not in CHALLENGES:
        raise ClassError(f"Unknown challenge: choose one of {', '.join(CHALLENGES)}.")
    return _update_class(engine, teacher_key, challenge=challenge)


def set_train_link(engine: Engine, teacher_key: str, query: str | None) -> ClassSpace:
    return _update_class(engine, teacher_key, train_link=valid_train_link(query))


def _remove_members(connection: Connection, class_id: str, lab_ids: list[str]) -> None:
    """Take these labs out of the class with their class drawings and scores; labs stay."""
    lost_approved = connection.execute(
        select(func.count())
        .select_from(class_drawings)
        .where(
            class_drawings.c.class_id == class_id,
            class_drawings.c.lab_id.in_(lab_ids),
            class_drawings.c.status == APPROVED,
        )
    ).scalar_one()
    connection.execute(
        delete(class_drawings).where(
            class_drawings.c.class_id == class_id, class_drawings.c.lab_id.in_(lab_ids)
        )
    )
    their_runs = select(runs.c.id).where(runs.c.lab_id.in_(lab_ids))
    connection.execute(
        delete(class_scores).where(
            class_scores.c.class_id == class_id, class_scores.c.run_id.in_(their_runs)
        )
    )
    connection.execute(
        delete(class_members).where(
            class_members.c.class_id == class_id, class_members.c.lab_id.in_(lab_ids)
        )
    )
    if lost_approved:
        bump_set_version(connection, class_id)


def remove_member(engine: Engine, teacher_key: str, lab_id: str) -> None:
    """Take a student out of the class with their class drawings; their lab and runs stay."""
    with engine.begin() as connection:
        space = teacher_class_for_update(connection, teacher_key)
        found = connection.execute(
            select(class_members.c.lab_id).where(
                class_members.c.class_id == space.id, class_members.c.lab_id == lab_id
            )
        ).first()
        if found is None:
            raise NotInClass("This student is not in your class (any more).")
        _remove_members(connection, space.id, [lab_id])


def _delete_classes(connection: Connection, class_ids: list[str]) -> None:
    # Explicit deletes rather than ON DELETE CASCADE alone, as for labs.
    for table in (class_scores, class_drawings, class_members):
        connection.execute(delete(table).where(table.c.class_id.in_(class_ids)))
    connection.execute(delete(classes).where(classes.c.id.in_(class_ids)))


def delete_class(engine: Engine, teacher_key: str) -> None:
    """Everything of the class, now; the students' labs and runs stay theirs."""
    with engine.begin() as connection:
        _delete_classes(connection, [teacher_class_for_update(connection, teacher_key).id])


def join(
    engine: Engine,
    code: str,
    lab_id: str,
    nickname: str,
    now: float | None = None,
    client: str | None = None,
) -> Member:
    """Put the lab in the class with this join code under `nickname` (renaming it if it is in
    already; leaving its earlier class if it was in another).

    A wrong code counts against `client` like a wrong resume code, and too many of them refuse
    the next one, right or not: join codes cannot be enumerated either.
    """
    now = time.time() if now is None else now
    refusal = wrong_code_refusal(engine, client, now)
    if refusal is not None:
        raise UnknownClass(refusal)
    nickname = valid_nickname(nickname)
    try:
        return _join(engine, normalize_join_code(code), lab_id, nickname, now)
    except UnknownClass:
        count_wrong_code(engine, client, now)
        raise


def _join(engine: Engine, code: str, lab_id: str, nickname: str, now: float) -> Member:
    key = nickname_key(nickname)
    try:
        with engine.begin() as connection:
            target = connection.execute(
                select(classes.c.id).where(classes.c.join_code == code)
            ).scalar()
            if target is None:
                raise UnknownClass("No class has this join code: check it with your teacher.")
            # Locked: two students taking the last place at once cannot both get it.
            current = locked_membership(connection, lab_id, also=(target,))
            row = connection.execute(select(classes).where(classes.c.id == target)).first()
            if row is None:
                raise UnknownClass("This class has just been deleted: ask your teacher.")
            space = class_space(row)
            if connection.execute(select(labs.c.id).where(labs.c.id == lab_id)).first() is None:
                raise ClassError("This lab no longer exists: open a new one to join.")
            rejoining = current is not None and current.class_id == space.id
            if not rejoining:
                if not space.joining_open:
                    raise JoiningClosed("This class is closed to new students: ask your teacher.")
                members = connection.execute(
                    select(func.count())
                    .select_from(class_members)
                    .where(class_members.c.class_id == space.id)
                ).scalar_one()
                if members >= rules.MAX_STUDENTS:
                    raise ClassFull(f"This class is full ({rules.MAX_STUDENTS} students).")
            taken = connection.execute(
                select(class_members.c.lab_id).where(
                    class_members.c.class_id == space.id,
                    class_members.c.nickname_key == key,
                    class_members.c.lab_id != lab_id,
                )
            ).first()
            if taken is not None:
                raise _nickname_taken(nickname)
            if rejoining:
                connection.execute(
                    update(class_members)
                    .where(class_members.c.lab_id == lab_id)
                    .values(nickname=nickname, nickname_key=key)
                )
            else:
                if current is not None:
                    _remove_members(connection, current.class_id, [lab_id])
                connection.execute(
                    insert(class_members).values(
                        lab_id=lab_id,
                        class_id=space.id,
                        nickname=nickname,
                        nickname_key=key,
                        share_runs=True,
                        joined_at=now,
                    )
                )
            connection.execute(
                update(classes).where(classes.c.id == space.id).values(touched_at=now)
            )
            member = connection.execute(
                select(class_members).where(class_members.c.lab_id == lab_id)
            ).one()
    except IntegrityError as error:
        # The unique index: another student took the nickname between the check and the write.
        raise _nickname_taken(nickname) from error
    return _member(member)


def _nickname_taken(nickname: str) -> NicknameTaken:
    return NicknameTaken(f"Someone in this class is already called “{nickname}”: pick another.")


def leave(engine: Engine, lab_id: str) -> None:
    """Take the lab out of its class, with the drawings it gave the class; the lab stays."""
    with engine.begin() as connection:
        current = locked_membership(connection, lab_id)
        if current is not None:
            _remove_members(connection, current.class_id, [lab_id])


def membership(engine: Engine, lab_id: str) -> tuple[ClassSpace, Member] | None:
    """The lab's class and its place in it; None when it is in none."""
    with engine.connect() as connection:
        member = connection.execute(
            select(class_members).where(class_members.c.lab_id == lab_id)
        ).first()
        if member is None:
            return None
        space = connection.execute(select(classes).where(classes.c.id == member.class_id)).one()
    return class_space(space), _member(member)


def set_sharing(engine: Engine, lab_id: str, share: bool) -> None:
    """Whether the lab's finished runs show on its class's board."""
    with engine.begin() as connection:
        changed = connection.execute(
            update(class_members)
            .where(class_members.c.lab_id == lab_id)
            .values(share_runs=bool(share))
        ).rowcount
    if not changed:
        raise NotInClass(NOT_IN_CLASS_MESSAGE)


def touch_class(engine: Engine, class_id: str, now: float | None = None) -> None:
    """Mark the class as in use (at most once a minute), so that it is not expired."""
    now = time.time() if now is None else now
    with engine.begin() as connection:
        connection.execute(
            update(classes)
            .where(classes.c.id == class_id, classes.c.touched_at < now - TOUCH_INTERVAL_SECONDS)
            .values(touched_at=now)
        )


def delete_expired_classes(
    engine: Engine, days: float | None = None, now: float | None = None
) -> int:
    """Delete classes untouched for `days` (default `retention_days()`); how many were."""
    now = time.time() if now is None else now
    cutoff = now - 86400.0 * (retention_days() if days is None else days)
    with engine.begin() as connection:
        expired = list(
            connection.execute(select(classes.c.id).where(classes.c.touched_at < cutoff)).scalars()
        )
        for start in range(0, len(expired), 500):
            _delete_classes(connection, expired[start : start + 500])
    return len(expired)
