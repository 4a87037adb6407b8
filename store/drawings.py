"""Drawings a learner chose to keep: the network's 20×20 input and the digit they meant."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, select

from model.config import INPUT_FEATURES, INPUT_SIDE
from model.storage import ModelFileError, arrays_npz_bytes, npz_arrays
from store.schema import drawings, labs

MAX_DRAWINGS_PER_LAB = 500
LABELS = (0, 1)
DRAWING_LIMIT_MESSAGE = (
    f"Your lab keeps at most {MAX_DRAWINGS_PER_LAB} drawings and is full: delete some "
    "(My lab page) to keep more."
)


class DrawingLimitReached(ValueError):
    """The lab holds `MAX_DRAWINGS_PER_LAB` drawings already."""


@dataclass(frozen=True)
class StoredDrawing:
    id: int
    label: int | None
    # The network's input: 20×20 float32 in [0, 1], white ink on black.
    pixels: np.ndarray
    created_at: float


def valid_pixels(pixels: np.ndarray) -> np.ndarray:
    """The 400 input values as a 20×20 float32 image; ValueError for anything else."""
    array = np.asarray(pixels)
    if array.size != INPUT_FEATURES or array.dtype.kind not in "fiu":
        raise ValueError(f"a drawing is {INPUT_FEATURES} numbers")
    array = array.astype(np.float32).reshape(INPUT_SIDE, INPUT_SIDE)
    if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
        raise ValueError("a drawing's values lie between 0 and 1")
    return array


def insert_drawings(
    connection: Connection, lab_id: str, items: list[tuple[np.ndarray, int | None]]
) -> None:
    connection.execute(select(labs.c.id).where(labs.c.id == lab_id).with_for_update())
    count = connection.execute(
        select(func.count()).select_from(drawings).where(drawings.c.lab_id == lab_id)
    ).scalar_one()
    if count + len(items) > MAX_DRAWINGS_PER_LAB:
        raise DrawingLimitReached(DRAWING_LIMIT_MESSAGE)
    now = time.time()
    for pixels, label in items:
        if label is not None and label not in LABELS:
            raise ValueError("a drawing's label is 0 or 1")
        connection.execute(
            insert(drawings).values(
                lab_id=lab_id,
                label=label,
                pixels=arrays_npz_bytes([valid_pixels(pixels)]),
                created_at=now,
            )
        )


def keep_drawing(engine: Engine, lab_id: str, pixels: np.ndarray, label: int | None) -> None:
    """Keep one drawing; `DrawingLimitReached` when the lab is full."""
    with engine.begin() as connection:
        insert_drawings(connection, lab_id, [(pixels, label)])


def load_drawings(engine: Engine, lab_id: str) -> list[StoredDrawing]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(drawings).where(drawings.c.lab_id == lab_id).order_by(drawings.c.id)
        ).all()
    kept = []
    for row in rows:
        try:
            (pixels,) = npz_arrays(row.pixels, "drawing")
            kept.append(StoredDrawing(row.id, row.label, valid_pixels(pixels), row.created_at))
        except (ModelFileError, ValueError):
            continue  # a damaged row loses one drawing, not the lab
    return kept


def delete_drawings(engine: Engine, lab_id: str, drawing_ids: list[int]) -> None:
    with engine.begin() as connection:
        connection.execute(
            delete(drawings).where(drawings.c.lab_id == lab_id, drawings.c.id.in_(drawing_ids))
        )
