"""In Chromium, two app servers on one PostgreSQL: a teacher on one, a student on the other,
from starting the class to the student's drawing approved on the projector's board."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import fresh_postgres_engine, postgres_url, start_server, stop_server
from tests.test_browser_draw import CANVAS, draw, line, prediction

pytestmark = pytest.mark.browser

TIMEOUT_MS = 60_000


def join_code(page: Page) -> str:
    link = page.get_by_test_id("stCode").filter(has_text="join=").first
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    return re.search(r"join=([A-Z0-9]{6})", link.inner_text()).group(1)


def test_a_teacher_and_a_student_on_two_servers_share_one_class(browser) -> None:
    fresh_postgres_engine().dispose()
    env = {"ZOL_WORKERS": "1", "ZOL_DATABASE_URL": postgres_url()}
    teacher_server, teacher_url = start_server(env=env)
    student_server, student_url = start_server(env=env)
    teacher_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    student_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        teacher = teacher_context.new_page()
        teacher.set_default_timeout(TIMEOUT_MS)
        teacher.goto(f"{teacher_url}/classroom")
        teacher.get_by_role("button", name="Start a class").click()
        code = join_code(teacher)
        expect(teacher.get_by_role("img").first).to_be_visible()
        board = teacher_context.new_page()
        board.set_default_timeout(TIMEOUT_MS)
        board.goto(teacher.url.replace("/classroom", "/board"))
        expect(board.get_by_text("No approved drawing yet")).to_be_visible()

        student = student_context.new_page()
        student.set_default_timeout(TIMEOUT_MS)
        student.goto(f"{student_url}/classroom?join={code}")
        nickname = student.get_by_role("textbox", name="A nickname")
        nickname.fill("<b>Ada</b>")
        student.get_by_role("button", name="Join the class").click()
        expect(student.get_by_text(re.compile("letters, digits"))).to_be_visible()
        nickname.fill("Ada L")
        student.get_by_role("button", name="Join the class").click()
        expect(student.get_by_text("You are in class")).to_be_visible()
        # The board, on the other server, lists the student by itself.
        # (A dataframe's cells are drawn on a canvas: its accessible cells stay hidden.) The
        # board refreshes every 4 s, which two servers' workers starting up slow down.
        expect(board.locator("td", has_text="Ada L").first).to_be_attached(timeout=TIMEOUT_MS)
        students = board.get_by_test_id("stMetric").filter(has_text="Students")
        expect(students.get_by_test_id("stMetricValue")).to_have_text("1")

        student.locator(".st-key-page_menu").get_by_role("link", name="Draw").click()
        canvas = student.locator(CANVAS)
        expect(canvas).to_be_visible()
        draw(student, canvas, line((140, 35), (140, 245)))
        expect(prediction(student)).to_have_text("1")
        student.get_by_test_id("stButtonGroup").get_by_text("1", exact=True).click()
        student.get_by_role("button", name="Add to the class set").click()
        expect(student.get_by_text(re.compile("once your teacher approves"))).to_be_visible()

        teacher.reload()
        expect(teacher.get_by_text(re.compile("Ada L meant"))).to_be_visible()
        teacher.get_by_role("button", name="Approve", exact=True).click()
        expect(teacher.get_by_text("Nothing to review")).to_be_visible()
        expect(
            board.get_by_text(re.compile(r"1 drawing; the bundled model reads 1"))
        ).to_be_visible()
    finally:
        teacher_context.close()
        student_context.close()
        stop_server(teacher_server)
        stop_server(student_server)
