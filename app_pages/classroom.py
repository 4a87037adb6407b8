"""Class: a teacher starts and moderates a class; a student joins it with a code and a nickname."""

import streamlit as st

from ui.class_panel import render_join_form, render_start_class, render_student, render_teacher
from ui.classroom import NO_DATABASE_MESSAGE, my_membership, teacher_class
from ui.lab import database

st.title("Class")
if database() is None:
    st.error(NO_DATABASE_MESSAGE, icon=":material/cloud_off:")
    st.stop()

taught = teacher_class(keep_in_url=True)
if taught is not None:
    render_teacher(*taught)
    st.stop()

joined = my_membership()
if joined is not None:
    render_student(*joined)
else:
    st.markdown(
        "Learn together: the class's runs land on one board for the projector, and the "
        "class's own handwriting becomes a test set, and training data, for everyone."
    )
    join_column, start_column = st.columns(2)
    with join_column:
        render_join_form()
    with start_column:
        render_start_class()
