"""`python bench/classroom.py --class`: thirty students in one class, with the board open.

One real server (a fresh SQLite database in a temporary `ZOL_DATA_DIR`, the default worker
count) and, in one Chromium:

1. A teacher context presses "Start a class" on the Class page, reads the join code and the
   teacher key, and opens the board (`/board?teacher=KEY`) in a tab that stays open to the end.
2. `--sessions` student contexts join through the join link (`/classroom?join=CODE`, nicknames
   "Student 01", ...), train a default run on the Train page (press "Train", wait for the
   "Test accuracy" metric) and, on the Draw page, draw a 1, a 0 and a 1 with the mouse (one
   stroke each, shaped a little differently per student: the store refuses one student's
   identical pixels twice), choose the digit meant and press "Add to the class set", each
   time until "once your teacher approves" shows. Once every student has pressed Train the
   browsers run at idle priority, as in the other mode (they stand in for the students' own
   computers).
3. The teacher reloads the Class page and presses "Approve all" until "Nothing to review" shows.
4. Last lines: `class_runs_on_board: K/N` (the board tab's "Finished a run" metric) and
   `class_drawings_on_board: K/3N` (its "Class drawings" metric), both cross-checked against
   the database's `board_snapshot`; `board_refresh_ms` and `peak_memory_gb` (the server tree's
   peak sum of PSS over the whole run, the other mode's sampler; target ≤ 2.0). `--runs N`
   adds the other mode's memory creep (`creep_mb`) after the class.

`board_refresh_ms` (target ≤ 50) is the median, over `REFRESH_REPEATS` refreshes, of the body
of the board page's `run_every` fragment with the final class: `board_snapshot` (its queries,
the class-set scores, the bundled model on the gallery) and the `ui/board.py` renderers, run in
this process against the same database file once the server has stopped (a quiet machine, so
the figure is the refresh's own cost). The renderers run in Streamlit's bare mode: each element
is built as in the server (the dataframes' Arrow tables, the chart's spec, the gallery's PNGs),
only not sent. That is what a timed refresh costs the server: a fragment rerun runs only the
fragment's body, while `AppTest` would add the whole page's run (the teacher-key check, the
header) and its own harness (a script thread, collecting the element tree). Not included: the
websocket send and the browser's drawing. The snapshot alone is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from bench.board_refresh import REFRESH_REPEATS, measure_board
from bench.class_browser import CANVAS, CHECK_TIMEOUT_MS, metric_value, wait_for_results
from bench.class_drawings import add_drawing, strokes
from bench.class_measure import (
    CREEP_TARGET_MB,
    MEMORY_TARGET_GB,
    MemorySampler,
    creep,
    set_browser_priority,
)
from bench.class_sessions import PAGES_LOADING_AT_ONCE, Countdown, SessionResult
from model.config import TrainConfig, describe
from model.limits import MAX_RUNS_PER_CLIENT_ENV
from store.database import DATA_DIR_ENV, DATABASE_URL_ENV, SQLITE_FILE
from tests.conftest import CHROMIUM_ARGS, chromium_path, start_server, stop_server

DRAWINGS_PER_STUDENT = 3
REFRESH_TARGET_MS = 50.0
# The browsers draw at idle priority while the last runs train: one step may wait minutes.
STEP_TIMEOUT_MS = 300_000
# Mouse strokes on a starved browser: drawing is paced by it, not by the server.
DRAWING_AT_ONCE = 4
WAITING = re.compile(r"(\d+) waiting")


@dataclass
class Student:
    index: int
    nickname: str
    trained: SessionResult
    answers: list[str] = field(default_factory=list)
    sent: int = 0
    error: str | None = None


@dataclass
class Progress:
    """How far the class got; printed as it goes, so a timeout still tells."""

    total: int
    started: float = field(default_factory=time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)

    def step(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1
        if self.counts[name] == self.total:
            self.note(f"{name}: {self.total}/{self.total}")

    def note(self, text: str) -> None:
        print(f"  [{time.monotonic() - self.started:6.1f} s] {text}", flush=True)


async def start_class(context, base: str) -> tuple[object, object, str, str]:
    """The teacher's Class page and board tabs, the join code and the teacher key."""
    from playwright.async_api import expect

    teacher = await context.new_page()
    teacher.set_default_timeout(STEP_TIMEOUT_MS)
    await teacher.goto(f"{base}/classroom")
    await teacher.get_by_role("button", name="Start a class").click()
    link = teacher.get_by_test_id("stCode").filter(has_text="join=").first
    await expect(link).to_be_visible()
    code = re.search(r"join=([A-Z0-9]{6})", await link.inner_text()).group(1)
    key = parse_qs(urlparse(teacher.url).query)["teacher"][0]
    board = await context.new_page()
    board.set_default_timeout(STEP_TIMEOUT_MS)
    await board.goto(f"{base}/board?teacher={key}")
    await expect(board.get_by_text("No approved drawing yet")).to_be_visible()
    return teacher, board, code, key


async def one_student(
    browser,
    base: str,
    code: str,
    student: Student,
    gates: dict[str, asyncio.Semaphore],
    countdowns: list[Countdown],
    progress: Progress,
    timeout: float,
) -> None:
    from playwright.async_api import expect

    loaded = countdowns[0]
    waiting = list(countdowns)
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    step = "joining"
    try:
        async with gates["loading"]:
            page = await context.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            await page.goto(f"{base}/classroom?join={code}")
            await page.get_by_role("textbox", name="A nickname").fill(student.nickname)
            await page.get_by_role("button", name="Join the class").click()
            await expect(page.get_by_text("You are in class")).to_be_visible()
            progress.step("joined")
            step = "opening the Train page"
            nav = page.locator(".st-key-page_menu")
            await nav.get_by_role("link", name="Train", exact=True).click()
            network = page.get_by_test_id("stMain").get_by_text(
                f"Network: {describe(TrainConfig())}"
            )
            await expect(network).to_be_visible()
        # As in the other mode, the class presses Train together: a tab already showing its
        # training would slow the later ones' joining, and the browsers go idle after it.
        waiting.pop(0).arrive()
        await loaded.done.wait()
        step = "pressing Train"
        student.trained.pressed_at = time.monotonic()
        await page.get_by_role("button", name="Train", exact=True).click()
        waiting.pop(0).arrive()
        step = "training"
        await wait_for_results(page, student.trained, timeout * 1000)
        progress.step("trained")
        step = "opening the Draw page"
        await nav.get_by_role("link", name="Draw", exact=True).click()
        await expect(page.locator(CANVAS)).to_be_visible(timeout=CHECK_TIMEOUT_MS)
        async with gates["drawing"]:
            for number, (digit, points) in enumerate(strokes(student.index)):
                step = f"drawing {number + 1}"
                student.answers.append(await add_drawing(page, digit, points, number == 0))
                student.sent += 1
        progress.step("sent 3 drawings")
    except Exception as error:
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        student.error = f"{step}: {type(error).__name__}: {first_line}"
        progress.note(f"{student.nickname}: {student.error}")
    finally:
        for countdown in waiting:
            countdown.arrive()
        await context.close()


async def approve_all(teacher) -> int:
    """Press "Approve all" on the teacher's Class page until nothing waits; the drawings it
    approved."""
    from playwright.async_api import expect

    await teacher.reload()
    caption = teacher.get_by_text(WAITING)
    nothing = teacher.get_by_text("Nothing to review")
    approved = 0
    while True:
        await expect(caption.or_(nothing).first).to_be_visible()
        if await nothing.count():
            return approved
        waiting = int(WAITING.search(await caption.inner_text()).group(1))
        await teacher.get_by_role("button", name=f"Approve all {waiting}").click()
        approved += waiting
        # The review reruns the list: wait for it to show what is left.
        await expect(teacher.get_by_role("button", name=f"Approve all {waiting}")).to_have_count(0)


async def board_counts(board, runs: int, drawings: int) -> tuple[str, str]:
    """The board tab's "Finished a run" and "Class drawings", once they reach the targets (or
    after a few refreshes without)."""
    from playwright.async_api import expect

    finished, shown = metric_value(board, "Finished a run"), metric_value(board, "Class drawings")
    for locator, target in ((finished, runs), (shown, drawings)):
        with contextlib.suppress(AssertionError):
            await expect(locator).to_have_text(str(target), timeout=CHECK_TIMEOUT_MS)
    return await finished.inner_text(), await shown.inner_text()


@dataclass
class ClassOutcome:
    key: str = ""
    students: list[Student] = field(default_factory=list)
    approved: int = 0
    board_runs: str = "?"
    board_drawings: str = "?"
    board_students: str = "?"


async def run_class(
    base: str, sessions: int, server_pid: int, idle: bool, timeout: float, outcome: ClassOutcome
) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    progress = Progress(sessions)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        try:
            teacher_context = await browser.new_context(viewport={"width": 1280, "height": 1000})
            teacher, board, code, outcome.key = await start_class(teacher_context, base)
            progress.note(f"class {code} started; the board tab is open")
            gates = {
                "loading": asyncio.Semaphore(PAGES_LOADING_AT_ONCE),
                "drawing": asyncio.Semaphore(DRAWING_AT_ONCE),
            }
            countdowns = [Countdown(sessions), Countdown(sessions)]
            outcome.students = [
                Student(index, f"Student {index + 1:02d}", SessionResult(index, ()))
                for index in range(sessions)
            ]
            students = asyncio.gather(
                *(
                    one_student(browser, base, code, student, gates, countdowns, progress, timeout)
                    for student in outcome.students
                )
            )
            await countdowns[1].done.wait()
            progress.note("every student has pressed Train")
            if idle:
                set_browser_priority(True, server_pid)
            await students
            progress.note("the students are done; the teacher approves")
            outcome.approved = await approve_all(teacher)
            progress.note(f"approved {outcome.approved}")
            sent = sum(student.sent for student in outcome.students)
            trained = sum(student.trained.results_at is not None for student in outcome.students)
            outcome.board_runs, outcome.board_drawings = await board_counts(board, trained, sent)
            outcome.board_students = await metric_value(board, "Students").inner_text()
        finally:
            await browser.close()


def main(args: argparse.Namespace, deadline: float) -> int:
    """The `--class` mode of bench/classroom.py (its parsed arguments)."""
    sessions = args.sessions
    outcome = ClassOutcome()
    with tempfile.TemporaryDirectory(prefix="zol-class-board-") as data_dir:
        server_env = {
            "ZOL_WORKERS": str(args.workers),
            DATA_DIR_ENV: data_dir,
            # A fresh SQLite file, whatever database this shell points at.
            DATABASE_URL_ENV: "",
            # Every browser here has the same address: the per-address cap would refuse the class.
            MAX_RUNS_PER_CLIENT_ENV: str(sessions + 1),
        }
        started = time.monotonic()
        process, base = start_server(env=server_env)
        try:
            with MemorySampler(process.pid) as sampler:
                phase = run_class(
                    base, sessions, process.pid, args.browser_idle, args.timeout, outcome
                )
                try:
                    asyncio.run(asyncio.wait_for(phase, max(1.0, deadline - time.monotonic())))
                except TimeoutError:
                    print(f"timed out after {args.timeout:.0f} s: the counts below are partial")
        finally:
            stop_server(process)
        print(f"class phase: {time.monotonic() - started:.0f} s")
        if not outcome.key:
            print("the class was never started")
            return 1
        snapshot, refresh_ms, snapshot_ms = measure_board(Path(data_dir) / SQLITE_FILE, outcome.key)
    students = outcome.students
    errors = [student for student in students if student.error]
    answers = [answer for student in students for answer in student.answers]
    meant = [digit for s in students for digit, _ in strokes(s.index)[: len(s.answers)]]
    trained = sorted(s.trained.seconds for s in students if s.trained.seconds is not None)
    print(f"students: {len(students)}, errors: {len(errors)}")
    for student in errors:
        print(f"  {student.nickname}: {student.error}")
    if trained:
        print(
            f"press Train to results: min {trained[0]:.1f} s, median "
            f"{statistics.median(trained):.1f} s, max {trained[-1]:.1f} s"
        )
    right = sum(answer == digit for answer, digit in zip(answers, meant, strict=True))
    print(f"Draw answers: {right}/{len(answers)} read as the digit meant")
    print(
        f"drawings sent: {sum(s.sent for s in students)}, approved by the teacher: {outcome.approved}"
    )
    print(
        f"board tab: Students {outcome.board_students}, Finished a run {outcome.board_runs}, "
        f"Class drawings {outcome.board_drawings}"
    )
    print(
        f"database (board_snapshot): {len(snapshot.roster)} students, {len(snapshot.runs)} shared "
        f"runs, {len(snapshot.gallery)} approved drawings, {snapshot.pending} pending"
    )
    print(
        f"board refresh: board_snapshot alone {snapshot_ms:.1f} ms, the renderers "
        f"{refresh_ms - snapshot_ms:.1f} ms (medians of {REFRESH_REPEATS})"
    )
    peak = sampler.peak
    parts = ", ".join(f"{name} {pss / 2**20:.0f}" for name, _, pss in peak.processes)
    print(f"peak memory, server + workers: {peak.pss / 2**30:.2f} GB (sum of PSS; MB: {parts})")
    creep_mb = 0.0
    if args.runs > 0:
        first, last = creep(args.runs, args.workers, deadline)
        creep_mb = (last.rss - first.rss) / 2**20
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.runs > 0:
        print(f"creep_mb: {creep_mb:.0f}")
    runs_ok = outcome.board_runs == str(sessions) == str(len(snapshot.runs))
    drawings = DRAWINGS_PER_STUDENT * sessions
    drawings_ok = outcome.board_drawings == str(drawings) == str(len(snapshot.gallery))
    print(f"class_runs_on_board: {outcome.board_runs}/{sessions}")
    print(f"class_drawings_on_board: {outcome.board_drawings}/{drawings}")
    print(f"board_refresh_ms: {refresh_ms:.1f}")
    print(f"peak_memory_gb: {peak.pss / 2**30:.2f}")
    ok = runs_ok and drawings_ok and refresh_ms <= REFRESH_TARGET_MS and not errors
    ok = ok and creep_mb <= CREEP_TARGET_MB
    return 0 if ok and peak.pss / 2**30 <= MEMORY_TARGET_GB else 1
