"""Per-learner session state and the few immutable resources every session shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from model.config import TrainConfig, describe
from model.data import Splits, load_splits, read_only
from model.forward import NetworkWeights
from model.storage import SavedModel, load_pretrained

SESSION_MODEL = "session_model"
# A dataset image the Data page sends to the Draw page's pipeline view (a SentImage).
SENT_TO_DRAW = "sent_to_draw"
# The Draw page's latest network input (400 float32 features), for the Under-the-hood page.
LAST_DRAWING = "last_drawing"


@dataclass(frozen=True)
class SentImage:
    """A raw 28×28 uint8 MNIST image (white on black) with its label and where it came from."""

    image28: np.ndarray
    label: int
    caption: str


@dataclass(frozen=True)
class ActiveModel:
    """The network that answers on the Draw page: the learner's own, or the bundled one."""

    weights: NetworkWeights
    config: TrainConfig
    source: str
    description: str
    training: bool = False


@st.cache_resource(show_spinner=False)
def pretrained_model() -> SavedModel:
    return load_pretrained()


@st.cache_resource(show_spinner="Loading the handwritten digits…", max_entries=2)
def dataset_splits(name: str = "bundled") -> Splits:
    """Shared by all sessions, so the arrays are read-only."""
    return read_only(load_splits(name))


def bundled_model() -> ActiveModel:
    bundled = pretrained_model()
    accuracy = bundled.metrics.get("test_accuracy")
    detail = f", test accuracy {accuracy:.1%}" if isinstance(accuracy, float) else ""
    return ActiveModel(
        bundled.weights,
        bundled.config,
        "bundled",
        f"the bundled pretrained model ({describe(bundled.config)}{detail})",
    )
