"""The JSON + .npz model format: round trip, hostile files refused, the bundled model's accuracy."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from model.config import TrainConfig
from model.data import load_splits
from model.forward import NetworkWeights, accuracy
from model.storage import (
    CONFIG_FILE,
    MAX_ARCHIVE_BYTES,
    WEIGHTS_FILE,
    ModelFileError,
    SavedModel,
    load_model,
    load_pretrained,
    parse_model,
    save_model,
)


def small_model() -> SavedModel:
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(400, 3)), rng.normal(size=3), rng.normal(size=(3, 1)), np.zeros(1)]
    config = TrainConfig(hidden_units=(3,))
    return SavedModel(config, NetworkWeights.from_list(arrays, "sigmoid"), {"test_accuracy": 0.5})


def npz_bytes(*arrays: np.ndarray, **named: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, *arrays, **named)
    return buffer.getvalue()


def test_round_trip(tmp_path) -> None:
    saved = small_model()
    save_model(tmp_path, saved)
    loaded = load_model(tmp_path)
    assert loaded.config == saved.config and loaded.metrics == saved.metrics
    for a, b in zip(loaded.weights.as_list(), saved.weights.as_list(), strict=True):
        assert np.array_equal(a, b)


def test_missing_files_are_a_clear_error(tmp_path) -> None:
    with pytest.raises(ModelFileError, match="cannot read a saved model"):
        load_model(tmp_path)


@pytest.fixture
def saved_files(tmp_path) -> tuple[bytes, bytes]:
    save_model(tmp_path, small_model())
    return (tmp_path / CONFIG_FILE).read_bytes(), (tmp_path / WEIGHTS_FILE).read_bytes()


def test_refuses_pickled_object_arrays(saved_files) -> None:
    config_json, _ = saved_files
    hostile = npz_bytes(
        np.array([{"a": 1}], dtype=object), np.zeros(3), np.zeros((3, 1)), np.zeros(1)
    )
    with pytest.raises(ModelFileError):
        parse_model(config_json, hostile)


@pytest.mark.parametrize(
    "weights",
    [
        b"",
        b"garbage",
        npz_bytes(np.zeros((400, 3)), np.zeros(3), np.zeros((3, 1))),
        npz_bytes(np.zeros((400, 4)), np.zeros(4), np.zeros((4, 1)), np.zeros(1)),
        npz_bytes(np.zeros((400, 3), dtype=np.int64), np.zeros(3), np.zeros((3, 1)), np.zeros(1)),
        npz_bytes(np.full((400, 3), np.nan), np.zeros(3), np.zeros((3, 1)), np.zeros(1)),
        npz_bytes(np.zeros((3, 400)), np.zeros(3), np.zeros((3, 1)), np.zeros(1)),
    ],
    ids=["empty", "garbage", "too-few", "wrong-shape", "integers", "nan", "transposed"],
)
def test_refuses_malformed_weights(saved_files, weights: bytes) -> None:
    config_json, _ = saved_files
    with pytest.raises(ModelFileError):
        parse_model(config_json, weights)


@pytest.mark.parametrize(
    "config_json",
    [b"{", b"[]", json.dumps({"config": {"epochs": 0}}).encode(), json.dumps({"x": 1}).encode()],
)
def test_refuses_malformed_settings(saved_files, config_json: bytes) -> None:
    _, weights = saved_files
    with pytest.raises(ModelFileError, match="settings"):
        parse_model(config_json, weights)


def test_refuses_oversized_archives(saved_files) -> None:
    config_json, _ = saved_files
    with pytest.raises(ModelFileError, match="over"):
        parse_model(config_json, b"0" * (MAX_ARCHIVE_BYTES + 1))


def test_bundled_pretrained_model_reaches_its_reported_accuracy() -> None:
    pretrained = load_pretrained()
    splits = load_splits(pretrained.config.dataset)
    measured = accuracy(pretrained.weights, splits.test.x, splits.test.y)
    assert measured == pytest.approx(pretrained.metrics["test_accuracy"], abs=1e-9)
    assert pretrained.metrics["test_size"] == len(splits.test)
    assert measured >= 0.98
