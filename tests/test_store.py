"""The lab store on SQLite and PostgreSQL: labs, codes, runs, checkpoints, drawings, expiry."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from model.config import TrainConfig
from model.forward import NetworkWeights
from model.training import EpochLog
from store import classes
from store import labs as lab_store
from store import runs as run_store
from store.codes import (
    WRONG_CODES_ALLOWED,
    code_attempt_verdict,
    is_lab_id,
    new_code,
    new_lab_id,
    normalise_code,
)
from store.database import SCHEMA_VERSION, StoreError, current_version, make_engine, migrate
from store.drawings import (
    MAX_DRAWINGS_PER_LAB,
    DrawingLimitReached,
    delete_drawings,
    keep_drawing,
    load_drawings,
)
from store.schema import drawings, metadata, runs, schema_version

CONFIG = TrainConfig(hidden_units=(3,), epochs=2)


def weights(seed: int = 0, units: int = 3) -> NetworkWeights:
    rng = np.random.default_rng(seed)
    return NetworkWeights(
        (
            rng.normal(size=(400, units)).astype(np.float32),
            rng.normal(size=(units, 1)).astype(np.float32),
        ),
        (np.zeros(units, np.float32), np.zeros(1, np.float32)),
        "sigmoid",
    )


def logs(first: int, count: int) -> list[EpochLog]:
    return [
        EpochLog(epoch, 0.5 / epoch, 0.9, 0.6 / epoch, 0.88)
        for epoch in range(first, first + count)
    ]


def test_ids_are_long_and_random_and_codes_are_three_words_and_a_number() -> None:
    ids = {new_lab_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(is_lab_id(lab_id) and len(lab_id) == 32 for lab_id in ids)
    assert not is_lab_id("../../etc/passwd") and not is_lab_id("a" * 31) and not is_lab_id("")
    code = new_code()
    assert normalise_code(code) == code and len(code.split("-")) == 4
    assert normalise_code("  Maple OTTER river 42 ") == "maple-otter-river-42"
    for typed in ("", "maple-otter-42", "<b>x</b>-a-b-12", "a" * 500, "maple otter river 4x"):
        assert normalise_code(typed) is None


def test_wrong_codes_are_allowed_a_few_times_then_refused_until_the_window_passes() -> None:
    assert code_attempt_verdict([], 100.0).allowed
    times = [100.0 + index for index in range(WRONG_CODES_ALLOWED)]
    refused = code_attempt_verdict(times, 110.0)
    assert not refused.allowed and refused.retry_after == pytest.approx(590.0)
    assert code_attempt_verdict(times, 100.0 + 600.5).allowed


def test_a_new_database_is_created_at_the_current_schema_version(store_engine) -> None:
    assert current_version(store_engine) == SCHEMA_VERSION
    migrate(store_engine)  # a second start changes nothing
    with store_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(schema_version)).scalar() == 1


def test_a_database_from_a_newer_app_is_refused_with_a_clear_message(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.sqlite3'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(schema_version.update().values(version=SCHEMA_VERSION + 1))
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this app"):
        make_engine(url)


def test_an_unreachable_database_raises_a_store_error_without_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        make_engine("postgresql+psycopg://someone:secret@127.0.0.1:1/nothing?connect_timeout=2")
    assert "secret" not in str(raised.value)


def test_a_lab_is_found_by_its_id_and_by_its_code_and_only_by_them(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    other = lab_store.create_lab(store_engine)
    assert lab.id != other.id and lab.code != other.code
    assert lab_store.find_lab(store_engine, lab.id) == lab
    assert lab_store.find_lab(store_engine, new_lab_id()) is None
    assert lab_store.find_lab(store_engine, "'; DROP TABLE labs; --") is None
    found = lab_store.open_by_code(store_engine, lab.code.upper().replace("-", " "), "1.2.3.4")
    assert found.lab == lab and found.message is None and found.delay == 0


def test_wrong_codes_are_slowed_down_and_then_refused_per_client(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    for _ in range(WRONG_CODES_ALLOWED):
        wrong = lab_store.open_by_code(store_engine, "maple-otter-river-11", "9.9.9.9", now=1000.0)
        assert wrong.lab is None and "No lab has this code" in wrong.message and wrong.delay > 0
    refused = lab_store.open_by_code(store_engine, lab.code, "9.9.9.9", now=1001.0)
    assert refused.lab is None and "Too many wrong codes" in refused.message
    # Another address is not affected, and the block lifts after the window.
    assert lab_store.open_by_code(store_engine, lab.code, "8.8.8.8", now=1001.0).lab == lab
    assert lab_store.open_by_code(store_engine, lab.code, "9.9.9.9", now=1700.0).lab == lab


def test_a_run_keeps_its_settings_curves_weights_and_continue_state(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    run = run_store.add_run(store_engine, lab.id, CONFIG, "queued")
    assert run.number == 1 and run.status == "queued" and run.history == ()
    state = [np.array(3, np.int64), np.ones((400, 3), np.float32)]
    assert run_store.save_progress(
        store_engine,
        run.id,
        status="running",
        first_epoch=1,
        history=logs(1, 1),
        weights=weights(1),
    )
    assert run_store.save_progress(
        store_engine,
        run.id,
        status="done",
        first_epoch=1,
        history=logs(1, 2),
        weights=weights(2),
        test_accuracy=0.97,
        optimizer_state=state,
        keras_file=b"PK-keras",
        final=True,
    )
    (light,) = run_store.load_runs(store_engine, lab.id)
    assert light.weights is None and light.status == "done" and light.epochs_done == 2
    loaded = run_store.load_run(store_engine, lab.id, run.id)
    assert loaded.config == CONFIG and loaded.history == tuple(logs(1, 2))
    np.testing.assert_array_equal(loaded.weights.kernels[0], weights(2).kernels[0])
    assert loaded.test_accuracy == 0.97 and loaded.keras_file == b"PK-keras"
    assert [array.tolist() for array in loaded.optimizer_state] == [a.tolist() for a in state]
    # Another lab cannot read it, even with the run's id.
    assert run_store.load_run(store_engine, lab_store.create_lab(store_engine).id, run.id) is None


def checkpoint(engine, run_id: str, history: list, snapshot, state=None) -> None:
    """A running job's checkpoint of a continued run (its epochs from the first it logs)."""
    run_store.save_progress(
        engine,
        run_id,
        status="running",
        first_epoch=history[0].epoch,
        history=history,
        weights=snapshot,
        optimizer_state=state,
    )


def test_a_continued_run_keeps_its_earlier_epochs_and_a_checkpoint_its_matching_state(
    store_engine,
) -> None:
    lab = lab_store.create_lab(store_engine)
    run = run_store.add_run(store_engine, lab.id, CONFIG, "queued")
    state = [np.array(7, np.int64)]
    run_store.save_progress(
        store_engine,
        run.id,
        status="done",
        first_epoch=1,
        history=logs(1, 3),
        weights=weights(1),
        optimizer_state=state,
        test_accuracy=0.5,
        final=True,
    )
    # Newer weights without their optimizer state: the finished job's state would not match.
    checkpoint(store_engine, run.id, logs(4, 2), weights(3))
    loaded = run_store.load_run(store_engine, lab.id, run.id)
    assert [log.epoch for log in loaded.history] == [1, 2, 3, 4, 5]
    assert loaded.optimizer_state is None and loaded.test_accuracy == 0.5
    # A job handed back by a stopping server: its weights with their optimizer state.
    checkpoint(store_engine, run.id, logs(4, 3), weights(4), [np.array(9, np.int64)])
    loaded = run_store.load_run(store_engine, lab.id, run.id)
    assert [int(array) for array in loaded.optimizer_state] == [9]
    # A checkpoint without weights leaves both as they were.
    checkpoint(store_engine, run.id, logs(4, 3), None)
    assert run_store.load_run(store_engine, lab.id, run.id).optimizer_state is not None


def test_runs_are_numbered_per_lab_and_capped(store_engine, monkeypatch) -> None:
    monkeypatch.setattr(run_store, "MAX_RUNS_PER_LAB", 3)
    lab = lab_store.create_lab(store_engine)
    numbers = [run_store.add_run(store_engine, lab.id, CONFIG, "done").number for _ in range(3)]
    assert numbers == [1, 2, 3]
    with pytest.raises(run_store.RunLimitReached):
        run_store.add_run(store_engine, lab.id, CONFIG, "queued")
    first = run_store.load_runs(store_engine, lab.id)[0]
    run_store.delete_runs(store_engine, lab.id, [first.id])
    assert run_store.add_run(store_engine, lab.id, CONFIG, "queued").number == 4


def test_progress_of_a_deleted_run_is_dropped_quietly(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    run = run_store.add_run(store_engine, lab.id, CONFIG, "running")
    lab_store.delete_lab(store_engine, lab.id)
    assert not run_store.save_progress(
        store_engine, run.id, status="running", first_epoch=1, history=logs(1, 1), weights=None
    )


def test_kept_drawings_are_validated_capped_and_deleted(store_engine, monkeypatch) -> None:
    import store.drawings as drawing_store

    lab = lab_store.create_lab(store_engine)
    pixels = np.linspace(0, 1, 400, dtype=np.float32)
    keep_drawing(store_engine, lab.id, pixels, 1)
    keep_drawing(store_engine, lab.id, pixels.reshape(20, 20), None)
    kept = load_drawings(store_engine, lab.id)
    assert [drawing.label for drawing in kept] == [1, None]
    np.testing.assert_array_equal(kept[0].pixels.ravel(), pixels)
    for bad, label in (
        (np.full(400, np.nan), 0),
        (np.ones(399), 0),
        (np.full(400, 2.0), 0),
        (pixels, 7),
    ):
        with pytest.raises(ValueError):
            keep_drawing(store_engine, lab.id, bad, label)
    monkeypatch.setattr(drawing_store, "MAX_DRAWINGS_PER_LAB", 2)
    with pytest.raises(DrawingLimitReached):
        keep_drawing(store_engine, lab.id, pixels, 0)
    delete_drawings(store_engine, lab.id, [kept[0].id])
    assert [drawing.id for drawing in load_drawings(store_engine, lab.id)] == [kept[1].id]
    assert MAX_DRAWINGS_PER_LAB == 500


def test_deleting_a_lab_removes_everything_of_it_and_nothing_else(store_engine) -> None:
    lab, other = lab_store.create_lab(store_engine), lab_store.create_lab(store_engine)
    for owner in (lab, other):
        run_store.add_run(store_engine, owner.id, CONFIG, "done", weights=weights())
        keep_drawing(store_engine, owner.id, np.zeros(400), 0)
    lab_store.delete_lab(store_engine, lab.id)
    assert lab_store.find_lab(store_engine, lab.id) is None
    with store_engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(runs)).scalar() == 1
        assert connection.execute(select(func.count()).select_from(drawings)).scalar() == 1
    assert lab_store.lab_counts(store_engine, other.id) == lab_store.LabCounts(1, 1)


def test_labs_untouched_for_the_retention_period_expire_unless_a_run_was_written(
    store_engine,
) -> None:
    day = 86400.0
    old = lab_store.create_lab(store_engine, now=1000.0)
    training = lab_store.create_lab(store_engine, now=1000.0)
    fresh = lab_store.create_lab(store_engine, now=1000.0 + 29 * day)
    run = run_store.add_run(store_engine, training.id, CONFIG, "running")
    run_store.save_progress(
        store_engine, run.id, status="running", first_epoch=1, history=logs(1, 1), weights=None
    )
    with store_engine.begin() as connection:
        connection.execute(
            lab_store.labs.update()
            .where(lab_store.labs.c.id == training.id)
            .values(touched_at=1000.0)
        )
    # The checkpoint was written now, long after the lab's last visit in 1970.
    assert lab_store.delete_expired(store_engine, days=30, now=1000.0 + 31 * day) == 1
    assert lab_store.find_lab(store_engine, old.id) is None
    assert lab_store.find_lab(store_engine, training.id) is not None
    assert lab_store.find_lab(store_engine, fresh.id) is not None


def test_a_visit_touches_the_lab_at_most_once_an_hour(store_engine) -> None:
    lab = lab_store.create_lab(store_engine, now=1000.0)
    assert lab_store.touch_lab(store_engine, lab, now=1500.0) is lab
    touched = lab_store.touch_lab(store_engine, lab, now=1000.0 + 3601)
    assert touched.touched_at == 1000.0 + 3601
    assert lab_store.find_lab(store_engine, lab.id).touched_at == 1000.0 + 3601


def test_the_active_run_is_remembered_and_cleared_when_that_run_is_deleted(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    run = run_store.add_run(store_engine, lab.id, CONFIG, "done", weights=weights())
    lab_store.set_active_run(store_engine, lab.id, run.id)
    assert lab_store.find_lab(store_engine, lab.id).active_run == run.id
    run_store.delete_runs(store_engine, lab.id, [run.id])
    assert lab_store.find_lab(store_engine, lab.id).active_run is None


def test_the_schema_module_lists_every_table() -> None:
    assert set(metadata.tables) == {
        "schema_version",
        "labs",
        "runs",
        "drawings",
        "code_attempts",
        "classes",
        "class_members",
        "class_drawings",
        "class_scores",
    }


def database_at_version(engine, version: int) -> None:
    """Turn a new database back into what an app of schema `version` made."""
    from sqlalchemy import text

    if version < 3:
        with engine.begin() as connection:
            # Children before parents, for the foreign keys.
            for name in ("class_scores", "class_drawings", "class_members", "classes"):
                connection.execute(text(f"DROP TABLE {name}"))
    if version < 2:
        with engine.begin() as connection:
            for name in ("runs_by_update", "labs_by_touch"):
                connection.execute(text(f"DROP INDEX {name}"))
    with engine.begin() as connection:
        connection.execute(schema_version.update().values(version=version))


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_every_earlier_schema_version_migrates_to_the_current_one_keeping_its_data(
    store_engine, version: int
) -> None:
    from sqlalchemy import inspect

    lab = lab_store.create_lab(store_engine)
    run = run_store.add_run(store_engine, lab.id, CONFIG, "done", weights=weights())
    database_at_version(store_engine, version)
    assert current_version(store_engine) == version
    migrate(store_engine)
    assert current_version(store_engine) == SCHEMA_VERSION
    indexes = {
        index["name"]
        for table in ("runs", "labs")
        for index in inspect(store_engine).get_indexes(table)
    }
    assert {"runs_by_update", "labs_by_touch"} <= indexes
    assert run_store.load_run(store_engine, lab.id, run.id).weights is not None
    # Version 3: the class tables, with their indexes, work on the migrated database.
    assert {"classes", "class_members", "class_drawings", "class_scores"} <= set(
        inspect(store_engine).get_table_names()
    )
    assert {"class_members_by_nickname"} <= {
        index["name"] for index in inspect(store_engine).get_indexes("class_members")
    }
    assert {"class_drawings_by_digest", "class_drawings_by_status"} <= {
        index["name"] for index in inspect(store_engine).get_indexes("class_drawings")
    }
    space, _key = classes.create_class(store_engine)
    classes.join(store_engine, space.join_code, lab.id, "Ana")
    assert classes.membership(store_engine, lab.id)[1].nickname == "Ana"
    lab_store.delete_lab(store_engine, lab.id)
    assert classes.membership(store_engine, lab.id) is None
