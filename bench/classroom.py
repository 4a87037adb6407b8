"""A class of thirty on one server: concurrent Train and Draw sessions, peak memory, memory creep.

Run from the project root: `python bench/classroom.py` (a quick check: `--sessions 5 --runs 20`).
It starts the real server (`streamlit run app.py`, the default worker count) and, in one run:

1. Times a session alone, three times (median), each with a network shape the workers have
   not seen, as the class's are: open `/train?...`, press Train (100 epochs), wait for the
   results.
2. Opens `--sessions` sessions at once, each on `/train?units=<10+i>,15&seed=<100+i>`,
   presses Train in all of them together, waits for each one's results and checks they belong
   to that session (its own unit count in the network line, the parameter total, the sidebar
   and the Draw page's "Answering now"), then draws a 1 on the Draw page and reads the answer.
   Makespan against the ideal, sessions × the single run's time / workers, both measured by
   the server (its job log, `ZOL_JOB_LOG`: first class job submitted to last one finished;
   the single run from submit to finish): target `makespan/ideal` ≤ 1.2. And
   `makespan/numpy_ideal`: the same makespan against sessions × the NumPy reference trainer's
   run (bench/train_speed.py, timed here before the server starts) / workers; target ≤ 1.0.
   The same ratio as the learners saw it (first press to last results shown) is printed too.
3. Samples the resident memory of the server and all its worker processes every 0.2 s through
   both phases. `peak_memory_gb` is the peak sum of PSS (each shared page split between the
   processes mapping it, i.e. the RAM the tree occupies, as a container's limit counts it);
   the sum of RSS, which counts TensorFlow's shared libraries once per worker, is printed
   too. Target `peak_memory_gb` ≤ 2.0.
4. Memory creep: `--runs` training runs one after another through a JobManager like the
   server's (same workers, same jobs-per-worker recycling), total RSS of the process tree once
   the pool is idle after run 10 and after the last run. Target `creep_mb` ≤ 100.

The learners are headless sessions (`bench/headless.py`): each speaks the page's own websocket
protocol as a browser tab does (the page run with its URL, the Train button's trigger, the
fragment reruns the page schedules at its intervals, the canvas's PNG of a drawn 1) and
renders nothing, so the server does a class's work while the students' own computers, which
render the pages in a real class, cost this machine almost nothing. `--browsers` drives
Chromium tabs instead (Playwright; the real page, mouse strokes on the real canvas): on two
cores thirty renderers take most of the CPU from the server, so that measures this machine.
With `--browsers`, once every session has pressed Train, Chromium and Playwright's driver run
under SCHED_IDLE in sessions (autogroups) at nice 19 (`--no-browser-idle` to switch that off);
for that the benchmark reruns itself in a new session, leaving the terminal's alone.

`--class`: thirty students in one class with the board open, the teacher approving their
drawings, in Chromium (bench/class_board.py has the details and the last lines).
`--runs 0` skips the memory creep.
`--hogs 2`: before the class, two sessions start the most work the page allows (1000 epochs
of 128-128-128 at batch 1; the server's run cap is lifted for them) and keep training; the
other sessions are the class. Last lines: `hog_makespan/ideal` (the class's makespan against
its ideal, target ≤ 1.3), `late_arrival_wait_max_s` (before the class, three learners press
Train one at a time while the hogs hold every worker: the longest submit to first slice;
target ≤ 3), `first_epoch_wait_p95_s` (95th percentile of the class's submit to first slice,
from the job log; target ≤ 3) and `hog_epochs_done` (> 0).
Everything is bounded by `--timeout`; the server, its workers and any browser are stopped
on every exit path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from model.jobs import (  # noqa: E402
    JOB_LOG_ENV,
    configured_jobs_per_worker,
    configured_workers,
)

# Read before tests.conftest is imported: it defaults ZOL_WORKERS to 1 for the test suite.
SERVER_WORKERS = configured_workers()

from bench.class_headless import HeadlessTabs  # noqa: E402
from bench.class_measure import (  # noqa: E402
    CREEP_FIRST_RUN,
    CREEP_TARGET_MB,
    MEMORY_TARGET_GB,
    OWN_SESSION_ENV,
    MemorySampler,
    creep,
    set_browser_priority,
    wait_until_quiet,
)
from bench.class_report import (  # noqa: E402
    read_job_log,
    report_classroom,
    report_hogs,
    report_server_side,
)
from bench.class_sessions import (  # noqa: E402
    PAGES_LOADING_AT_ONCE,
    Countdown,
    SessionResult,
    Tabs,
    late_arrivals,
    one_learner,
    single_run,
    start_hog,
)
from model.jobs.dispatch import ORPHAN_GRACE_ENV  # noqa: E402
from model.limits import MAX_RUN_SECONDS_ENV, MAX_RUNS_PER_CLIENT_ENV  # noqa: E402
from tests.conftest import CHROMIUM_ARGS, chromium_path, start_server, stop_server  # noqa: E402

STARVED_TAB_GRACE_SECONDS = 900
MAKESPAN_TARGET, NUMPY_MAKESPAN_TARGET = 1.2, 1.0
NUMPY_REPEATS = 3
# `--hogs`: the server's run cap lifted for the hogs' runs (bench/class_sessions.py); targets
# for the class that trains beside them.
HOG_RUN_CAP_SECONDS = "86400"
HOG_MAKESPAN_TARGET, FIRST_EPOCH_WAIT_TARGET_S = 1.3, 3.0


async def classroom(
    tabs: Tabs,
    sessions: int,
    hogs: int,
    timeout: float,
    sampler: MemorySampler,
    on_all_pressed=None,
) -> tuple[float, list[SessionResult]]:
    """The single runs, the hogs and late arrivals (with `hogs`), then the class; each
    learner in a session of its own. `on_all_pressed` runs once every learner has pressed."""
    single = await single_run(tabs, timeout)
    await asyncio.to_thread(wait_until_quiet, sampler.root.pid)
    hog_tabs = [await start_hog(tabs, index) for index in range(hogs)]
    if hog_tabs:
        await late_arrivals(tabs, timeout)
    cpu_before = sampler.cpu_seconds()
    loaded, pressed = Countdown(sessions), Countdown(sessions)
    loading = asyncio.Semaphore(PAGES_LOADING_AT_ONCE)
    learners = asyncio.gather(
        *(one_learner(tabs, index, loading, loaded, pressed, timeout) for index in range(sessions))
    )
    await pressed.done.wait()
    if on_all_pressed is not None:
        on_all_pressed()
    results = await learners
    cpu_after = sampler.cpu_seconds()
    for tab in hog_tabs:
        await tab.close()
    for label in sorted(cpu_after):
        used = cpu_after[label] - cpu_before.get(label, 0.0)
        print(f"CPU time during the class, {label}: {used:.0f} s")
    return single, results


async def headless_classroom(base: str, *args) -> tuple[float, list[SessionResult]]:
    return await classroom(HeadlessTabs(base), *args)


async def browser_classroom(
    base: str, *args, idle: bool, server_pid: int
) -> tuple[float, list[SessionResult]]:
    """The class in Chromium tabs; with `idle`, the browsers only watch once every learner
    has pressed Train, on CPU time the training leaves spare."""
    from playwright.async_api import async_playwright, expect

    from bench.class_browser import PAGE_TIMEOUT_MS, BrowserTabs

    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    playwright = await async_playwright().start()
    try:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        try:
            on_all_pressed = (lambda: set_browser_priority(True, server_pid)) if idle else None
            return await classroom(BrowserTabs(browser, base), *args, on_all_pressed)
        finally:
            await browser.close()
    finally:
        await playwright.stop()


def numpy_runs(repeats: int = NUMPY_REPEATS) -> list[float]:
    """Seconds of the NumPy reference trainer (bench/train_speed.py) for one default run, each
    of `repeats` runs."""
    from bench.train_speed import train_numpy
    from model.data import load_splits

    splits = load_splits()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        train_numpy(splits)
        seconds.append(time.perf_counter() - started)
    return seconds


def run_in_own_session(workers: int) -> int:
    """Run this benchmark again in a new session and return its exit code; Ctrl-C reaches it."""
    child = subprocess.Popen(
        # The worker count explicitly: tests.conftest has set ZOL_WORKERS in this process.
        [sys.executable, *sys.argv, "--workers", str(workers)],
        env={**os.environ, OWN_SESSION_ENV: "1"},
        start_new_session=True,
    )
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        return child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument(
        "--runs", type=int, default=100, help="runs of the memory-creep part (0: skip it)"
    )
    parser.add_argument(
        "--hogs", type=int, default=0, help="sessions that first start maximum-work runs"
    )
    parser.add_argument("--workers", type=int, default=SERVER_WORKERS)
    parser.add_argument(
        "--class", dest="class_mode", action="store_true", help="one class (bench/class_board.py)"
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for everything")
    parser.add_argument(
        "--browsers",
        action="store_true",
        help="drive each learner's page in a Chromium tab on this machine (default: headless sessions)",
    )
    parser.add_argument(
        "--browser-idle",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the browsers at idle CPU priority (they stand in for the students' computers)",
    )
    args = parser.parse_args()
    if args.browsers and args.browser_idle and os.environ.get(OWN_SESSION_ENV) != "1":
        return run_in_own_session(args.workers)
    deadline = time.monotonic() + args.timeout
    os.chdir(PROJECT_ROOT)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.class_mode:
        from bench.class_board import main as class_main

        return class_main(args, deadline)
    with tempfile.TemporaryDirectory(prefix="zol-classroom-") as log_dir:
        job_log = Path(log_dir) / "jobs.csv"
        server_env = {"ZOL_WORKERS": str(args.workers), JOB_LOG_ENV: str(job_log)}
        # Every browser here has the same address: the per-address cap would refuse the class.
        server_env[MAX_RUNS_PER_CLIENT_ENV] = str(args.sessions + 1)
        if args.browsers:
            # Starved of CPU on purpose, these tabs can miss the websocket's pings for longer
            # than the pool's grace for a disconnected tab (a student's own computer keeps up).
            server_env[ORPHAN_GRACE_ENV] = str(STARVED_TAB_GRACE_SECONDS)
        if args.hogs:
            server_env[MAX_RUN_SECONDS_ENV] = HOG_RUN_CAP_SECONDS
        numpy_seconds = numpy_runs()
        class_size = args.sessions - args.hogs
        process, base = start_server(env=server_env)
        try:
            with MemorySampler(process.pid) as sampler:
                phase_args = (class_size, args.hogs, args.timeout, sampler)
                if args.browsers:
                    phase = browser_classroom(
                        base, *phase_args, idle=args.browser_idle, server_pid=process.pid
                    )
                else:
                    phase = headless_classroom(base, *phase_args)
                single, results = asyncio.run(
                    asyncio.wait_for(phase, max(1.0, deadline - time.monotonic()))
                )
        finally:
            stop_server(process)
        jobs = read_job_log(job_log)
    # Timed before the server starts and after it stops: this shared machine's speed drifts
    # by a fifth over minutes, and the class runs between the two.
    numpy_seconds += numpy_runs()
    numpy_single = statistics.median(numpy_seconds)
    peak_gb = report_classroom(single, results, args.workers, sampler)
    ratio, makespan = report_server_side(jobs, class_size, args.workers, args.hogs)
    numpy_ideal = class_size * numpy_single / args.workers
    creep_mb = 0.0
    if args.runs > 0:
        first, last = creep(args.runs, args.workers, deadline)
        creep_mb = (last.rss - first.rss) / 2**20
        print(
            f"memory creep, sum of RSS (PSS): {first.rss / 2**20:.0f} ({first.pss / 2**20:.0f}) MB "
            f"after run {min(CREEP_FIRST_RUN, args.runs)}, {last.rss / 2**20:.0f} "
            f"({last.pss / 2**20:.0f}) MB after run {args.runs} (this process and "
            f"{args.workers} workers recycled every {configured_jobs_per_worker()} jobs)"
        )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"NumPy reference run: {numpy_single:.2f} s (median of {len(numpy_seconds)}, half before "
        f"the server started, half after it stopped); ideal {class_size} × that / "
        f"{args.workers} = {numpy_ideal:.1f} s"
    )
    print(f"makespan/ideal: {ratio:.2f}")
    print(f"makespan/numpy_ideal: {makespan / numpy_ideal:.2f}")
    print(f"peak_memory_gb: {peak_gb:.2f}")
    if args.runs > 0:
        print(f"creep_mb: {creep_mb:.0f}")
    ok = (
        all(r.error is None and not r.leaks for r in results)
        and peak_gb <= MEMORY_TARGET_GB
        and creep_mb <= CREEP_TARGET_MB
    )
    if not args.hogs:
        ok = ok and ratio <= MAKESPAN_TARGET and makespan / numpy_ideal <= NUMPY_MAKESPAN_TARGET
    else:
        hog_epochs, wait_p95, late_max = report_hogs(jobs, class_size, args.hogs)
        print(f"hog_makespan/ideal: {ratio:.2f}")
        print(f"late_arrival_wait_max_s: {late_max:.2f}")
        print(f"first_epoch_wait_p95_s: {wait_p95:.2f}")
        print(f"hog_epochs_done: {hog_epochs}")
        ok = ok and ratio <= HOG_MAKESPAN_TARGET and wait_p95 <= FIRST_EPOCH_WAIT_TARGET_S
        ok = ok and late_max <= FIRST_EPOCH_WAIT_TARGET_S
        ok = ok and hog_epochs > 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
