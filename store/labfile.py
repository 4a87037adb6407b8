"""A whole lab as one file (a zip of JSON and `.npz`, never pickle), and reading one back safely."""

from __future__ import annotations

import io
import json
import math
import time
import zipfile
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine, update

from model.config import ConfigError, TrainConfig
from model.forward import NetworkWeights
from model.storage import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ModelFileError,
    arrays_npz_bytes,
    npz_arrays,
    parse_model,
    weights_from_npz,
    weights_npz_bytes,
)
from model.training import EpochLog
from store.drawings import MAX_DRAWINGS_PER_LAB, StoredDrawing, insert_drawings, valid_pixels
from store.runs import (
    ACTIVE_STATUSES,
    INTERRUPTED,
    MAX_RUNS_PER_LAB,
    StoredRun,
    history_from_json,
    insert_runs,
    optimizer_npz,
)
from store.schema import labs

LAB_FORMAT = "zero-or-one-lab"
LAB_FILE_VERSION = 1
LAB_JSON = "lab.json"
DRAWINGS_FILE = "drawings.npz"
MAX_LAB_FILE_MB = 64
MAX_LAB_FILE_BYTES = MAX_LAB_FILE_MB * 1024 * 1024
MAX_LAB_JSON_BYTES = 8_000_000
# What the zip may unpack to in all: a full lab of the largest networks stays well below.
MAX_UNPACKED_BYTES = 256_000_000
MAX_EPOCHS_IN_HISTORY = 100_000
MAX_MESSAGE_CHARS = 2000
# Statuses a lab file may carry; an active one arrives as interrupted (no job runs for it).
KNOWN_STATUSES = {
    "done",
    "stopped",
    "cancelled",
    "failed",
    "diverged",
    "imported",
    INTERRUPTED,
    *ACTIVE_STATUSES,
}
IMPORTED = "imported"


class LabFileError(ValueError):
    """A lab file or saved model that cannot be opened; the message says why."""


@dataclass(frozen=True)
class ImportedRun:
    config: TrainConfig
    status: str
    message: str | None
    history: tuple[EpochLog, ...]
    test_accuracy: float | None
    weights: NetworkWeights | None
    optimizer_state: list[np.ndarray] | None
    active: bool = False


@dataclass(frozen=True)
class LabContents:
    """What a lab file holds, fully validated: nothing here can surprise the store."""

    runs: tuple[ImportedRun, ...]
    drawings: tuple[tuple[np.ndarray, int | None], ...] = field(default_factory=tuple)


# -- writing ------------------------------------------------------------------------------


def export_lab(
    runs: list[StoredRun], drawings: list[StoredDrawing], active_run: str | None
) -> bytes:
    """The lab as zip bytes: `lab.json`, each run's weights and optimizer state, the drawings."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        entries = []
        for run in runs:
            entry = {
                "number": run.number,
                "config": run.config.to_dict(),
                "status": run.status,
                "message": run.message,
                "history": [
                    [log.epoch, log.loss, log.accuracy, log.val_loss, log.val_accuracy]
                    for log in run.history
                ],
                "test_accuracy": run.test_accuracy,
                "active": run.id == active_run,
                "weights": None,
                "optimizer_state": None,
            }
            if run.weights is not None:
                entry["weights"] = f"runs/{run.number}/{WEIGHTS_FILE}"
                archive.writestr(entry["weights"], weights_npz_bytes(run.weights))
            state = optimizer_npz(run.optimizer_state)
            if state is not None:
                entry["optimizer_state"] = f"runs/{run.number}/optimizer.npz"
                archive.writestr(entry["optimizer_state"], state)
            entries.append(entry)
        document = {
            "format": LAB_FORMAT,
            "version": LAB_FILE_VERSION,
            "exported_at": time.time(),
            "runs": entries,
            "drawings": {
                "file": DRAWINGS_FILE if drawings else None,
                "labels": [drawing.label for drawing in drawings],
            },
        }
        if drawings:
            stacked = np.stack([drawing.pixels for drawing in drawings]).astype(np.float32)
            archive.writestr(DRAWINGS_FILE, arrays_npz_bytes([stacked]))
        archive.writestr(LAB_JSON, json.dumps(document, indent=1))
    return buffer.getvalue()


# -- reading ------------------------------------------------------------------------------


def read_upload(files: list[tuple[str, bytes]]) -> LabContents:
    """Whatever was uploaded as one lab: a lab file, a zipped model folder, or a model folder's
    `config.json` and `weights.npz` (uploaded as a folder or together)."""
    if not files:
        raise LabFileError("No file was uploaded.")
    if sum(len(data) for _, data in files) > MAX_LAB_FILE_BYTES:
        raise LabFileError(
            f"The upload is larger than {MAX_LAB_FILE_MB} MB, the most a lab file can be."
        )
    by_name = {name.replace("\\", "/").rsplit("/", 1)[-1]: data for name, data in files}
    if CONFIG_FILE in by_name and WEIGHTS_FILE in by_name:
        return _model_folder(by_name[CONFIG_FILE], by_name[WEIGHTS_FILE])
    zipped = [data for name, data in files if name.lower().endswith(".zip")]
    if len(files) != 1 or not zipped:
        raise LabFileError(
            "Upload a lab file (.zip) downloaded from this page, or a saved model folder "
            f"(its {CONFIG_FILE} and {WEIGHTS_FILE})."
        )
    return read_lab_file(zipped[0])


def _model_folder(config_json: bytes, weights_npz: bytes) -> LabContents:
    try:
        saved = parse_model(config_json, weights_npz)
    except ModelFileError as error:
        raise LabFileError(f"This saved model cannot be opened: {error}.") from error
    accuracy = saved.metrics.get("test_accuracy")
    accuracy = float(accuracy) if _is_fraction(accuracy) else None
    run = ImportedRun(
        saved.config,
        IMPORTED,
        "Opened from a saved model folder.",
        (),
        accuracy,
        saved.weights,
        None,
        active=True,
    )
    return LabContents((run,))


def read_lab_file(data: bytes) -> LabContents:
    """Validate a lab file completely before anything is stored: all of it, or a LabFileError."""
    if len(data) > MAX_LAB_FILE_BYTES:
        raise LabFileError(
            f"This file is larger than {MAX_LAB_FILE_MB} MB, the most a lab file can be."
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {member.filename: member for member in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise LabFileError("This is not a lab file: it is not a readable zip file.") from error
    with archive:
        if sum(member.file_size for member in members.values()) > MAX_UNPACKED_BYTES:
            raise LabFileError("This file unpacks to far more than any lab holds; it is refused.")
        names = set(members)
        if LAB_JSON not in names:
            if {CONFIG_FILE, WEIGHTS_FILE} <= {name.rsplit("/", 1)[-1] for name in names}:
                return _zipped_model_folder(archive, members)
            raise LabFileError(f"This zip file has no {LAB_JSON}: it is not a lab file.")
        document = _json(_read(archive, members[LAB_JSON], MAX_LAB_JSON_BYTES))
        return _contents(archive, members, document)


def _zipped_model_folder(archive: zipfile.ZipFile, members: dict) -> LabContents:
    found = {}
    for name, member in members.items():
        base = name.rsplit("/", 1)[-1]
        if base in (CONFIG_FILE, WEIGHTS_FILE):
            if base in found:
                raise LabFileError("This zip file holds more than one saved model.")
            found[base] = _read(archive, member, MAX_LAB_JSON_BYTES)
    return _model_folder(found[CONFIG_FILE], found[WEIGHTS_FILE])


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bytes:
    if member.file_size > limit:
        raise LabFileError(f"{member.filename} in this file is too large.")
    try:
        with archive.open(member) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise LabFileError(f"This file is damaged or cut short ({member.filename}).") from error
    if len(data) > limit:
        raise LabFileError(f"{member.filename} in this file is too large.")
    return data


def _json(data: bytes) -> dict:
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise LabFileError(f"{LAB_JSON} is not valid JSON.") from error
    if not isinstance(document, dict) or document.get("format") != LAB_FORMAT:
        raise LabFileError("This is not a Zero-or-One Lab file.")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise LabFileError("This lab file has no valid version number.")
    if version > LAB_FILE_VERSION:
        raise LabFileError(
            f"This lab file was written by a newer version of the app (format {version}); "
            f"this one reads format {LAB_FILE_VERSION}."
        )
    if version < 1:
        raise LabFileError("This lab file has no valid version number.")
    return document


def _contents(archive: zipfile.ZipFile, members: dict, document: dict) -> LabContents:
    entries = document.get("runs")
    if not isinstance(entries, list):
        raise LabFileError("This lab file has no list of runs.")
    if len(entries) > MAX_RUNS_PER_LAB:
        raise LabFileError(
            f"This lab file holds {len(entries)} runs; a lab keeps at most {MAX_RUNS_PER_LAB}."
        )
    runs = tuple(_run(archive, members, entry, index) for index, entry in enumerate(entries, 1))
    if sum(run.active for run in runs) > 1:
        raise LabFileError("This lab file marks more than one run as the active model.")
    return LabContents(runs, _drawings(archive, members, document.get("drawings")))


def _array_file(archive: zipfile.ZipFile, members: dict, path: object, what: str) -> bytes | None:
    if path is None:
        return None
    if not isinstance(path, str) or path not in members:
        raise LabFileError(f"{what}: the file it names is missing.")
    return _read(archive, members[path], MAX_LAB_FILE_BYTES)


def _run(archive: zipfile.ZipFile, members: dict, entry: object, index: int) -> ImportedRun:
    what = f"Run {index} in this lab file"
    if not isinstance(entry, dict):
        raise LabFileError(f"{what} is not an object.")
    try:
        config = TrainConfig.from_dict(entry.get("config"))
    except (ConfigError, TypeError, ValueError) as error:
        raise LabFileError(f"{what} has invalid settings: {error}") from error
    status = entry.get("status")
    if status not in KNOWN_STATUSES:
        raise LabFileError(f"{what} has an unknown status.")
    message = entry.get("message")
    if message is not None and (not isinstance(message, str) or len(message) > MAX_MESSAGE_CHARS):
        raise LabFileError(f"{what} has an invalid message.")
    history = _history(entry.get("history"), what)
    accuracy = entry.get("test_accuracy")
    if accuracy is not None and not _is_fraction(accuracy):
        raise LabFileError(f"{what} has an invalid test accuracy.")
    weights = state = None
    try:
        weights_bytes = _array_file(archive, members, entry.get("weights"), f"{what}'s weights")
        if weights_bytes is not None:
            weights = weights_from_npz(config, weights_bytes)
        state_bytes = _array_file(archive, members, entry.get("optimizer_state"), what)
        if state_bytes is not None:
            state = npz_arrays(state_bytes, "optimizer state")
            if any(not np.isfinite(array).all() for array in state if array.dtype.kind == "f"):
                raise LabFileError(f"{what}'s optimizer state holds NaN or infinite values.")
            if weights is None or len(state) > 2 * len(weights.as_list()) + 4:
                raise LabFileError(f"{what}'s optimizer state does not fit its weights.")
    except ModelFileError as error:
        raise LabFileError(f"{what}: {error}.") from error
    # The file's own message text is checked but not kept: only the app's own words are shown.
    message = None
    if status in ACTIVE_STATUSES:
        status, message = INTERRUPTED, "Training had not finished when this lab file was saved."
    return ImportedRun(
        config, status, message, history, accuracy, weights, state, entry.get("active") is True
    )


def _history(rows: object, what: str) -> tuple[EpochLog, ...]:
    if not isinstance(rows, list) or len(rows) > MAX_EPOCHS_IN_HISTORY:
        raise LabFileError(f"{what} has an invalid history.")
    try:
        history = history_from_json(json.dumps(rows))
    except (TypeError, ValueError, IndexError) as error:
        raise LabFileError(f"{what} has an invalid history.") from error
    if any(len(row) != 5 for row in rows):
        raise LabFileError(f"{what} has an invalid history.")
    epochs = [log.epoch for log in history]
    if epochs != sorted(set(epochs)) or (epochs and epochs[0] < 1):
        raise LabFileError(f"{what}'s epochs are not in order.")
    for log in history:
        if not (_is_fraction(log.accuracy) and _is_fraction(log.val_accuracy)):
            raise LabFileError(f"{what}'s history has accuracies outside 0 to 1.")
        if not (math.isfinite(log.loss) and math.isfinite(log.val_loss)):
            raise LabFileError(f"{what}'s history has NaN or infinite losses.")
    return history


def _drawings(archive: zipfile.ZipFile, members: dict, section: object) -> tuple:
    if section is None:
        return ()
    if not isinstance(section, dict) or not isinstance(section.get("labels"), list):
        raise LabFileError("The drawings in this lab file are not described properly.")
    labels = section["labels"]
    if len(labels) > MAX_DRAWINGS_PER_LAB:
        raise LabFileError(
            f"This lab file holds {len(labels)} drawings; a lab keeps at most {MAX_DRAWINGS_PER_LAB}."
        )
    if any(label not in (0, 1, None) or isinstance(label, bool) for label in labels):
        raise LabFileError("A drawing in this lab file has a label other than 0 or 1.")
    if not labels:
        return ()
    data = _array_file(archive, members, section.get("file"), "The drawings")
    try:
        arrays = npz_arrays(data, "drawings file")
    except ModelFileError as error:
        raise LabFileError(f"The drawings: {error}.") from error
    if len(arrays) != 1 or arrays[0].shape[0] != len(labels) or arrays[0].ndim != 3:
        raise LabFileError("The drawings in this lab file do not match their labels.")
    try:
        return tuple(
            (valid_pixels(pixels), label) for pixels, label in zip(arrays[0], labels, strict=True)
        )
    except ValueError as error:
        raise LabFileError(f"A drawing in this lab file is not valid: {error}.") from error


def _is_fraction(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )


# -- restoring ----------------------------------------------------------------------------


def import_into(engine: Engine, lab_id: str, contents: LabContents) -> list[StoredRun]:
    """Add a validated lab file's runs and drawings to a lab, in one transaction: all or nothing
    (`RunLimitReached` / `DrawingLimitReached` when the lab would hold too many)."""
    with engine.begin() as connection:
        stored = insert_runs(
            connection,
            lab_id,
            [
                (
                    run.config,
                    run.status,
                    run.history,
                    run.message,
                    run.test_accuracy,
                    run.weights,
                    run.optimizer_state,
                )
                for run in contents.runs
            ],
        )
        if contents.drawings:
            insert_drawings(connection, lab_id, list(contents.drawings))
        active = [saved for saved, run in zip(stored, contents.runs, strict=True) if run.active]
        if active:
            connection.execute(
                update(labs).where(labs.c.id == lab_id).values(active_run=active[0].id)
            )
    return stored
