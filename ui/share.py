"""The Train page's settings in the address bar: shared links in, the current setup out, class links."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import streamlit as st

from model.config import TrainConfig
from model.exercises import EXERCISES, Exercise, matching_exercise
from model.url_settings import (
    CONTROLS,
    DecodedSettings,
    decode_settings,
    encode_settings,
    page_url,
    settings_query,
    share_url,
)
from store.classes import membership
from ui.controls import LAYERS_KEY, UNITS_KEYS
from ui.lab import LAB, LAB_PARAM, guarded, url_params_with_lab
from ui.runs import Run

# The settings in force for this session: first from the link it was opened with, then the
# learner's latest valid choice, so leaving the page and coming back keeps the setup.
SETTINGS = "train_settings"
TRAIN_PAGE_SLUG = "train"
# Every page's address (app.PAGES' file names): a link built on any page swaps its slug.
APP_PAGE_SLUGS = ("data", "train", "draw", "under_the_hood", "lab", "classroom", "board")
DEFAULT_APP_URL = "http://localhost:8501/"
CONTROL_LABELS = {
    "hidden_units": "Hidden layers and units",
    "activation": "Activation",
    "loss": "Loss",
    "optimizer": "Optimizer",
    "learning_rate": "Learning rate",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "seed": "Random seed",
    "dataset": "Dataset",
    "augment": "Augmentation",
    "shuffle": "Shuffling",
    "train_size": "Training images",
    "label_noise": "Training labels flipped",
    "input_noise": "Pixel noise",
}
WIDGET_KEYS = (*CONTROLS, LAYERS_KEY, *UNITS_KEYS)


def starting_settings() -> DecodedSettings:
    """The link's settings; without any, the setup the learner's class attached, if any."""
    if SETTINGS not in st.session_state:
        # The lab's id shares the address bar but is not a setting.
        params = {key: st.query_params.get_all(key) for key in st.query_params if key != LAB_PARAM}
        st.session_state[SETTINGS] = decode_settings(params or _class_setup())
    return st.session_state[SETTINGS]


def _class_setup() -> dict[str, list[str]]:
    lab = st.session_state.get(LAB)
    if lab is None:
        return {}
    joined = guarded(lambda engine: membership(engine, lab.id), None)
    if joined is None or not joined[0].train_link:
        return {}
    return parse_qs(joined[0].train_link)


def forget_setup() -> None:
    """Drop the session's Train settings, so the next Train page starts from the link's or
    the class's setup."""
    for key in (*WIDGET_KEYS, SETTINGS):
        st.session_state.pop(key, None)


def show_notices(settings: DecodedSettings) -> None:
    for notice in settings.notices:
        st.warning(notice, icon=":material/link_off:")


def remember(chosen: TrainConfig) -> None:
    """Keep the chosen setup and write it into the address bar, so copying it shares it."""
    current = starting_settings()
    notices = current.notices if chosen == current.config else []
    st.session_state[SETTINGS] = DecodedSettings(chosen, current.hidden, notices)
    st.query_params.from_dict(url_params_with_lab(encode_settings(chosen, current.hidden)))


def apply_setup(config: TrainConfig) -> None:
    """Load a ready-made setup into the controls (their widgets take their values anew)."""
    for key in WIDGET_KEYS:
        st.session_state.pop(key, None)
    st.session_state[SETTINGS] = DecodedSettings(config, starting_settings().hidden, [])
    st.query_params.from_dict(
        url_params_with_lab(encode_settings(config, starting_settings().hidden))
    )


def render_class_link(chosen: TrainConfig, attach: Callable[[str], None] | None = None) -> None:
    """The link that opens the Train page set up like this; `attach` offers the same setup
    (a query string) to the teacher's class."""
    with st.expander("Teacher: a link for my class", icon=":material/share:"):
        hide = st.multiselect(
            "Hide these controls from the class",
            CONTROLS,
            default=sorted(starting_settings().hidden),
            format_func=CONTROL_LABELS.get,
            key="class_hide",
        )
        address = page_url(st.context.url or DEFAULT_APP_URL, TRAIN_PAGE_SLUG, APP_PAGE_SLUGS)
        st.code(share_url(address, chosen, hide), language=None)
        st.caption(
            "Use the copy button on the right. The link opens this page with these settings."
        )
        if attach is not None:
            attach(settings_query(chosen, hide))


def render_exercises(latest: Run | None) -> None:
    finished = latest if latest is not None and not latest.training and latest.history else None
    solved = matching_exercise(finished.config) if finished is not None else None
    with st.expander("Exercises", icon=":material/school:", expanded=solved is not None):
        for exercise in EXERCISES:
            render_exercise(exercise, revealed=exercise is solved)


def render_exercise(exercise: Exercise, revealed: bool) -> None:
    with st.container(border=True):
        st.markdown(f"**{exercise.title}**  \n{exercise.question}")
        if st.button("Set it up", key=f"exercise_{exercise.id}", icon=":material/tune:"):
            apply_setup(exercise.config())
            st.rerun()
        if revealed:
            st.success(exercise.explanation, icon=":material/lightbulb:")
        else:
            st.caption("Train with this setup to reveal the explanation.")
