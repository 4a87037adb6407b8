"""Save and load a trained network as JSON settings plus an `.npz` of weights: no pickle, no Keras."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.config import ConfigError, TrainConfig, parameter_counts
from model.forward import NetworkWeights

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"
MAX_ARCHIVE_BYTES = 2_000_000
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A saved model is missing, malformed, or does not match its own settings."""


@dataclass(frozen=True)
class SavedModel:
    config: TrainConfig
    weights: NetworkWeights
    metrics: dict[str, Any] = field(default_factory=dict)


def _weights_npz_bytes(weights: NetworkWeights) -> bytes:
    buffer = io.BytesIO()
    arrays = {f"arr_{index}": array for index, array in enumerate(weights.as_list())}
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def save_model(folder: Path, saved: SavedModel) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "format_version": FORMAT_VERSION,
        "config": saved.config.to_dict(),
        "metrics": saved.metrics,
    }
    (folder / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n")
    (folder / WEIGHTS_FILE).write_bytes(_weights_npz_bytes(saved.weights))


def parse_model(config_json: bytes | str, weights_npz: bytes) -> SavedModel:
    """Validate untrusted bytes: sizes, JSON shape, array count, dtypes and shapes."""
    if len(weights_npz) > MAX_ARCHIVE_BYTES:
        raise ModelFileError(f"the weights file is over {MAX_ARCHIVE_BYTES:,} bytes")
    try:
        document = json.loads(config_json)
        config = TrainConfig.from_dict(document["config"])
        metrics = document.get("metrics", {})
    except (json.JSONDecodeError, KeyError, TypeError, ConfigError) as error:
        raise ModelFileError(f"the settings file is not valid: {error}") from error
    if not isinstance(metrics, dict):
        raise ModelFileError("the settings file's metrics must be an object")
    expected_count = 2 * (len(config.hidden_units) + 1)
    try:
        with np.load(io.BytesIO(weights_npz), allow_pickle=False) as archive:
            names = [f"arr_{index}" for index in range(expected_count)]
            if sorted(archive.files) != sorted(names):
                raise ModelFileError(
                    f"expected {expected_count} weight arrays, found {len(archive.files)}"
                )
            arrays = [archive[name] for name in names]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        raise ModelFileError(f"the weights file is not a valid .npz: {error}") from error
    if any(not np.issubdtype(array.dtype, np.floating) for array in arrays):
        raise ModelFileError("weights must be floating-point arrays")
    if sum(array.size for array in arrays) != sum(parameter_counts(config)):
        raise ModelFileError("the weights do not match the network described in the settings")
    try:
        weights = NetworkWeights.from_list(arrays, config.activation)
    except ValueError as error:
        raise ModelFileError(str(error)) from error
    if weights.hidden_units != config.hidden_units:
        raise ModelFileError("the weights' layer sizes differ from the settings")
    if not all(np.isfinite(array).all() for array in arrays):
        raise ModelFileError("the weights contain NaN or infinite values")
    return SavedModel(config, weights, metrics)


def load_model(folder: Path) -> SavedModel:
    try:
        config_json = (folder / CONFIG_FILE).read_bytes()
        weights_npz = (folder / WEIGHTS_FILE).read_bytes()
    except OSError as error:
        raise ModelFileError(f"cannot read a saved model in {folder}: {error}") from error
    return parse_model(config_json, weights_npz)


PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "assets" / "pretrained"


def load_pretrained() -> SavedModel:
    """The bundled model, read with NumPy only: the Draw page never waits for TensorFlow."""
    return load_model(PRETRAINED_DIR)
