"""Lab store speed: checkpoints and lab loads under 30 concurrent writers, and what a rerun pays.

Run: `python bench/store.py` (PostgreSQL too when `ZOL_TEST_POSTGRES_URL` names a server, as
`.ci/run` sets it; its tables are dropped and made anew). For each database: thirty threads
each save checkpoints of the lesson's network (10,431 weights as `.npz`, 100 epochs of curves)
into one lab, while another thread loads a lab of 20 runs; beside it, the same thirty threads
write the same `.npz` bytes to files. Then, in Streamlit's AppTest, the time the store's code
takes inside a Train-page rerun while a run trains and inside a Draw-page rerun (the store's
functions are timed where the pages call them). Last lines: `store_checkpoint_p50_ms` (SQLite)
and `store_rerun_overhead_ms` (the larger of the two pages' medians; target at most 5 ms).
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ZOL_DATA_DIR", tempfile.mkdtemp(prefix="zol-bench-store-"))
os.environ.setdefault("ZOL_WORKERS", "1")
# The Train-page part trains a long run in AppTest: no cap of the server may refuse it.
os.environ.setdefault("ZOL_MAX_RUN_SECONDS", "86400")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from model.config import TrainConfig  # noqa: E402
from model.storage import weights_npz_bytes  # noqa: E402
from model.training import EpochLog  # noqa: E402
from store import labs as lab_store  # noqa: E402
from store import runs as run_store  # noqa: E402
from store.database import make_engine  # noqa: E402

WRITERS = 30
CHECKPOINTS_PER_WRITER = 20
LAB_RUNS = 20
LOADS = 40
RERUNS = 40
CONFIG = TrainConfig()


def lesson_weights(seed: int):
    from model.forward import NetworkWeights

    rng = np.random.default_rng(seed)
    sizes = [400, 25, 15, 1]
    kernels = tuple(
        rng.normal(size=(a, b)).astype(np.float32) for a, b in itertools.pairwise(sizes)
    )
    biases = tuple(np.zeros(b, np.float32) for b in sizes[1:])
    return NetworkWeights(kernels, biases, "sigmoid")


HISTORY = [EpochLog(epoch, 0.1, 0.99, 0.1, 0.99) for epoch in range(1, 101)]


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def in_threads(count: int, work: Callable[[int], list[float]]) -> list[float]:
    samples: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        measured = work(index)
        with lock:
            samples.extend(measured)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def bench_database(name: str, engine) -> float:
    lab = lab_store.create_lab(engine)
    runs = [run_store.add_run(engine, lab.id, CONFIG, "running") for _ in range(WRITERS)]
    reading = lab_store.create_lab(engine)
    for index in range(LAB_RUNS):
        stored = run_store.add_run(engine, reading.id, CONFIG, "queued")
        run_store.save_progress(
            engine,
            stored.id,
            status="done",
            first_epoch=1,
            history=HISTORY,
            weights=lesson_weights(index),
            test_accuracy=1.0,
            final=True,
        )
    weights = [lesson_weights(index) for index in range(WRITERS)]
    load_samples: list[float] = []
    writing = threading.Event()

    def loader() -> None:
        while writing.is_set() and len(load_samples) < LOADS:
            started = time.perf_counter()
            loaded = run_store.load_runs(engine, reading.id, heavy_run=stored.id)
            load_samples.append(time.perf_counter() - started)
            assert len(loaded) == LAB_RUNS

    def writer(index: int) -> list[float]:
        samples = []
        for _ in range(CHECKPOINTS_PER_WRITER):
            started = time.perf_counter()
            run_store.save_progress(
                engine,
                runs[index].id,
                status="running",
                first_epoch=1,
                history=HISTORY,
                weights=weights[index],
            )
            samples.append(time.perf_counter() - started)
        return samples

    writing.set()
    reader = threading.Thread(target=loader)
    reader.start()
    checkpoint_samples = in_threads(WRITERS, writer)
    writing.clear()
    reader.join()
    folder = Path(tempfile.mkdtemp(prefix="zol-bench-files-"))

    def file_writer(index: int) -> list[float]:
        samples = []
        for step in range(CHECKPOINTS_PER_WRITER):
            started = time.perf_counter()
            data = weights_npz_bytes(weights[index])
            (folder / f"{index}-{step % 2}.npz").write_bytes(data)
            samples.append(time.perf_counter() - started)
        return samples

    file_samples = in_threads(WRITERS, file_writer)
    checkpoint_p50, checkpoint_p99 = percentiles(checkpoint_samples)
    file_p50, file_p99 = percentiles(file_samples)
    print(
        f"{name}: checkpoint with {WRITERS} writers p50 {checkpoint_p50:.1f} ms, p99 {checkpoint_p99:.1f} ms"
    )
    print(f"{name}: same .npz bytes to a file p50 {file_p50:.2f} ms, p99 {file_p99:.2f} ms")
    print(f"{name}: checkpoint/file p50: {checkpoint_p50 / file_p50:.1f}")
    if load_samples:
        load_p50, load_p99 = percentiles(load_samples)
        print(
            f"{name}: load a lab of {LAB_RUNS} runs during the writes p50 {load_p50:.1f} ms, p99 {load_p99:.1f} ms"
        )
    return checkpoint_p50


class StoreTimer:
    """Sums the time spent in the store's code, wherever the pages call it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.patched: list[tuple[object, str, object]] = []

    def wrap(self, module: object, name: str) -> None:
        original = getattr(module, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        self.patched.append((module, name, original))
        setattr(module, name, timed)


def rerun_overhead() -> tuple[float, float, float, float]:
    from streamlit.testing.v1 import AppTest

    import ui.lab
    import ui.run_sync
    import ui.runs
    import ui.sidebar
    from model.data import load_bundled, split_indices
    from ui.runs import RUNS
    from ui.state import SENT_TO_DRAW, SentImage

    timer = StoreTimer()
    # Everything the pages call that reaches the lab or its database on a rerun.
    for module, name in (
        (ui.lab, "current_lab"),
        (ui.lab, "keep_lab_in_url"),
        (ui.lab, "show_lab_notices"),
        (ui.runs, "current_lab"),
        (ui.sidebar, "current_lab"),
        (ui.runs, "guarded"),
        (ui.run_sync, "guarded"),
    ):
        timer.wrap(module, name)
    app = str(ROOT / "app.py")

    def measure(at: AppTest) -> tuple[float, float]:
        store_ms, total_ms = [], []
        for _ in range(RERUNS):
            timer.seconds = 0.0
            started = time.perf_counter()
            at.run()
            total_ms.append((time.perf_counter() - started) * 1000)
            store_ms.append(timer.seconds * 1000)
        return statistics.median(store_ms), statistics.median(total_ms)

    train = AppTest.from_file(app, default_timeout=300)
    train.query_params["units"] = "8"
    train.query_params["epochs"] = "1000"
    train.query_params["batch"] = "1"
    train.switch_page("app_pages/train.py").run()
    train.button(key="train_button").click().run()
    from ui.job_pool import job_manager

    job_manager().wait_until_ready(300)
    if train.session_state[RUNS][-1].job_id is None:
        raise RuntimeError(f"the Train page did not start its run: {train.error}")
    train_store, train_total = measure(train)
    latest = train.session_state[RUNS][-1]
    if latest.job_id is None:
        raise RuntimeError(
            f"the run ended during the measurement: {latest.status} {latest.message}"
        )
    train.button(key="stop_button").click().run()

    dataset = load_bundled()
    row = split_indices(dataset.labels)["test"][0]
    draw = AppTest.from_file(app, default_timeout=300)
    draw.session_state[SENT_TO_DRAW] = SentImage(
        dataset.images[row], int(dataset.labels[row]), "a test image"
    )
    draw.switch_page("app_pages/draw.py").run()
    draw_store, draw_total = measure(draw)
    return train_store, train_total, draw_store, draw_total


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="zol-bench-sqlite-"))
    sqlite_p50 = bench_database("sqlite", make_engine(f"sqlite:///{folder / 'lab.sqlite3'}"))
    postgres_url = os.environ.get("ZOL_TEST_POSTGRES_URL")
    if postgres_url:
        from sqlalchemy import MetaData

        engine = make_engine(postgres_url)
        existing = MetaData()
        existing.reflect(engine)
        existing.drop_all(engine)
        engine.dispose()
        bench_database("postgresql", make_engine(postgres_url))
    else:
        print("postgresql: not measured (set ZOL_TEST_POSTGRES_URL to a server)")
    train_store, train_total, draw_store, draw_total = rerun_overhead()
    print(
        f"train page rerun while training: store {train_store:.2f} ms of {train_total:.0f} ms (medians)"
    )
    print(f"draw page rerun: store {draw_store:.2f} ms of {draw_total:.0f} ms (medians)")
    print(f"store_checkpoint_p50_ms: {sqlite_p50:.1f}")
    print(f"store_rerun_overhead_ms: {max(train_store, draw_store):.2f}")
    from model.jobs import shutdown_all

    shutdown_all()


if __name__ == "__main__":
    main()
