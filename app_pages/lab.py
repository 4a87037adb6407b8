"""My lab: the resume code, another lab or a fresh one, the lab file, kept runs and drawings, deletion."""

import streamlit as st

from store.drawings import MAX_DRAWINGS_PER_LAB
from store.labs import retention_days
from store.runs import MAX_RUNS_PER_LAB
from ui.lab import current_lab
from ui.lab_panel import (
    render_delete_lab,
    render_download,
    render_drawings,
    render_fresh_lab,
    render_import,
    render_open_by_code,
    render_runs,
    show_message,
)

st.title("My lab")
show_message()
lab = current_lab()
if lab is None:
    st.warning(
        "There is no lab database on this server, so nothing is kept beyond this tab.",
        icon=":material/cloud_off:",
    )
    st.stop()

st.markdown(
    "Your runs, trained models and kept drawings are saved in your lab as you go: reloading "
    "the page, closing the tab or a server restart brings them back. No account and nothing "
    "personal: the lab is found by the secret id in the address bar (bookmark it) or by its "
    "resume code."
)
code_column, open_column = st.columns(2)
with code_column:
    st.subheader("Your resume code")
    st.code(lab.code, language=None)
    st.caption(
        "Type it on another device to open this lab. Keep it, and the address bar, to "
        "yourself: anyone with either can open your lab. To share settings, use the Train "
        "page's link instead."
    )
    render_fresh_lab()
with open_column:
    st.subheader("Open another lab")
    render_open_by_code()

st.subheader("Lab file")
st.caption(
    "One file with every run (settings, curves, weights) and your kept drawings: a zip of "
    "JSON and .npz files. Opening one adds its contents to this lab."
)
render_download(lab)
render_import(lab)

st.subheader("Runs")
render_runs(lab)

st.subheader("Kept drawings")
render_drawings(lab)

st.subheader("Delete")
render_delete_lab(lab)

with st.expander("What is kept, where, and for how long"):
    st.markdown(
        f"- **Kept:** each run's settings, loss and accuracy per epoch, latest weights, the "
        "optimizer's state (so Continue resumes exactly), test accuracy and `.keras` file; "
        "which model answers on the Draw page; the drawings you chose to keep, with the "
        f"digit you meant. At most {MAX_RUNS_PER_LAB} runs and {MAX_DRAWINGS_PER_LAB} "
        "drawings per lab.\n"
        "- **Not kept:** anything about you. No name, e-mail, account or address is asked "
        "for or stored.\n"
        "- **Where:** in this server's lab database.\n"
        f"- **For how long:** a lab nobody opens for {retention_days():g} days is deleted "
        "automatically; **Delete my lab** removes it at once."
    )
