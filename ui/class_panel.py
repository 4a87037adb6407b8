"""The Class page's parts: start or join a class, the teacher's controls, the student's view."""

from __future__ import annotations

import streamlit as st

from model.challenges import CHALLENGE_TITLES
from model.url_settings import decode_query
from store import class_board, class_rules
from store import classes as class_store
from store.class_rules import ClassSpace, Member
from ui.classroom import (
    BOARD_PAGE,
    JOIN_PARAM,
    TEACHER_KEY,
    TEACHER_PARAM,
    join_address,
    qr_png,
    run_class_action,
    teacher_address,
    teacher_class,
)
from ui.images import pixel_grid
from ui.lab import client_address, current_lab, guarded
from ui.navigation import page_link
from ui.share import forget_setup
from ui.text import plain

GALLERY_COLUMNS = 4
# Drawings reviewed one by one at a time; "Approve all" takes every waiting one.
MODERATION_SHOWN = 24
MODERATION_REFRESH_SECONDS = 10
# Each waiting drawing's buttons: label (its key's prefix), icon, and whether it approves.
REVIEW_BUTTONS = (("Approve", ":material/check:", True), ("Reject", ":material/close:", False))


def render_start_class() -> None:
    with st.container(border=True):
        st.markdown("**Teacher: start a class**")
        st.caption(
            "You get a join code and a QR code for the projector, a board that shows what "
            "the class tries, and a private link to moderate it. No account, nothing personal."
        )
        if st.button("Start a class", icon=":material/school:", key="start_class"):
            made = None
            try:
                made = guarded(class_store.create_class, None)
            except class_rules.ClassError as refused:
                st.error(str(refused), icon=":material/block:")
            if made is not None:
                st.session_state[TEACHER_KEY] = made[1]
                st.query_params[TEACHER_PARAM] = made[1]
                st.rerun()


def render_join_form() -> None:
    lab = current_lab()
    with st.form("join_class", border=True):
        st.markdown("**Student: join your class**")
        code = st.text_input(
            "Join code (on the projector)",
            value=st.query_params.get(JOIN_PARAM, ""),
            max_chars=12,
            key="join_code",
        )
        nickname = st.text_input(
            "A nickname (no real names needed)",
            max_chars=class_rules.NICKNAME_MAX,
            key="join_nickname",
            help="1 to 24 letters, digits, spaces, - or _. The whole class sees it.",
        )
        joined = st.form_submit_button("Join the class", icon=":material/group_add:")
    if not joined or lab is None:
        return
    client = client_address()
    if run_class_action(
        lambda engine: class_store.join(engine, code, lab.id, nickname, client=client),
        "You joined the class.",
        slow_down=class_rules.UnknownClass,
    ):
        st.query_params.pop(JOIN_PARAM, None)
        forget_setup()
        st.rerun()


def render_teacher(class_space: ClassSpace, key: str) -> None:
    code_column, qr_column = st.columns([3, 2])
    with code_column:
        st.markdown("Students open this app, go to **Class** and type the code:")
        st.markdown(
            f"<div style='font-size:4rem;font-weight:700;letter-spacing:0.3em'>"
            f"{class_space.join_code}</div>",
            unsafe_allow_html=True,
        )
        st.caption("Or they scan the QR code, or open the join link:")
        st.code(join_address(class_space), language=None)
        page_link(
            BOARD_PAGE,
            label="Open the class board (for the projector)",
            icon=":material/co_present:",
            query_params={TEACHER_PARAM: key},
        )
        with st.expander("Your private teacher link", icon=":material/key:"):
            st.code(teacher_address(key), language=None)
            st.caption(
                "Keep it to yourself: whoever has it moderates the class. Bookmark it to come "
                "back to the class later."
            )
    qr_column.image(qr_png(join_address(class_space)), caption="Scan to join", width=260)

    st.subheader("Settings")
    _render_settings(class_space, key)
    st.subheader("Drawings waiting for you")
    _render_moderation(class_space, key)
    st.subheader("Students")
    _render_roster(class_space, key)
    with st.expander("Delete the class", icon=":material/delete_forever:"):
        st.caption(
            "Deletes the class, its drawings and its board now. The students' own labs stay."
        )
        sure = st.checkbox("Yes, delete this class and all its data", key="confirm_delete_class")
        pressed = st.button(
            "Delete the class", disabled=not sure, type="primary", key="delete_class"
        )
        if pressed and run_class_action(lambda engine: class_store.delete_class(engine, key)):
            st.session_state.pop(TEACHER_KEY, None)
            st.query_params.pop(TEACHER_PARAM, None)
            st.rerun()


def _render_settings(class_space: ClassSpace, key: str) -> None:
    # Written only when the teacher changes them: a second tab's stale widget must not
    # undo what the first one set.
    st.toggle(
        "Joining is open",
        value=class_space.joining_open,
        key="joining_open",
        help="Close it once everyone is in: the code then lets nobody else join.",
        on_change=lambda: run_class_action(
            lambda engine: class_store.set_joining(engine, key, st.session_state["joining_open"])
        ),
    )
    challenges = list(CHALLENGE_TITLES)
    st.selectbox(
        "The class challenge",
        challenges,
        index=challenges.index(class_space.challenge),
        format_func=CHALLENGE_TITLES.get,
        key="class_challenge",
        on_change=lambda: run_class_action(
            lambda engine: class_store.set_challenge(
                engine, key, st.session_state["class_challenge"]
            )
        ),
    )
    st.markdown("**The Train page students get when they join**")
    if class_space.train_link:
        st.code(class_space.train_link, language=None)
    else:
        st.caption("None yet: students start from the lesson's settings with every control.")
    st.caption(
        "To change it: set the Train page up, open its 'Teacher: a link for my class', choose "
        "the controls to hide and press 'Use this setup for my class'."
    )
    if st.button("Remove it", key="clear_train_link", disabled=not class_space.train_link):
        run_class_action(lambda engine: class_store.set_train_link(engine, key, None))
        st.rerun()
    if class_space.train_link:
        for notice in decode_query(class_space.train_link).notices:
            st.warning(notice, icon=":material/link_off:")


@st.fragment(run_every=MODERATION_REFRESH_SECONDS)
def _render_moderation(class_space: ClassSpace, key: str) -> None:
    """The drawings waiting for review; it follows new ones by itself, and a review reruns
    only this part of the page."""
    pending = guarded(
        lambda engine: class_board.class_drawings(engine, class_space.id, "pending"), []
    )
    if not pending:
        st.caption("Nothing to review. Students add drawings from the Draw page.")
        return
    shown = pending[:MODERATION_SHOWN]
    more = f" (the first {len(shown)} are shown)" if len(pending) > len(shown) else ""
    st.caption(
        f"{len(pending)} waiting{more}. Only approved drawings reach the board and the class set."
    )
    # Reviews happen in the buttons' callbacks, before the list is drawn again.
    st.button(
        f"Approve all {len(pending)}",
        key="approve_all",
        icon=":material/done_all:",
        on_click=_review,
        args=(key, [drawing.id for drawing in pending], True),
    )
    for start in range(0, len(shown), GALLERY_COLUMNS):
        for column, drawing in zip(
            st.columns(GALLERY_COLUMNS), shown[start : start + GALLERY_COLUMNS], strict=False
        ):
            with column:
                st.image(pixel_grid(drawing.pixels, 5))
                st.markdown(f"{plain(drawing.nickname)} meant **{drawing.label}**")
                for place, (label, icon, approve) in zip(
                    st.columns(2), REVIEW_BUTTONS, strict=True
                ):
                    place.button(
                        label,
                        key=f"{label.lower()}_{drawing.id}",
                        icon=icon,
                        on_click=_review,
                        args=(key, [drawing.id], approve),
                    )


def _review(key: str, drawing_ids: list[int], approve: bool) -> None:
    run_class_action(
        lambda engine: [
            class_board.review_drawing(engine, key, drawing_id, approve)
            for drawing_id in drawing_ids
        ]
    )


def _render_roster(class_space: ClassSpace, key: str) -> None:
    entries = guarded(lambda engine: class_board.roster(engine, class_space.id), [])
    if not entries:
        st.caption("Nobody has joined yet.")
        return
    st.dataframe(
        [
            {
                "Nickname": entry.nickname,
                "State": _state_text(entry),
                "Shares runs": entry.share_runs,
            }
            for entry in entries
        ],
        hide_index=True,
        width="stretch",
    )
    by_lab = {entry.lab_id: entry.nickname for entry in entries}
    with st.form("remove_student"):
        removed = st.selectbox(
            "Remove a student's entry (their drawings go too; their own lab stays)",
            list(by_lab),
            format_func=by_lab.get,
            index=None,
            key="remove_student_choice",
        )
        pressed = st.form_submit_button("Remove", icon=":material/person_remove:")
        if (
            pressed
            and removed
            and run_class_action(
                lambda engine: class_store.remove_member(engine, key, removed),
                "Removed from the class.",
            )
        ):
            st.rerun()


def _state_text(entry: class_rules.RosterEntry) -> str:
    if entry.state == "training":
        return "training" if entry.epoch is None else f"training · epoch {entry.epoch}"
    return entry.state


def render_student(class_space: ClassSpace, member: Member) -> None:
    st.success(
        f"You are in class **{class_space.join_code}** as **{plain(member.nickname)}**.",
        icon=":material/groups:",
    )
    st.toggle(
        "Share my finished runs with the class",
        value=member.share_runs,
        key="share_runs",
        help="Shared: the board shows each finished run's settings and accuracy, by nickname.",
        on_change=lambda: run_class_action(
            lambda engine: class_store.set_sharing(
                engine, member.lab_id, st.session_state["share_runs"]
            )
        ),
    )
    page_link(BOARD_PAGE, label="See the class board", icon=":material/co_present:")
    page_link("app_pages/draw.py", label="Draw a digit for the class set", icon=":material/draw:")
    mine = guarded(lambda engine: class_board.my_drawings(engine, member.lab_id), [])
    if mine:
        st.markdown("**Your drawings for the class set**")
        for start in range(0, len(mine), GALLERY_COLUMNS):
            for column, drawing in zip(
                st.columns(GALLERY_COLUMNS), mine[start : start + GALLERY_COLUMNS], strict=False
            ):
                column.image(pixel_grid(drawing.pixels, 4))
                column.caption(f"meant {drawing.label} · {drawing.status}")
    pressed = st.button("Leave the class", icon=":material/logout:", key="leave_class")
    if pressed and run_class_action(
        lambda engine: class_store.leave(engine, member.lab_id),
        "You left the class; your lab stays as it is.",
    ):
        st.rerun()


def render_attach_setup(query: str) -> None:
    """On the Train page, for a teacher: make this setup the one students get when they join."""
    taught = teacher_class()
    if taught is None:
        return
    class_space, key = taught
    pressed = st.button(
        f"Use this setup for my class {class_space.join_code}",
        key="attach_train_link",
        icon=":material/school:",
        disabled=query == class_space.train_link,
    )
    if pressed and run_class_action(
        lambda engine: class_store.set_train_link(engine, key, query),
        "Students who join now get this setup.",
    ):
        st.rerun()
