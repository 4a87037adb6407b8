"""What the My lab page and the Draw page do with the lab: open, start, export, import, delete, keep."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import streamlit as st

from store import drawings as drawing_store
from store import labs as lab_store
from store import runs as run_store
from store.labfile import (
    MAX_LAB_FILE_MB,
    LabContents,
    LabFileError,
    export_lab,
    import_into,
    read_upload,
)
from ui.lab import LAB, LAB_PARAM, client_address, current_lab, database, guarded
from ui.runs import RUNS, runs, stop_run

# Session keys: the digest of the drawing kept last (a second click keeps nothing twice);
# a message to show after the page reruns.
LAST_KEPT = "lab_last_kept"
LAB_MESSAGE = "lab_message"
# The upload added last, so that a rerun never adds the same file twice.
LAST_IMPORTED = "lab_last_imported"
GALLERY_COLUMNS = 8
GALLERY_ZOOM = 4

# The Draw page's "digit I meant" control, shared by keeping and adding to the class set.
DIGIT_MEANT = "keep_label"


def switch_lab(lab: lab_store.Lab, message: str | None = None) -> None:
    """Open another lab in this tab: its runs replace the session's on the next run."""
    st.session_state[LAB] = lab
    st.session_state.pop(RUNS, None)
    st.session_state.pop(LAST_KEPT, None)
    st.query_params[LAB_PARAM] = lab.id
    if message:
        st.session_state[LAB_MESSAGE] = message


def show_message() -> None:
    message = st.session_state.pop(LAB_MESSAGE, None)
    if message:
        st.success(message, icon=":material/check_circle:")


def render_open_by_code() -> None:
    with st.form("open_lab", clear_on_submit=True, border=False):
        typed = st.text_input(
            "Resume code", max_chars=64, placeholder="maple-otter-river-42", key="resume_code"
        )
        submitted = st.form_submit_button("Open this lab", icon=":material/login:")
    if not submitted or not typed.strip():
        return
    client = client_address() or "unknown"
    found = guarded(lambda engine: lab_store.open_by_code(engine, typed, client), None)
    if found is None:
        return
    if found.lab is None:
        time.sleep(found.delay)
        st.error(found.message, icon=":material/key_off:")
        return
    current = current_lab()
    if current is not None and found.lab.id == current.id:
        st.info("That is the lab you have open.")
        return
    switch_lab(found.lab, "Opened the lab with that code.")
    st.rerun()


def render_fresh_lab() -> None:
    lab = current_lab()
    if st.button("Start a fresh lab", icon=":material/add_box:", key="fresh_lab"):
        fresh = guarded(lab_store.create_lab, None)
        if fresh is not None:
            kept = f" Your previous lab is kept: its code is {lab.code}." if lab else ""
            switch_lab(fresh, f"This is a fresh, empty lab.{kept}")
            st.rerun()


def lab_file_bytes(lab_id: str) -> bytes:
    """The whole lab as a file, built only when the learner downloads it."""
    engine = database()
    if engine is None:
        return b""
    lab = lab_store.find_lab(engine, lab_id)
    stored = run_store.load_runs(engine, lab_id)
    full = [run_store.load_run(engine, lab_id, run.id) or run for run in stored]
    kept = drawing_store.load_drawings(engine, lab_id)
    return export_lab(full, kept, None if lab is None else lab.active_run)


def render_download(lab: lab_store.Lab) -> None:
    st.download_button(
        "Download my lab (.zip)",
        lambda: lab_file_bytes(lab.id),
        file_name=f"zero-or-one-lab-{lab.code}.zip",
        mime="application/zip",
        icon=":material/download:",
        key="download_lab",
    )


def _summary(contents: LabContents) -> str:
    runs_text = f"{len(contents.runs)} run" + ("s" if len(contents.runs) != 1 else "")
    drawings_text = f"{len(contents.drawings)} drawing" + (
        "s" if len(contents.drawings) != 1 else ""
    )
    return f"{runs_text} and {drawings_text}"


def render_import(lab: lab_store.Lab) -> None:
    lab_file = st.file_uploader(
        "Open a lab file, or a zipped model folder (.zip)",
        type=["zip"],
        max_upload_size=MAX_LAB_FILE_MB,
        key="import_lab_file",
    )
    folder = st.file_uploader(
        "…or a saved model folder (from `python -m model.train --out FOLDER`)",
        accept_multiple_files="directory",
        max_upload_size=MAX_LAB_FILE_MB,
        key="import_model_folder",
    )
    uploads = [lab_file] if lab_file is not None else list(folder or [])
    if not uploads:
        return
    upload_key = ",".join(upload.file_id for upload in uploads)
    if st.session_state.get(LAST_IMPORTED) == upload_key:
        st.caption("This upload has been added to your lab.")
        return
    try:
        contents = read_upload([(upload.name, upload.getvalue()) for upload in uploads])
    except LabFileError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.info(f"It holds {_summary(contents)}. Nothing is added until you press the button.")
    if st.button("Add them to my lab", type="primary", icon=":material/upload:", key="import_go"):
        try:
            stored = guarded(lambda engine: import_into(engine, lab.id, contents), None)
        except (run_store.RunLimitReached, drawing_store.DrawingLimitReached) as full:
            st.error(f"Nothing was added. {full}", icon=":material/inventory_2:")
            return
        if stored is not None:
            st.session_state[LAST_IMPORTED] = upload_key
            refreshed = lab_store.find_lab(database(), lab.id) or lab
            switch_lab(refreshed, f"Added {_summary(contents)} to your lab.")
            st.rerun()


def render_runs(lab: lab_store.Lab) -> None:
    listed = [run for run in runs() if run.run_id is not None]
    if not listed:
        st.caption("No runs yet: train one on the Train page.")
        return
    st.caption(f"{len(listed)} of at most {run_store.MAX_RUNS_PER_LAB} runs.")
    deletable = {run.run_id: run for run in listed if not run.training}
    chosen = st.multiselect(
        "Runs to delete",
        list(deletable),
        format_func=lambda run_id: f"{deletable[run_id].label()} · {deletable[run_id].status}",
        key="delete_runs",
    )
    if st.button(
        "Delete these runs", disabled=not chosen, icon=":material/delete:", key="delete_runs_go"
    ):
        guarded(lambda engine: run_store.delete_runs(engine, lab.id, chosen), None)
        refreshed = lab_store.find_lab(database(), lab.id) or lab
        switch_lab(refreshed, f"Deleted {len(chosen)} run(s).")
        st.rerun()


def render_drawings(lab: lab_store.Lab) -> None:
    kept = guarded(lambda engine: drawing_store.load_drawings(engine, lab.id), [])
    if not kept:
        st.caption("No kept drawings yet: keep one from the Draw page.")
        return
    st.caption(f"{len(kept)} of at most {drawing_store.MAX_DRAWINGS_PER_LAB} drawings.")
    columns = st.columns(GALLERY_COLUMNS)
    for index, drawing in enumerate(kept):
        meant = "not said" if drawing.label is None else str(drawing.label)
        columns[index % GALLERY_COLUMNS].image(
            np.kron(drawing.pixels, np.ones((GALLERY_ZOOM, GALLERY_ZOOM))),
            caption=f"#{index + 1} · meant {meant}",
            clamp=True,
        )
    numbers = {index + 1: drawing.id for index, drawing in enumerate(kept)}
    chosen = st.multiselect(
        "Drawings to delete", list(numbers), format_func=lambda n: f"#{n}", key="delete_drawings"
    )
    if st.button(
        "Delete these drawings",
        disabled=not chosen,
        icon=":material/delete:",
        key="delete_drawings_go",
    ):
        ids = [numbers[number] for number in chosen]
        guarded(lambda engine: drawing_store.delete_drawings(engine, lab.id, ids), None)
        st.session_state[LAB_MESSAGE] = f"Deleted {len(ids)} drawing(s)."
        st.rerun()


def render_delete_lab(lab: lab_store.Lab) -> None:
    sure = st.checkbox(
        "Yes: delete every run, model and drawing of this lab, now", key="delete_lab_sure"
    )
    if st.button(
        "Delete my lab", disabled=not sure, icon=":material/delete_forever:", key="delete_lab_go"
    ):
        stop_run()
        guarded(lambda engine: lab_store.delete_lab(engine, lab.id), None)
        fresh = guarded(lab_store.create_lab, None)
        if fresh is not None:
            switch_lab(
                fresh, "Your lab was deleted with everything in it. This is a fresh, empty lab."
            )
        st.rerun()


def render_keep_drawing(pixels: np.ndarray) -> None:
    """On the Draw page: keep the drawing the network just read, with the digit the learner meant."""
    lab = current_lab()
    if lab is None:
        return
    digest = hashlib.sha256(np.asarray(pixels, np.float32).tobytes()).hexdigest()
    meant = st.segmented_control("The digit I meant", [0, 1], key=DIGIT_MEANT)
    if st.button("Keep this drawing in my lab", icon=":material/bookmark_add:", key="keep_drawing"):
        if st.session_state.get(LAST_KEPT) == digest:
            st.info("This drawing is already kept.")
            return
        try:
            guarded(lambda engine: drawing_store.keep_drawing(engine, lab.id, pixels, meant), None)
        except drawing_store.DrawingLimitReached as full:
            st.error(str(full), icon=":material/inventory_2:")
            return
        st.session_state[LAST_KEPT] = digest
        st.success("Kept: it is on the My lab page and goes into your lab file.")
