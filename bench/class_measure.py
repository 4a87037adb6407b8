"""The server tree's memory and CPU time, the browsers' CPU priority, and memory creep."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.class_sessions import FIRST_CLASS_UNITS
from model.config import TrainConfig
from model.jobs import DONE, JobManager, JobRequest, configured_jobs_per_worker

SAMPLE_SECONDS = 0.2
# Set in the copy of this benchmark that runs in a session of its own: lowering the CPU share
# of the session Playwright's driver runs in must not lower the user's terminal's.
OWN_SESSION_ENV = "ZOL_BENCH_OWN_SESSION"
QUIET_CPU_PERCENT = 15.0
QUIET_TIMEOUT = 60.0
JOB_TIMEOUT = 600.0
CREEP_FIRST_RUN = 10
MEMORY_TARGET_GB, CREEP_TARGET_MB = 2.0, 100.0


@dataclass(frozen=True)
class TreeMemory:
    """Resident memory of a process tree: the sum of RSS counts each shared page once per
    process that maps it (TensorFlow's libraries in every worker); the sum of PSS splits
    shared pages between those processes, so it is what the tree occupies in RAM."""

    rss: int
    pss: int
    processes: tuple[tuple[str, int, int], ...] = ()


def tree_memory(root: psutil.Process) -> TreeMemory:
    """Memory of a process and all its descendants (those alive at this moment)."""
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return TreeMemory(0, 0)
    rows = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = process.memory_full_info()
            rows.append((process_label(process, root), info.rss, info.pss))
    return TreeMemory(sum(r[1] for r in rows), sum(r[2] for r in rows), tuple(rows))


def process_label(process: psutil.Process, root: psutil.Process) -> str:
    if process.pid == root.pid:
        return "main"
    command = " ".join(process.cmdline())
    return "resource tracker" if "resource_tracker" in command else "worker"


class MemorySampler:
    """Samples a process tree's memory on a thread and keeps the peaks, and each process's
    CPU time as last seen (so recycled workers still count)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak_rss = 0
        self.peak = TreeMemory(0, 0)
        self._cpu_seconds: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by the server ("main") and by all its workers together."""
        totals: dict[str, float] = {}
        for label, seconds in list(self._cpu_seconds.values()):
            totals[label] = totals.get(label, 0.0) + seconds
        return totals

    def _sample_cpu(self) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            for process in [self.root, *self.root.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    times = process.cpu_times()
                    label = process_label(process, self.root)
                    self._cpu_seconds[process.pid] = (label, times.user + times.system)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample_cpu()
            sample = tree_memory(self.root)
            self.peak_rss = max(self.peak_rss, sample.rss)
            if sample.pss > self.peak.pss:
                self.peak = sample
            self._stop.wait(SAMPLE_SECONDS)


def wait_until_quiet(pid: int) -> None:
    """Until the server and its workers are nearly idle (workers compile while idle)."""
    root = psutil.Process(pid)
    deadline = time.monotonic() + QUIET_TIMEOUT
    while time.monotonic() < deadline:
        processes = [root, *root.children(recursive=True)]
        for process in processes:
            process.cpu_percent(None)
        time.sleep(1.0)
        busy = 0.0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                busy += process.cpu_percent(None)
        if busy < QUIET_CPU_PERCENT:
            return


def set_browser_priority(idle: bool, server_pid: int) -> None:
    """Put every thread of Playwright's driver and Chromium under SCHED_IDLE (or back), and
    their autogroups at nice 19 (or 0).

    Linux shares the CPU fairly between sessions (autogroups) before it looks at priorities
    inside one; the browser runs in a session of its own, so without the autogroup's nice it
    would take half the machine whatever its threads' policy. Chromium sets its renderers'
    nice values itself; under SCHED_IDLE nice is ignored. New threads and renderers forked
    later inherit the policy.
    """
    policy = os.SCHED_IDLE if idle else os.SCHED_OTHER
    server = psutil.Process(server_pid)
    skip = {server_pid, *(child.pid for child in server.children(recursive=True))}
    own_group = autogroup(os.getpid())
    if os.environ.get(OWN_SESSION_ENV) == "1":
        # This process and Playwright's driver, which serves all the browsers' pages.
        own_group = None
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text("19" if idle else "0")
    for process in psutil.Process().children(recursive=True):
        if process.pid in skip:
            continue
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            for thread in process.threads():
                os.sched_setscheduler(thread.id, policy, os.sched_param(0))
        group = autogroup(process.pid)
        # Not the user's terminal's session (see `OWN_SESSION_ENV`).
        if group is not None and group != own_group:
            with contextlib.suppress(OSError):
                Path(f"/proc/{process.pid}/autogroup").write_text("19" if idle else "0")


def autogroup(pid: int) -> str | None:
    """The process's autogroup (its session's CPU share), e.g. "/autogroup-42"; None if unknown."""
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().split()[0]
    except (OSError, IndexError):
        return None


def creep(runs: int, workers: int, deadline: float) -> tuple[TreeMemory, TreeMemory]:
    """This process tree's memory with an idle pool after run 10 and after the last run."""
    manager = JobManager(workers=workers, jobs_per_worker=configured_jobs_per_worker())
    me = psutil.Process()
    measured: dict[int, TreeMemory] = {}
    try:
        if not manager.wait_until_ready(max(1.0, deadline - time.monotonic())):
            raise RuntimeError("the worker pool did not start")
        for number in range(1, runs + 1):
            config = TrainConfig(hidden_units=(FIRST_CLASS_UNITS + number % 30, 15), seed=number)
            job_id = manager.submit(JobRequest(config), "creep")
            left = max(1.0, deadline - time.monotonic())
            view = manager.wait(job_id, lambda view: view.finished, min(left, JOB_TIMEOUT))
            if view is None or view.state != DONE:
                raise RuntimeError(f"run {number} did not finish: {view and view.state}")
            manager.forget(job_id)
            if number in (min(CREEP_FIRST_RUN, runs), runs):
                manager.wait_until_ready(max(1.0, deadline - time.monotonic()))
                measured[number] = tree_memory(me)
        return measured[min(CREEP_FIRST_RUN, runs)], measured[runs]
    finally:
        manager.shutdown()
