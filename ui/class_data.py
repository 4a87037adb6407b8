"""The class's approved drawings as training data, for a learner whose lab is in the class."""

from __future__ import annotations

import numpy as np
import streamlit as st

from model.class_data import ClassDrawings
from model.config import DATASETS, TrainConfig
from model.forward import NetworkWeights, accuracy
from store.class_board import approved_set
from store.classes import membership
from ui.lab import LAB, guarded

CLASS_DATASET = "class"
NOT_IN_CLASS_MESSAGE = (
    "This setup trains on your class's drawings: join a class (Class page) first, or choose "
    "another dataset."
)
NOT_READY_MESSAGE = "Your class's drawings cannot be trained on yet: {problem}."


def _class_drawings() -> tuple[np.ndarray, np.ndarray] | None:
    lab = st.session_state.get(LAB)
    if lab is None:
        return None
    joined = guarded(lambda engine: membership(engine, lab.id), None)
    if joined is None:
        return None
    found = guarded(lambda engine: approved_set(engine, joined[0].id), None)
    return None if found is None else found[:2]


def offered_datasets() -> tuple[str, ...]:
    """The Train page's datasets: the class's drawings only for a member of a class."""
    plain = tuple(name for name in DATASETS if name != CLASS_DATASET)
    lab = st.session_state.get(LAB)
    if lab is None or guarded(lambda engine: membership(engine, lab.id), None) is None:
        return plain
    return DATASETS


def training_drawings(config: TrainConfig) -> tuple[ClassDrawings | None, str | None]:
    """The drawings a run of `config` trains on, or why it cannot start (for the learner)."""
    if config.dataset != CLASS_DATASET:
        return None, None
    found = _class_drawings()
    if found is None:
        return None, NOT_IN_CLASS_MESSAGE
    try:
        return ClassDrawings.checked(*found), None
    except ValueError as problem:
        return None, NOT_READY_MESSAGE.format(problem=str(problem).rstrip("."))


def render_class_score(weights: NetworkWeights | None) -> None:
    """For a member of a class: how well a trained network reads the class's own handwriting,
    beside its MNIST test accuracy (which almost every setting gets to 100 %)."""
    if weights is None:
        return
    found = _class_drawings()
    if found is None or not len(found[1]):
        return
    images, labels = found
    score = accuracy(weights, images, labels)
    st.metric(
        "Our class's drawings",
        f"{score:.1%}",
        help=f"The {len(labels)} drawings your teacher approved for the class set.",
    )
