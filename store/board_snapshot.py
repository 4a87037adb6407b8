"""What the class board shows, read in a few queries: roster, scored shared runs, approved drawings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from model.challenges import BoardRun
from model.forward import NetworkWeights, accuracy, predict_proba
from store.class_board import (
    approved_set,
    cached_scores,
    class_drawings,
    roster,
    run_weights,
    save_score,
    shared_runs,
)
from store.class_rules import ClassDrawing, ClassSpace, RosterEntry
from store.classes import class_by_id, touch_class
from store.schema import APPROVED, PENDING


@dataclass(frozen=True)
class GalleryItem:
    drawing: ClassDrawing
    # The bundled model's probability that the drawing is a 1.
    probability: float

    @property
    def answer(self) -> int:
        return int(self.probability >= 0.5)

    @property
    def correct(self) -> bool:
        return self.answer == self.drawing.label


@dataclass(frozen=True)
class BoardSnapshot:
    class_space: ClassSpace
    roster: list[RosterEntry]
    runs: list[BoardRun]
    # Approved drawings, the ones the bundled model gets wrong first.
    gallery: list[GalleryItem]
    pending: int


def board_snapshot(engine: Engine, class_id: str, bundled: NetworkWeights) -> BoardSnapshot | None:
    """Everything one board refresh draws; None if the class is gone. A run is scored on the
    class set once per version of the set (the score is kept in the database, so every
    replica and refresh reuses it)."""
    class_space = class_by_id(engine, class_id)
    if class_space is None:
        return None
    touch_class(engine, class_id)
    images, labels, version = approved_set(engine, class_id)
    scores = cached_scores(engine, class_id, version) if len(labels) else {}
    runs = []
    for shared in shared_runs(engine, class_id):
        score = scores.get(shared.run_id)
        if score is None and len(labels):
            weights = run_weights(engine, shared.run_id)
            if weights is not None:
                score = (accuracy(weights, images, labels), len(labels))
                save_score(engine, class_id, shared.run_id, version, *score)
        runs.append(
            BoardRun(
                shared.run_id,
                shared.nickname,
                shared.number,
                shared.config,
                shared.test_accuracy,
                None if score is None else score[0],
                shared.history,
            )
        )
    drawings = class_drawings(engine, class_id)
    approved = [drawing for drawing in drawings if drawing.status == APPROVED]
    gallery: list[GalleryItem] = []
    if approved:
        pixels = np.stack([drawing.pixels.reshape(-1) for drawing in approved])
        probabilities = predict_proba(bundled, pixels).reshape(-1)
        gallery = [
            GalleryItem(drawing, float(probability))
            for drawing, probability in zip(approved, probabilities, strict=True)
        ]
        gallery.sort(key=lambda item: (item.correct, -item.drawing.submitted_at))
    pending = sum(drawing.status == PENDING for drawing in drawings)
    return BoardSnapshot(class_space, roster(engine, class_id), runs, gallery, pending)
