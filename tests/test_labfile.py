"""Lab files: a round trip keeps everything; corrupt, truncated, oversized or hostile files change nothing."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from model.config import TrainConfig
from model.storage import SavedModel, save_model, weights_npz_bytes
from store import labs as lab_store
from store import runs as run_store
from store.drawings import keep_drawing, load_drawings
from store.labfile import (
    LAB_JSON,
    MAX_LAB_FILE_BYTES,
    LabFileError,
    export_lab,
    import_into,
    read_lab_file,
    read_upload,
)
from tests.test_store import logs, weights

CONFIG = TrainConfig(hidden_units=(3,), epochs=2)


@pytest.fixture
def lab_file(store_engine) -> bytes:
    lab = lab_store.create_lab(store_engine)
    first = run_store.add_run(store_engine, lab.id, CONFIG, "queued")
    run_store.save_progress(
        store_engine,
        first.id,
        status="done",
        first_epoch=1,
        history=logs(1, 2),
        weights=weights(1),
        test_accuracy=0.9,
        optimizer_state=[np.array(4, np.int64)],
        final=True,
    )
    second = run_store.add_run(store_engine, lab.id, CONFIG.with_changes(seed=5), "queued")
    run_store.save_progress(
        store_engine,
        second.id,
        status="running",
        first_epoch=1,
        history=logs(1, 1),
        weights=weights(2),
    )
    lab_store.set_active_run(store_engine, lab.id, first.id)
    keep_drawing(store_engine, lab.id, np.full(400, 0.5), 0)
    keep_drawing(store_engine, lab.id, np.zeros(400), None)
    full = [run_store.load_run(store_engine, lab.id, run.id) for run in (first, second)]
    return export_lab(full, load_drawings(store_engine, lab.id), first.id)


def rezip(data: bytes, change) -> bytes:
    """The same lab file with its members passed through `change(name, bytes) -> bytes | None`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            changed = change(member.filename, source.read(member))
            if changed is not None:
                target.writestr(member.filename, changed)
    return out.getvalue()


def with_document(data: bytes, edit) -> bytes:
    def change(name: str, payload: bytes) -> bytes:
        if name != LAB_JSON:
            return payload
        document = json.loads(payload)
        edit(document)
        return json.dumps(document).encode()

    return rezip(data, change)


def test_a_lab_file_round_trips_into_another_lab(store_engine, lab_file) -> None:
    contents = read_lab_file(lab_file)
    assert [run.status for run in contents.runs] == ["done", "interrupted"]
    assert [run.active for run in contents.runs] == [True, False]
    assert [label for _, label in contents.drawings] == [0, None]
    target = lab_store.create_lab(store_engine)
    run_store.add_run(store_engine, target.id, CONFIG, "done")
    stored = import_into(store_engine, target.id, contents)
    assert [run.number for run in stored] == [2, 3]
    loaded = run_store.load_run(store_engine, target.id, stored[0].id)
    assert loaded.history == tuple(logs(1, 2)) and loaded.test_accuracy == 0.9
    np.testing.assert_array_equal(loaded.weights.kernels[0], weights(1).kernels[0])
    assert [int(array) for array in loaded.optimizer_state] == [4]
    assert lab_store.find_lab(store_engine, target.id).active_run == stored[0].id
    assert len(load_drawings(store_engine, target.id)) == 2


def test_an_import_past_the_caps_adds_nothing(store_engine, lab_file, monkeypatch) -> None:
    monkeypatch.setattr(run_store, "MAX_RUNS_PER_LAB", 2)
    target = lab_store.create_lab(store_engine)
    run_store.add_run(store_engine, target.id, CONFIG, "done")
    with pytest.raises(run_store.RunLimitReached):
        import_into(store_engine, target.id, read_lab_file(lab_file))
    assert len(run_store.load_runs(store_engine, target.id)) == 1
    assert load_drawings(store_engine, target.id) == []


def nan_weights(name: str, payload: bytes) -> bytes:
    if not name.endswith("weights.npz"):
        return payload
    bad = weights(1)
    bad.kernels[0][0, 0] = np.nan
    return weights_npz_bytes(bad)


def object_array(name: str, payload: bytes) -> bytes:
    if not name.endswith("weights.npz"):
        return payload
    buffer = io.BytesIO()
    np.savez(buffer, arr_0=np.array([{"evil": 1}], dtype=object), arr_1=np.zeros(3))
    return buffer.getvalue()


def wrong_shape(name: str, payload: bytes) -> bytes:
    return weights_npz_bytes(weights(1, units=4)) if name.endswith("weights.npz") else payload


HOSTILE_EDITS = {
    "newer format": (lambda doc: doc.update(version=99), "newer version"),
    "not a lab": (lambda doc: doc.update(format="other"), "not a Zero-or-One Lab file"),
    "runs not a list": (lambda doc: doc.update(runs={"a": 1}), "no list of runs"),
    "too many runs": (lambda doc: doc.update(runs=doc["runs"] * 30), "at most 50"),
    "bad settings": (lambda doc: doc["runs"][0]["config"].update(epochs=10**9), "invalid settings"),
    "unknown setting": (lambda doc: doc["runs"][0]["config"].update(rm="-rf"), "invalid settings"),
    "unknown status": (lambda doc: doc["runs"][0].update(status="<b>hi</b>"), "unknown status"),
    "nan loss": (lambda doc: doc["runs"][0]["history"][0].__setitem__(1, float("nan")), "NaN"),
    "epochs out of order": (lambda doc: doc["runs"][0]["history"].reverse(), "not in order"),
    "accuracy above one": (
        lambda doc: doc["runs"][0]["history"][0].__setitem__(2, 3.0),
        "outside 0 to 1",
    ),
    "missing weights file": (
        lambda doc: doc["runs"][0].update(weights="runs/9/weights.npz"),
        "missing",
    ),
    "path outside": (lambda doc: doc["runs"][0].update(weights="../../etc/passwd"), "missing"),
    "two active runs": (
        lambda doc: [run.update(active=True) for run in doc["runs"]],
        "more than one",
    ),
    "bad drawing label": (
        lambda doc: doc["drawings"]["labels"].__setitem__(0, 7),
        "label other than",
    ),
    "drawings mismatch": (lambda doc: doc["drawings"]["labels"].append(1), "do not match"),
    "test accuracy string": (
        lambda doc: doc["runs"][0].update(test_accuracy="100%"),
        "invalid test accuracy",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_EDITS))
def test_a_hostile_lab_json_is_refused_with_a_message(lab_file, case) -> None:
    edit, message = HOSTILE_EDITS[case]
    with pytest.raises(LabFileError, match=message):
        read_lab_file(with_document(lab_file, edit))


@pytest.mark.parametrize(
    ("change", "message"),
    [(nan_weights, "NaN"), (object_array, "not a valid .npz"), (wrong_shape, "do not match")],
)
def test_bad_arrays_are_refused(lab_file, change, message) -> None:
    with pytest.raises(LabFileError, match=message):
        read_lab_file(rezip(lab_file, change))


def test_corrupt_truncated_oversized_and_bomb_files_are_refused(lab_file) -> None:
    for data, message in (
        (b"", "not a readable zip"),
        (b"PK\x03\x04 garbage", "not a readable zip"),
        (lab_file[: len(lab_file) // 2], "not a readable zip|damaged"),
        (
            rezip(lab_file, lambda name, payload: None if name == LAB_JSON else payload),
            "no lab.json",
        ),
        (
            rezip(lab_file, lambda name, payload: b"{" if name == LAB_JSON else payload),
            "not valid JSON",
        ),
        (b"0" * (MAX_LAB_FILE_BYTES + 1), "larger than"),
    ):
        with pytest.raises(LabFileError, match=message):
            read_lab_file(data)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(LAB_JSON, b" " * 300_000_000)
    assert len(bomb.getvalue()) < 1_000_000
    with pytest.raises(LabFileError, match="unpacks to far more"):
        read_lab_file(bomb.getvalue())


def saved_model_files(tmp_path) -> tuple[bytes, bytes]:
    folder = tmp_path / "model"
    save_model(folder, SavedModel(CONFIG, weights(3), {"test_accuracy": 0.99}))
    return (folder / "config.json").read_bytes(), (folder / "weights.npz").read_bytes()


def test_a_model_folder_opens_as_one_run_uploaded_as_files_or_zipped(tmp_path) -> None:
    config_json, weights_file = saved_model_files(tmp_path)
    as_files = read_upload(
        [("model/config.json", config_json), ("model/weights.npz", weights_file)]
    )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("pretrained/config.json", config_json)
        archive.writestr("pretrained/weights.npz", weights_file)
    as_zip = read_upload([("pretrained.zip", zipped.getvalue())])
    for contents in (as_files, as_zip):
        (run,) = contents.runs
        assert run.config == CONFIG and run.active and run.test_accuracy == 0.99
        np.testing.assert_array_equal(run.weights.kernels[0], weights(3).kernels[0])


def test_uploads_that_are_neither_a_lab_nor_a_model_get_a_clear_message(tmp_path) -> None:
    config_json, _ = saved_model_files(tmp_path)
    with pytest.raises(LabFileError, match="Upload a lab file"):
        read_upload([("config.json", config_json)])
    with pytest.raises(LabFileError, match="Upload a lab file"):
        read_upload([("photo.png", b"\x89PNG")])
    with pytest.raises(LabFileError, match="cannot be opened"):
        read_upload([("config.json", b"{}"), ("weights.npz", b"nonsense")])
    with pytest.raises(LabFileError, match="No file"):
        read_upload([])


def test_a_lab_files_own_message_text_is_never_kept(lab_file) -> None:
    def edit(document: dict) -> None:
        document["runs"][0]["message"] = "![tracker](http://example.invalid/pixel.png) <b>hi</b>"

    contents = read_lab_file(with_document(lab_file, edit))
    assert contents.runs[0].message is None
    assert contents.runs[1].message == "Training had not finished when this lab file was saved."


def test_a_run_on_the_class_dataset_round_trips_through_a_lab_file(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    config = CONFIG.with_changes(dataset="class")
    run = run_store.add_run(store_engine, lab.id, config, "queued")
    run_store.save_progress(
        store_engine,
        run.id,
        status="done",
        first_epoch=1,
        history=logs(1, 2),
        weights=weights(1),
        test_accuracy=0.8,
        final=True,
    )
    stored = run_store.load_run(store_engine, lab.id, run.id)
    contents = read_lab_file(export_lab([stored], [], run.id))
    assert [entry.config for entry in contents.runs] == [config]
    target = lab_store.create_lab(store_engine)
    imported = import_into(store_engine, target.id, contents)
    assert run_store.load_run(store_engine, target.id, imported[0].id).config == config
