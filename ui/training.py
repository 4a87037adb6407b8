"""The Train page's views: live curves and progress, results and the run history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from model.config import TrainConfig, layer_sizes, parameter_counts
from model.evaluation import Predictions, closest_calls, misclassified
from model.jobs import QUEUED, JobView
from model.limits import format_duration
from model.training import EpochLog
from ui.explain import show_training_hidden_space
from ui.job_pool import job_manager
from ui.plots import line_chart
from ui.run_sync import sync
from ui.runs import Run, latest_run, runs

# How often the live view polls the job: fast enough to look smooth, slow enough to stay cheap.
POLL_SECONDS = 0.4
# A queued job only moves up the queue: with a class of thirty, most sessions wait, and each
# poll is a rerun on the server and a redraw in the browser.
QUEUED_POLL_SECONDS = 2.0
METRIC_LABELS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "accuracy": "training accuracy",
    "val_accuracy": "validation accuracy",
}
GALLERY_ZOOM = 4
# The run-history chart's selection, and the runs it has offered so far (new ones join it).
COMPARE_KEY = "compare_runs"
COMPARE_OFFERED = "compare_offered"


# -- the views ----------------------------------------------------------------------------


def curves(history: list[EpochLog], metrics: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {METRIC_LABELS[name]: [getattr(log, name) for log in history] for name in metrics},
        index=pd.Index([log.epoch for log in history], name="epoch"),
    )


def render_curves(history: list[EpochLog]) -> None:
    if not history:
        return
    loss, accuracy = st.columns(2)
    with loss:
        line_chart(curves(history, ("loss", "val_loss")), "loss")
    with accuracy:
        line_chart(curves(history, ("accuracy", "val_accuracy")), "accuracy")


def render_progress(run: Run, view: JobView) -> None:
    if view.state == QUEUED and view.pool_starting:
        st.info(
            "Starting the training processes (loading TensorFlow takes a few seconds)…",
            icon=":material/hourglass_top:",
        )
        return
    if view.state == QUEUED:
        wait = "" if view.estimated_wait is None else f", {format_duration(view.estimated_wait)}"
        place = f"you are number {view.position} in the queue{wait}"
        if view.preempted and view.epochs_done == 0:
            # Handed back while its worker was still making the augmented copies.
            text = (
                "Paused while its augmented copies were being made, so that other runs can "
                f"start or shorter ones go first; it goes on from them by itself ({place})."
            )
        elif view.preempted:
            epochs = run.earlier_epochs + view.epochs_done
            text = (
                f"Paused after {epochs} epoch{'' if epochs == 1 else 's'} so that other runs "
                f"can start or shorter ones go first; it goes on by itself ({place})."
            )
        else:
            text = f"Waiting for a free training process: {place}."
        st.info(text, icon=":material/hourglass_top:")
        return
    done, total = view.epochs_done, view.epochs_total
    eta = "" if view.eta is None else f" · about {view.eta:.0f} s left"
    st.progress(
        done / total,
        text=f"Epoch {run.earlier_epochs + done} of {run.earlier_epochs + total} · "
        f"{view.elapsed:.1f} s elapsed{eta}",
    )


def page_must_rerun(view: JobView | None, polled_slowly: bool) -> bool:
    """Whether a poll of the live view hands over to a run of the whole page.

    When the job has ended (the results, the buttons), or when it now needs the other pace:
    a run that has paused (queued behind others) is polled slowly. A queued run that starts
    needs the quick pace only if it will train longer than a slow poll: a class's default runs
    end before the next one, and a run of the whole Train page costs the server 3 to 10 polls'
    worth.
    """
    if view is None or view.finished:
        return True
    queued = view.state == QUEUED
    if queued == polled_slowly:
        return False
    if polled_slowly:
        return view.work_left is None or view.work_left > QUEUED_POLL_SECONDS
    return True


def live_view() -> None:
    """While a job runs, poll it a few times a second and redraw the progress and the curves.

    A queued job is polled slowly, and only its place in the queue is redrawn: its curves and
    map cannot change until it trains again. A job paused for others (after its first epoch,
    when a class presses Train together) is queued too: thirty tabs polling quickly would take
    a core of the server from the training. `page_must_rerun` says when a poll hands over to
    a run of the whole page, which sets the pace anew.
    """
    run = latest_run()
    view = None if run is None or run.job_id is None else job_manager().peek(run.job_id)
    slowly = view is not None and view.state == QUEUED
    if slowly:
        # The curves and map drawn once below the queue's news: all the job has trained so far.
        sync(with_history=True)

    @st.fragment(run_every=QUEUED_POLL_SECONDS if slowly else POLL_SECONDS)
    def poll() -> None:
        run = latest_run()
        view = sync(with_history=not slowly)
        if run is None or page_must_rerun(view, slowly):
            st.rerun()
        render_progress(run, view)
        if not slowly:
            render_curves(run.history)
            show_training_hidden_space(run.result_weights)

    poll()
    if slowly and run is not None:
        render_curves(run.history)
        show_training_hidden_space(run.result_weights)


def render_summary(config: TrainConfig) -> None:
    sizes = layer_sizes(config)
    counts = parameter_counts(config)
    names = [f"hidden_{index}" for index in range(1, len(config.hidden_units) + 1)] + ["output"]
    activations = [config.activation] * len(config.hidden_units) + ["sigmoid"]
    table = pd.DataFrame(
        {
            "layer": names,
            "output shape": [f"(None, {units})" for units in sizes[1:]],
            "activation": activations,
            "parameters": [f"{count:,}" for count in counts],
        }
    )
    st.dataframe(table, hide_index=True)
    st.caption(f"Total parameters: {sum(counts):,} (weights and biases, all trainable).")


def _gallery(test: Predictions, indices: list[int], threshold: float) -> None:
    if not indices:
        st.caption("None.")
        return
    columns = st.columns(len(indices))
    for column, index in zip(columns, indices, strict=False):
        zoomed = np.kron(test.image(index), np.ones((GALLERY_ZOOM, GALLERY_ZOOM)))
        label = int(test.labels[index])
        probability = float(test.probabilities[index])
        called = int(probability >= threshold)
        column.image(
            np.clip(zoomed, 0.0, 1.0),
            caption=f"is {label}, P(1) = {probability:.2f} → {called}",
            clamp=True,
        )


def render_results(run: Run) -> None:
    test = run.test
    if test is None:
        return
    confusion = test.confusion()
    st.metric("Test accuracy", f"{confusion.accuracy:.1%}", help=f"{confusion.total} test images")
    threshold = st.slider(
        "Threshold: call it a 1 when P(1) is at least",
        0.0,
        1.0,
        0.5,
        0.01,
        key="threshold",
    )
    confusion = test.confusion(threshold)
    matrix, scores = st.columns([2, 1])
    matrix.dataframe(
        pd.DataFrame(
            confusion.as_rows(),
            index=["true 0", "true 1"],
            columns=["predicted 0", "predicted 1"],
        )
    )
    scores.metric("Precision", "-" if confusion.precision is None else f"{confusion.precision:.1%}")
    scores.metric("Recall", "-" if confusion.recall is None else f"{confusion.recall:.1%}")
    st.markdown("**Misclassified test images** (most confident mistakes first)")
    _gallery(test, misclassified(test, threshold), threshold)
    st.markdown("**Closest calls** (probability nearest the threshold)")
    _gallery(test, closest_calls(test, threshold), threshold)
    st.markdown("**Model summary**")
    render_summary(run.config)
    if run.keras_file is not None:
        st.download_button(
            "Download this model (.keras)",
            run.keras_file,
            file_name=f"zero_or_one_run_{run.number}.keras",
            mime="application/octet-stream",
            icon=":material/download:",
            key="download_keras",
        )


def render_history() -> None:
    finished = [run for run in runs() if run.history]
    if not finished:
        st.caption("Your runs will be listed here.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "run": [run.number for run in finished],
                "settings": [run.label() for run in finished],
                "epochs": [len(run.history) for run in finished],
                "loss": [run.history[-1].loss for run in finished],
                "val accuracy": [run.history[-1].val_accuracy for run in finished],
                "test accuracy": [run.test_accuracy for run in finished],
                "status": [run.status for run in finished],
            }
        ),
        hide_index=True,
        column_config={
            "loss": st.column_config.NumberColumn(format="%.4f"),
            "val accuracy": st.column_config.NumberColumn(format="percent"),
            "test accuracy": st.column_config.NumberColumn(format="percent"),
        },
    )
    labels = {run.number: run.label() for run in finished}
    offered = st.session_state.get(COMPARE_OFFERED, [])
    if COMPARE_KEY not in st.session_state:
        st.session_state[COMPARE_KEY] = list(labels)[-3:]
    else:
        # A run that finished since the last view joins the comparison: it is the one the
        # learner wants to see against the others.
        joining = [number for number in labels if number not in offered]
        st.session_state[COMPARE_KEY] = [*st.session_state[COMPARE_KEY], *joining]
    st.session_state[COMPARE_OFFERED] = list(labels)
    chosen = st.multiselect(
        "Runs to compare", list(labels), format_func=labels.get, key=COMPARE_KEY
    )
    metric = st.radio(
        "Curve",
        list(METRIC_LABELS),
        format_func=METRIC_LABELS.get,
        horizontal=True,
        key="compare_metric",
    )
    series = {
        f"run {run.number}": pd.Series(
            [getattr(log, metric) for log in run.history],
            index=[log.epoch for log in run.history],
        )
        for run in finished
        if run.number in chosen
    }
    if series:
        line_chart(pd.DataFrame(series), METRIC_LABELS[metric])
