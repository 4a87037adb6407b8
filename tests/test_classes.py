"""The class space on SQLite and PostgreSQL: teacher keys, joining, drawings, the board, expiry."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from model.training import EpochLog
from store import class_board as board
from store import class_rules as rules
from store import classes
from store import labs as lab_store
from store import runs as run_store
from store.class_rules import (
    ClassError,
    ClassFull,
    ClassLimitReached,
    JoiningClosed,
    NicknameInvalid,
    NicknameTaken,
    NotInClass,
    TeacherKeyRefused,
    UnknownClass,
)
from store.schema import class_drawings, class_members, class_scores, labs, runs
from store.schema import classes as classes_table
from tests.test_store import CONFIG, weights


def logs(count: int) -> list[EpochLog]:
    return [EpochLog(epoch, 0.5, 0.9, 0.6, 0.88) for epoch in range(1, count + 1)]


def drawing(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((20, 20), dtype=np.float32)


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def lab_in(engine, space, nickname: str, now: float | None = None) -> str:
    lab = lab_store.create_lab(engine)
    classes.join(engine, space.join_code, lab.id, nickname, now=now)
    return lab.id


def test_a_class_is_found_by_its_code_its_id_and_its_teacher_key(store_engine, space) -> None:
    created, key = space
    assert len(key) >= 32 and len(created.id) >= 32 and key != created.id
    assert created.joining_open and created.challenge == rules.DEFAULT_CHALLENGE
    assert created.set_version == 0 and created.train_link is None
    assert classes.class_by_code(store_engine, created.join_code) == created
    typed = f" {created.join_code[:3].lower()}-{created.join_code[3:]} "
    assert classes.class_by_code(store_engine, typed) == created
    assert classes.class_by_id(store_engine, created.id) == created
    assert classes.class_for_teacher(store_engine, key) == created
    assert classes.class_by_code(store_engine, "ZZZZZZ") in (None, created)
    assert classes.class_by_code(store_engine, "<b>") is None
    assert classes.class_by_id(store_engine, "nope") is None
    # Only the key's hash is kept.
    with store_engine.connect() as connection:
        stored = connection.execute(select(classes_table.c.teacher_key_hash)).scalar_one()
    assert stored != key and len(stored) == 64


def test_join_codes_avoid_look_alike_characters() -> None:
    codes = {rules.new_join_code() for _ in range(2000)}
    assert len(codes) > 1990
    assert all(len(code) == rules.JOIN_CODE_LENGTH for code in codes)
    assert not set("".join(codes)) & set("0O1IL")
    assert set("".join(codes)) <= set(rules.JOIN_CODE_ALPHABET)
    assert rules.normalize_join_code(" ab-cd ef ") == "ABCDEF"
    for typed in ("ABCDE0", "ABCDEO", "ABC", "ABCDEFG", "", None, "A" * 1000):
        with pytest.raises(UnknownClass):
            rules.normalize_join_code(typed)


def test_classes_are_capped(store_engine, monkeypatch) -> None:
    monkeypatch.setattr(rules, "MAX_CLASSES", 2)
    classes.create_class(store_engine)
    classes.create_class(store_engine)
    with pytest.raises(ClassLimitReached):
        classes.create_class(store_engine)


def teacher_actions(engine, lab_id: str, drawing_id: int):
    return [
        lambda key: classes.class_for_teacher(engine, key),
        lambda key: classes.set_joining(engine, key, False),
        lambda key: classes.set_challenge(engine, key, "fewest_epochs"),
        lambda key: classes.set_train_link(engine, key, "hide=dataset"),
        lambda key: board.review_drawing(engine, key, drawing_id, True),
        lambda key: classes.remove_member(engine, key, lab_id),
        lambda key: classes.delete_class(engine, key),
    ]


def test_every_teacher_action_refuses_a_forged_missing_or_old_key(store_engine, space) -> None:
    created, key = space
    lab_id = lab_in(store_engine, created, "Ana")
    drawn = board.submit_drawing(store_engine, lab_id, drawing(1), 1)
    _old, old_key = classes.create_class(store_engine)
    classes.delete_class(store_engine, old_key)
    forged = key[:-1] + ("A" if key[-1] != "A" else "B")
    before = classes.class_by_id(store_engine, created.id)
    for action in teacher_actions(store_engine, lab_id, drawn.id):
        for bad in (forged, "", None, 12345, "x" * 10_000, old_key, created.id):
            with pytest.raises(TeacherKeyRefused, match="teacher link is not valid"):
                action(bad)
    # Nothing changed, and another class's teacher cannot act on this class's drawing.
    assert classes.class_for_teacher(store_engine, key) == before
    _other, other_key = classes.create_class(store_engine)
    with pytest.raises(ClassError):
        board.review_drawing(store_engine, other_key, drawn.id, True)
    with pytest.raises(NotInClass):
        classes.remove_member(store_engine, other_key, lab_id)
    assert board.class_drawings(store_engine, created.id)[0].status == "pending"
    assert classes.membership(store_engine, lab_id) is not None


def test_the_teacher_sets_joining_the_challenge_and_the_train_link(store_engine, space) -> None:
    created, key = space
    assert not classes.set_joining(store_engine, key, False).joining_open
    assert classes.set_challenge(store_engine, key, "fewest_parameters").challenge == (
        "fewest_parameters"
    )
    with pytest.raises(ClassError, match="Unknown challenge"):
        classes.set_challenge(store_engine, key, "most_fun")
    assert classes.set_train_link(store_engine, key, "?hide=dataset&units=25").train_link == (
        "hide=dataset&units=25"
    )
    for bad in (
        "https://evil.example/?x=1",
        "/train?x=1",
        "//evil.example",
        "javascript://x",
        "a=1 b=2",
        "a=\n1",
        "a" * 2001,
    ):
        with pytest.raises(ClassError):
            classes.set_train_link(store_engine, key, bad)
    assert classes.class_by_id(store_engine, created.id).train_link == "hide=dataset&units=25"
    assert classes.set_train_link(store_engine, key, None).train_link is None
    assert classes.set_train_link(store_engine, key, "a" * 2000).train_link == "a" * 2000


def test_joining_checks_the_code_the_class_and_the_nickname(store_engine, space) -> None:
    created, key = space
    lab = lab_store.create_lab(store_engine)
    with pytest.raises(UnknownClass):
        classes.join(
            store_engine, "ZZZZZZ" if created.join_code != "ZZZZZZ" else "YYYYYY", lab.id, "Ana"
        )
    member = classes.join(store_engine, created.join_code.lower(), lab.id, "  Ana   Lee ", now=5.0)
    assert member.nickname == "Ana Lee" and member.share_runs and member.joined_at == 5.0
    other = lab_store.create_lab(store_engine)
    for taken in ("ana lee", "ANA  LEE", " Ana Lee"):
        with pytest.raises(NicknameTaken, match="already called"):
            classes.join(store_engine, created.join_code, other.id, taken)
    for invalid in (
        "",
        "   ",
        "a" * 25,
        "<b>Bob</b>",
        "Tom & Jerry",
        'Bob"',
        "Bob's",
        "Bo\x00b",
        "Bo\x1cb",
        "Bo\u200bb",
        "Bo\u202eb",
        "Bo\tb",
        None,
    ):
        with pytest.raises(NicknameInvalid, match="letters, digits"):
            classes.join(store_engine, created.join_code, other.id, invalid)
    assert classes.join(store_engine, created.join_code, other.id, "Zoë_ 2-b").nickname == (
        "Zoë_ 2-b"
    )
    assert rules.valid_nickname("Zoe\u0308") == "Zoë"
    assert rules.valid_nickname("李 小龙") == "李 小龙"
    assert rules.valid_nickname("a" * 24) == "a" * 24
    classes.set_joining(store_engine, key, False)
    late = lab_store.create_lab(store_engine)
    with pytest.raises(JoiningClosed):
        classes.join(store_engine, created.join_code, late.id, "Late")
    # A student already in may still rename themselves, to a free nickname.
    assert classes.join(store_engine, created.join_code, lab.id, "Ana B").nickname == "Ana B"
    with pytest.raises(NicknameTaken):
        classes.join(store_engine, created.join_code, lab.id, "zoë_ 2-B")
    assert classes.join(store_engine, created.join_code, lab.id, "ana b").nickname == "ana b"
    assert count(store_engine, class_members) == 2


def test_two_students_taking_one_nickname_at_once_cannot_both_get_it(store_engine, space) -> None:
    import threading

    created, _key = space
    lab_ids = [lab_store.create_lab(store_engine).id for _ in range(6)]
    start = threading.Barrier(len(lab_ids))
    outcomes: list[str] = []

    def take(lab_id: str, index: int) -> None:
        start.wait()
        try:
            classes.join(store_engine, created.join_code, lab_id, "Ana" if index % 2 else "ANA")
            outcomes.append("joined")
        except NicknameTaken:
            outcomes.append("taken")

    threads = [
        threading.Thread(target=take, args=(lab_id, index)) for index, lab_id in enumerate(lab_ids)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["joined"] + ["taken"] * (len(lab_ids) - 1)
    assert count(store_engine, class_members) == 1


def test_a_lab_that_no_longer_exists_cannot_join(store_engine, space) -> None:
    created, _key = space
    with pytest.raises(ClassError, match="no longer exists"):
        classes.join(store_engine, created.join_code, "x" * 32, "Ana")


def test_a_full_class_refuses_the_next_student(store_engine, space, monkeypatch) -> None:
    created, _key = space
    monkeypatch.setattr(rules, "MAX_STUDENTS", 2)
    first = lab_in(store_engine, created, "One")
    lab_in(store_engine, created, "Two")
    with pytest.raises(ClassFull):
        lab_in(store_engine, created, "Three")
    # Renaming is not joining: a member of a full class can still do it.
    assert classes.join(store_engine, created.join_code, first, "Uno").nickname == "Uno"


def test_joining_another_class_leaves_the_first_and_leaving_keeps_the_lab(
    store_engine, space
) -> None:
    first, first_key = space
    second, second_key = classes.create_class(store_engine)
    lab_id = lab_in(store_engine, first, "Ana")
    run_store.add_run(store_engine, lab_id, CONFIG, "done", test_accuracy=0.9, weights=weights())
    drawn = board.submit_drawing(store_engine, lab_id, drawing(1), 1)
    board.review_drawing(store_engine, first_key, drawn.id, True)
    # A refused join leaves the student where they were.
    classes.set_joining(store_engine, second_key, False)
    with pytest.raises(JoiningClosed):
        classes.join(store_engine, second.join_code, lab_id, "Ana")
    assert classes.membership(store_engine, lab_id)[0].id == first.id
    classes.set_joining(store_engine, second_key, True)
    member = classes.join(store_engine, second.join_code, lab_id, "Ana")
    assert member.class_id == second.id
    assert classes.membership(store_engine, lab_id)[0].id == second.id
    assert board.roster(store_engine, first.id) == []
    assert board.class_drawings(store_engine, first.id) == []
    # The first class's set lost an approved drawing: its version moved on.
    assert board.approved_set(store_engine, first.id)[2] == 2
    classes.leave(store_engine, lab_id)
    assert classes.membership(store_engine, lab_id) is None
    assert lab_store.find_lab(store_engine, lab_id) is not None
    assert len(run_store.load_runs(store_engine, lab_id)) == 1
    classes.leave(store_engine, lab_id)  # leaving twice is no error
    with pytest.raises(NotInClass):
        classes.set_sharing(store_engine, lab_id, False)


def test_removing_a_student_removes_their_drawings_and_keeps_their_lab(store_engine, space) -> None:
    created, key = space
    ana, bo = lab_in(store_engine, created, "Ana"), lab_in(store_engine, created, "Bo")
    approved = board.submit_drawing(store_engine, ana, drawing(1), 1)
    board.submit_drawing(store_engine, bo, drawing(2), 0)
    board.review_drawing(store_engine, key, approved.id, True)
    classes.remove_member(store_engine, key, ana)
    assert classes.membership(store_engine, ana) is None
    assert lab_store.find_lab(store_engine, ana) is not None
    assert [d.nickname for d in board.class_drawings(store_engine, created.id)] == ["Bo"]
    assert board.approved_set(store_engine, created.id)[2] == 2
    with pytest.raises(NotInClass):
        classes.remove_member(store_engine, key, ana)
    # The nickname is free again.
    assert classes.join(store_engine, created.join_code, ana, "ana").nickname == "ana"


def test_deleting_a_class_removes_everything_of_it_but_the_labs(store_engine, space) -> None:
    created, key = space
    other, _other_key = classes.create_class(store_engine)
    ana, bo = lab_in(store_engine, created, "Ana"), lab_in(store_engine, other, "Bo")
    run = run_store.add_run(store_engine, ana, CONFIG, "done", test_accuracy=0.9)
    board.submit_drawing(store_engine, ana, drawing(1), 1)
    board.submit_drawing(store_engine, bo, drawing(1), 1)
    board.save_score(store_engine, created.id, run.id, 0, 0.5, 1)
    classes.delete_class(store_engine, key)
    assert classes.class_by_id(store_engine, created.id) is None
    assert classes.membership(store_engine, ana) is None
    assert count(store_engine, class_drawings) == 1 and count(store_engine, class_scores) == 0
    assert count(store_engine, labs) == 2 and count(store_engine, runs) == 1
    assert classes.membership(store_engine, bo)[0].id == other.id
    with pytest.raises(TeacherKeyRefused):
        classes.class_for_teacher(store_engine, key)


def test_classes_untouched_for_the_retention_period_expire(store_engine) -> None:
    day = 86400.0
    old, _ = classes.create_class(store_engine, now=1000.0)
    used, _ = classes.create_class(store_engine, now=1000.0)
    fresh, _ = classes.create_class(store_engine, now=1000.0 + 29 * day)
    lab_id = lab_in(store_engine, old, "Ana")
    classes.touch_class(store_engine, used.id, now=1030.0)  # throttled: not written
    assert classes.class_by_id(store_engine, used.id).touched_at == 1000.0
    classes.touch_class(store_engine, used.id, now=1000.0 + 2 * day)
    assert classes.class_by_id(store_engine, used.id).touched_at == 1000.0 + 2 * day
    # The join touched the old class now, long after 1970: put it back.
    with store_engine.begin() as connection:
        connection.execute(
            classes_table.update().where(classes_table.c.id == old.id).values(touched_at=1000.0)
        )
    assert classes.delete_expired_classes(store_engine, days=30, now=1000.0 + 31 * day) == 1
    assert classes.class_by_id(store_engine, old.id) is None
    assert classes.membership(store_engine, lab_id) is None
    assert lab_store.find_lab(store_engine, lab_id) is not None
    assert classes.class_by_id(store_engine, used.id) is not None
    assert classes.class_by_id(store_engine, fresh.id) is not None


def test_nicknames_are_stored_as_typed_and_the_key_ignores_case_and_spacing() -> None:
    assert rules.nickname_key("Ana  LEE") == rules.nickname_key("ana lee") == "ana lee"
    assert rules.nickname_key("STRASSE") == rules.nickname_key("straße")
    with pytest.raises(NicknameInvalid):
        rules.valid_nickname("x" * 1000)


def test_wrong_join_codes_count_like_wrong_resume_codes_and_block_the_client(
    store_engine, space
) -> None:
    from store.codes import WRONG_CODES_ALLOWED

    created, _ = space
    lab = lab_store.create_lab(store_engine)
    wrong = "ZZZZZZ" if created.join_code != "ZZZZZZ" else "YYYYYY"
    for _ in range(WRONG_CODES_ALLOWED):
        with pytest.raises(UnknownClass, match="No class has this join code"):
            classes.join(store_engine, wrong, lab.id, "Ana", now=100.0, client="10.0.0.7")
    # Blocked even for the right code; another address is not.
    with pytest.raises(UnknownClass, match="Too many wrong codes"):
        classes.join(store_engine, created.join_code, lab.id, "Ana", now=101.0, client="10.0.0.7")
    assert classes.join(
        store_engine, created.join_code, lab.id, "Ana", now=101.0, client="10.0.0.8"
    )
