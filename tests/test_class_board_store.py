"""The class board's store on SQLite and PostgreSQL: drawings, the approved set, the roster, shared runs, scores."""

from __future__ import annotations

import numpy as np
import pytest

from store import class_board as board
from store import class_rules as rules
from store import classes
from store import labs as lab_store
from store import runs as run_store
from store.class_rules import (
    ClassError,
    DrawingLimitReached,
    DuplicateDrawing,
    NotInClass,
    SubmittingTooFast,
)
from store.schema import class_drawings, class_members, class_scores, labs
from tests.test_classes import count, drawing, lab_in, logs
from tests.test_store import CONFIG, weights


def test_drawings_are_validated_deduplicated_capped_and_rate_limited(
    store_engine, space, monkeypatch
) -> None:
    created, key = space
    lab_id = lab_in(store_engine, created, "Ana")
    outsider = lab_store.create_lab(store_engine).id
    with pytest.raises(NotInClass):
        board.submit_drawing(store_engine, outsider, drawing(0), 0)
    for bad, label in (
        (drawing(0), 2),
        (drawing(0), True),
        (np.ones(399), 0),
        (np.full(400, 2.0), 1),
    ):
        with pytest.raises(ValueError):
            board.submit_drawing(store_engine, lab_id, bad, label)
    first = board.submit_drawing(store_engine, lab_id, drawing(0), 0, now=1000.0)
    assert first.status == "pending" and first.nickname == "Ana" and first.label == 0
    np.testing.assert_array_equal(first.pixels, drawing(0))
    with pytest.raises(DuplicateDrawing):
        board.submit_drawing(store_engine, lab_id, drawing(0).ravel(), 1, now=1100.0)
    # The rate limit: ten in a minute, then wait.
    for seed in range(1, rules.SUBMISSIONS_PER_MINUTE):
        board.submit_drawing(store_engine, lab_id, drawing(seed), 1, now=1001.0 + seed)
    with pytest.raises(SubmittingTooFast):
        board.submit_drawing(store_engine, lab_id, drawing(100), 1, now=1020.0)
    board.submit_drawing(store_engine, lab_id, drawing(100), 1, now=1061.0)
    # The cap: rejected drawings do not count.
    monkeypatch.setattr(rules, "MAX_DRAWINGS_PER_STUDENT", 11)
    with pytest.raises(DrawingLimitReached):
        board.submit_drawing(store_engine, lab_id, drawing(101), 1, now=2000.0)
    board.review_drawing(store_engine, key, first.id, False)
    board.submit_drawing(store_engine, lab_id, drawing(101), 1, now=2000.0)
    mine = board.my_drawings(store_engine, lab_id)
    assert len(mine) == 12 and [d.id for d in mine] == sorted(d.id for d in mine)
    # Another student's same drawing is theirs to give.
    other = lab_in(store_engine, created, "Bo")
    board.submit_drawing(store_engine, other, drawing(0), 0)
    assert len(board.class_drawings(store_engine, created.id)) == 13


def test_approving_and_rejecting_builds_the_class_set_and_bumps_its_version(
    store_engine, space
) -> None:
    created, key = space
    ana, bo = lab_in(store_engine, created, "Ana"), lab_in(store_engine, created, "Bo")
    a = board.submit_drawing(store_engine, ana, drawing(1), 1)
    b = board.submit_drawing(store_engine, ana, drawing(2), 0)
    c = board.submit_drawing(store_engine, bo, drawing(3), 1)
    inputs, labels, version = board.approved_set(store_engine, created.id)
    assert inputs.shape == (0, 400) and labels.shape == (0,) and version == 0
    assert [d.id for d in board.class_drawings(store_engine, created.id, "pending")] == [
        a.id,
        b.id,
        c.id,
    ]
    board.review_drawing(store_engine, key, a.id, True)
    board.review_drawing(store_engine, key, c.id, True)
    board.review_drawing(store_engine, key, b.id, False)
    inputs, labels, version = board.approved_set(store_engine, created.id)
    assert version == 2 and inputs.dtype == np.float32 and labels.dtype == np.int64
    assert inputs.shape == (2, 400) and labels.tolist() == [1, 1]
    np.testing.assert_array_equal(inputs[1], drawing(3).ravel())
    # Rejecting a pending one, or approving an approved one, leaves the set as it was.
    board.review_drawing(store_engine, key, a.id, True)
    assert board.approved_set(store_engine, created.id)[2] == 2
    board.review_drawing(store_engine, key, c.id, False)
    inputs, labels, version = board.approved_set(store_engine, created.id)
    assert version == 3 and inputs.shape == (1, 400)
    assert [d.id for d in board.class_drawings(store_engine, created.id, "rejected")] == [
        b.id,
        c.id,
    ]
    with pytest.raises(ValueError):
        board.class_drawings(store_engine, created.id, "lost")
    with pytest.raises(ClassError):
        board.review_drawing(store_engine, key, 10**9, True)


def test_the_roster_shows_each_students_latest_run(store_engine, space) -> None:
    created, _key = space
    idle = lab_in(store_engine, created, "Idle", now=1.0)
    busy = lab_in(store_engine, created, "Busy", now=2.0)
    done = lab_in(store_engine, created, "Done", now=3.0)
    run_store.add_run(store_engine, busy, CONFIG, "done", history=logs(2), test_accuracy=0.9)
    run_store.add_run(store_engine, busy, CONFIG, "running", history=logs(3))
    run_store.add_run(store_engine, done, CONFIG, "running", history=logs(1))
    run_store.add_run(store_engine, done, CONFIG, "done", history=logs(2), test_accuracy=0.9)
    classes.set_sharing(store_engine, done, False)
    entries = {entry.nickname: entry for entry in board.roster(store_engine, created.id)}
    assert [entry.nickname for entry in board.roster(store_engine, created.id)] == [
        "Idle",
        "Busy",
        "Done",
    ]
    assert (entries["Idle"].state, entries["Idle"].epoch, entries["Idle"].lab_id) == (
        "joined",
        None,
        idle,
    )
    assert (entries["Busy"].state, entries["Busy"].epoch) == ("training", 3)
    assert (entries["Done"].state, entries["Done"].epoch) == ("done", 2)
    assert entries["Busy"].share_runs and not entries["Done"].share_runs
    # Another class's students are not on this roster.
    other, _ = classes.create_class(store_engine)
    lab_in(store_engine, other, "Elsewhere")
    assert len(board.roster(store_engine, created.id)) == 3


def test_shared_runs_are_the_finished_runs_of_students_who_share(store_engine, space) -> None:
    created, _key = space
    ana, bo = lab_in(store_engine, created, "Ana"), lab_in(store_engine, created, "Bo")
    outsider = lab_store.create_lab(store_engine).id
    best = run_store.add_run(
        store_engine, ana, CONFIG, "done", history=logs(2), test_accuracy=0.99, weights=weights()
    )
    stopped = run_store.add_run(store_engine, ana, CONFIG, "stopped", test_accuracy=0.7)
    run_store.add_run(store_engine, ana, CONFIG, "running", history=logs(1))
    run_store.add_run(store_engine, ana, CONFIG, "done")  # never tested
    run_store.add_run(store_engine, ana, CONFIG, "failed", test_accuracy=0.5)
    hidden = run_store.add_run(store_engine, bo, CONFIG, "done", test_accuracy=0.8)
    run_store.add_run(store_engine, outsider, CONFIG, "done", test_accuracy=0.95)
    classes.set_sharing(store_engine, bo, False)
    shared = board.shared_runs(store_engine, created.id)
    assert [run.run_id for run in shared] == [best.id, stopped.id]
    assert shared[0].nickname == "Ana" and shared[0].config == CONFIG
    assert shared[0].history == tuple(logs(2)) and shared[0].number == 1
    assert not hasattr(shared[0], "weights")
    classes.set_sharing(store_engine, bo, True)
    assert hidden.id in {run.run_id for run in board.shared_runs(store_engine, created.id)}
    loaded = board.run_weights(store_engine, best.id)
    np.testing.assert_array_equal(loaded.kernels[0], weights().kernels[0])
    assert board.run_weights(store_engine, stopped.id) is None
    assert board.run_weights(store_engine, "no-such-run") is None


def test_scores_are_cached_per_set_version_and_upserted(store_engine, space) -> None:
    created, _key = space
    ana = lab_in(store_engine, created, "Ana")
    run = run_store.add_run(store_engine, ana, CONFIG, "done", test_accuracy=0.9)
    other = run_store.add_run(store_engine, ana, CONFIG, "done", test_accuracy=0.8)
    assert board.cached_scores(store_engine, created.id, 0) == {}
    board.save_score(store_engine, created.id, run.id, 0, 0.5, 4)
    board.save_score(store_engine, created.id, other.id, 0, 0.25, 4)
    assert board.cached_scores(store_engine, created.id, 0) == {
        run.id: (0.5, 4),
        other.id: (0.25, 4),
    }
    board.save_score(store_engine, created.id, run.id, 1, 0.75, 8)
    assert board.cached_scores(store_engine, created.id, 1) == {run.id: (0.75, 8)}
    assert board.cached_scores(store_engine, created.id, 0) == {other.id: (0.25, 4)}
    # A board that scored the older set does not overwrite the newer score.
    board.save_score(store_engine, created.id, run.id, 0, 0.1, 4)
    assert board.cached_scores(store_engine, created.id, 1) == {run.id: (0.75, 8)}
    assert count(store_engine, class_scores) == 2
    # A run deleted meanwhile is quietly not scored.
    board.save_score(store_engine, created.id, "gone", 1, 0.5, 8)
    run_store.delete_runs(store_engine, ana, [run.id])
    assert board.cached_scores(store_engine, created.id, 1) == {}


def test_deleting_a_lab_removes_its_membership_drawings_and_scores(store_engine, space) -> None:
    created, key = space
    ana, bo = lab_in(store_engine, created, "Ana"), lab_in(store_engine, created, "Bo")
    run = run_store.add_run(store_engine, ana, CONFIG, "done", test_accuracy=0.9)
    approved = board.submit_drawing(store_engine, ana, drawing(1), 1)
    board.submit_drawing(store_engine, bo, drawing(2), 1)
    board.review_drawing(store_engine, key, approved.id, True)
    board.save_score(store_engine, created.id, run.id, 1, 0.5, 1)
    lab_store.delete_lab(store_engine, ana)
    assert [entry.nickname for entry in board.roster(store_engine, created.id)] == ["Bo"]
    assert [d.nickname for d in board.class_drawings(store_engine, created.id)] == ["Bo"]
    assert count(store_engine, class_scores) == 0
    # The class set lost a drawing: scores of the old version are not used.
    assert board.approved_set(store_engine, created.id)[2] == 2


def test_the_database_cascades_a_deleted_lab_by_itself(store_engine, space) -> None:
    created, _key = space
    ana = lab_in(store_engine, created, "Ana")
    board.submit_drawing(store_engine, ana, drawing(1), 1)
    with store_engine.begin() as connection:
        connection.execute(labs.delete().where(labs.c.id == ana))
    assert count(store_engine, class_members) == 0 and count(store_engine, class_drawings) == 0


def test_the_boards_reads_take_a_few_queries_whatever_the_class_size(store_engine, space) -> None:
    from sqlalchemy import event

    created, key = space
    for index in range(30):
        lab_id = lab_in(store_engine, created, f"Student {index}")
        run_store.add_run(store_engine, lab_id, CONFIG, "done", history=logs(2), test_accuracy=0.9)
        run_store.add_run(store_engine, lab_id, CONFIG, "running", history=logs(1))
        for seed in range(3):
            drawn = board.submit_drawing(store_engine, lab_id, drawing(100 * index + seed), 1)
            board.review_drawing(store_engine, key, drawn.id, True)
    selects: list[str] = []

    def counted(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(store_engine, "before_cursor_execute", counted)
    try:
        assert len(board.roster(store_engine, created.id)) == 30
        assert len(board.shared_runs(store_engine, created.id)) == 30
        assert len(board.class_drawings(store_engine, created.id, "approved")) == 90
        inputs, _labels, version = board.approved_set(store_engine, created.id)
        assert inputs.shape == (90, 400) and version == 90
        board.cached_scores(store_engine, created.id, version)
    finally:
        event.remove(store_engine, "before_cursor_execute", counted)
    assert len(selects) <= 6
    assert not any("weights" in statement or "keras_file" in statement for statement in selects)
