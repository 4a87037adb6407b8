"""Train: set the network up, train it in the background, watch it learn, then inspect the result."""

import streamlit as st

from model.codegen import keras_script
from model.config import TrainConfig, describe
from model.jobs import CANCELLED, STOPPED
from ui.class_data import offered_datasets, render_class_score
from ui.class_panel import render_attach_setup
from ui.controls import render_controls
from ui.estimate import render_estimate
from ui.explain import show_training_hidden_space
from ui.lab import client_address
from ui.run_sync import sync
from ui.runs import (
    button_states,
    latest_run,
    press,
    reset_model,
    stop_run,
)
from ui.share import (
    remember,
    render_class_link,
    render_exercises,
    show_notices,
    starting_settings,
)
from ui.training import live_view, render_curves, render_history, render_results

# The buttons whose press starts a run, read before they are drawn (see below).
PRESS_KEYS = ("train_button", "continue_button")

st.title("Train")
st.caption(
    "Set the network up, press **Train** and watch it learn. Training runs in a background "
    "process: moving a slider or visiting another page never loses the weights so far."
)

# Collect a run that ended while the learner was away before the controls render: a failed
# full-MNIST download puts the dataset choice back to the bundled images.
sync()
settings = starting_settings()
show_notices(settings)
chosen = render_controls(settings.config, settings.hidden, offered_datasets())
valid = isinstance(chosen, TrainConfig)
if valid:
    remember(chosen)
    st.markdown(f"**Network:** `{describe(chosen)}`")
else:
    st.error(chosen, icon=":material/error:")

# A press of Train or Continue starts its run before the buttons are drawn, so that they and
# everything below show that run in this script run: no second run of the whole page.
buttons = button_states(chosen)
train_early, continue_early = (st.session_state.get(key) is True for key in PRESS_KEYS)
refusal = press(chosen, buttons, train_early, continue_early, client_address())
if train_early or continue_early:
    buttons = button_states(chosen)
training, cap = buttons.training, buttons.cap
train_col, stop_col, continue_col, reset_col = st.columns(4)
train_late = train_col.button(
    "Train",
    type="primary",
    disabled=training or not valid or cap is not None,
    icon=":material/play_arrow:",
    key="train_button",
)
if stop_col.button("Stop", disabled=not training, icon=":material/stop:", key="stop_button"):
    stop_run()
    st.rerun()
continue_late = continue_col.button(
    "Continue",
    disabled=buttons.blocked is not None,
    help=buttons.blocked or "Train the same weights for the chosen number of epochs more.",
    icon=":material/resume:",
    key="continue_button",
)
if (train_late and not train_early) or (continue_late and not continue_early):
    # A session's first script run cannot read a button by its key before drawing it (a tab
    # that reconnected to a restarted server): its press starts here, and the page runs again.
    refusal = press(chosen, buttons, train_late, continue_late, client_address())
    if refusal is None:
        st.rerun()
run = latest_run()
if reset_col.button(
    "Reset",
    disabled=run is None or run.result_weights is None,
    help="Forget the trained weights; the Draw page goes back to the bundled model.",
    icon=":material/restart_alt:",
    key="reset_button",
):
    reset_model()
    st.rerun()
if refusal is not None:
    st.error(refusal[0], icon=refusal[1])
if valid and not training:
    render_estimate(chosen, cap)

if run is not None:
    st.subheader(f"Run {run.number}")
    if training:
        live_view()
    else:
        if run.message:
            st.warning(run.message, icon=":material/warning:")
        elif run.status == STOPPED:
            st.info("Stopped: the weights trained so far are kept.", icon=":material/pause:")
        elif run.status == CANCELLED:
            st.info("Stopped before training began.", icon=":material/pause:")
        render_curves(run.history)
        show_training_hidden_space(run.result_weights)
        render_results(run)
        render_class_score(run.result_weights)

render_exercises(run)
render_class_link(chosen if valid else settings.config, attach=render_attach_setup)

st.subheader("Run history")
render_history()

with st.expander("Show the code", icon=":material/code:"):
    st.caption("The lesson's three steps for the settings above, as a script you can run.")
    st.code(keras_script(chosen if valid else TrainConfig()), language="python")
