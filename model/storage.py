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
# The largest network (3 × 128 units) has about 84,000 float32 weights: 340 kB unpacked.
MAX_UNPACKED_BYTES = 8_000_000
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A saved model is missing, malformed, or does not match its own settings."""


@dataclass(frozen=True)
class SavedModel:
    config: TrainConfig
    weights: NetworkWeights
    metrics: dict[str, Any] = field(default_factory=dict)


def weights_npz_bytes(weights: NetworkWeights) -> bytes:
    return arrays_npz_bytes(weights.as_list())


def save_model(folder: Path, saved: SavedModel) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    document = {
        "format_version": FORMAT_VERSION,
        "config": saved.config.to_dict(),
        "metrics": saved.metrics,
    }
    (folder / CONFIG_FILE).write_text(json.dumps(document, indent=2) + "\n")
    (folder / WEIGHTS_FILE).write_bytes(weights_npz_bytes(saved.weights))


def parse_model(config_json: bytes | str, weights_npz: bytes) -> SavedModel:
    """Validate untrusted bytes: sizes, JSON shape, array count, dtypes and shapes."""
    try:
        document = json.loads(config_json)
        config = TrainConfig.from_dict(document["config"])
        metrics = document.get("metrics", {})
    except (json.JSONDecodeError, KeyError, TypeError, ConfigError) as error:
        raise ModelFileError(f"the settings file is not valid: {error}") from error
    if not isinstance(metrics, dict):
        raise ModelFileError("the settings file's metrics must be an object")
    return SavedModel(config, weights_from_npz(config, weights_npz), metrics)


def arrays_npz_bytes(arrays: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f"arr_{index}": array for index, array in enumerate(arrays)})
    return buffer.getvalue()


def npz_arrays(data: bytes, what: str, max_bytes: int = MAX_ARCHIVE_BYTES) -> list[np.ndarray]:
    """The arrays `arr_0`, `arr_1`, ... of untrusted `.npz` bytes, in order; never unpickles.

    Both the file and what it unpacks to are capped, so a small file that inflates to
    gigabytes is refused before it is read.
    """
    if len(data) > max_bytes:
        raise ModelFileError(f"the {what} is over {max_bytes:,} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ModelFileError(f"the {what} unpacks to over {MAX_UNPACKED_BYTES:,} bytes")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = [f"arr_{index}" for index in range(len(archive.files))]
            if sorted(archive.files) != sorted(names):
                raise ModelFileError(f"the {what} holds unexpected arrays")
            return [archive[name] for name in names]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"the {what} is not a valid .npz: {error}") from error


def weights_from_npz(config: TrainConfig, weights_npz: bytes) -> NetworkWeights:
    """Untrusted `.npz` bytes as the weights of `config`'s network: count, dtypes, shapes, NaNs."""
    expected_count = 2 * (len(config.hidden_units) + 1)
    arrays = npz_arrays(weights_npz, "weights file")
    if len(arrays) != expected_count:
        raise ModelFileError(f"expected {expected_count} weight arrays, found {len(arrays)}")
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
    return weights


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
