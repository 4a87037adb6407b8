"""Thirty writers at once in one lab, on both databases: nothing lost, no "database is locked"."""

from __future__ import annotations

import multiprocessing
import threading

from store import labs as lab_store
from store import runs as run_store
from store.database import make_engine
from tests.test_store import CONFIG, logs, weights

WRITERS = 30
CHECKPOINTS = 8


def train_one(engine, lab_id: str, seed: int) -> None:
    run = run_store.add_run(engine, lab_id, CONFIG.with_changes(seed=seed), "queued")
    for epoch in range(1, CHECKPOINTS + 1):
        run_store.save_progress(
            engine,
            run.id,
            status="running",
            first_epoch=1,
            history=logs(1, epoch),
            weights=weights(seed + epoch),
        )
    run_store.save_progress(
        engine,
        run.id,
        status="done",
        first_epoch=1,
        history=logs(1, CHECKPOINTS),
        weights=weights(seed),
        test_accuracy=1.0,
        final=True,
    )


def check_lab(engine, lab_id: str, expected: int) -> None:
    stored = run_store.load_runs(engine, lab_id)
    assert sorted(run.number for run in stored) == list(range(1, expected + 1))
    assert all(run.status == "done" and run.epochs_done == CHECKPOINTS for run in stored)
    assert sorted(run.config.seed for run in stored) == list(range(expected))


def test_thirty_threads_save_runs_and_checkpoints_into_one_lab_at_once(store_engine) -> None:
    lab = lab_store.create_lab(store_engine)
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS)

    def writer(seed: int) -> None:
        try:
            start.wait()
            train_one(store_engine, lab.id, seed)
        except BaseException as error:  # collected: an assertion in a thread would be lost
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    check_lab(store_engine, lab.id, WRITERS)


def process_writer(url: str, lab_id: str, seeds: list[int]) -> None:
    engine = make_engine(url)
    for seed in seeds:
        train_one(engine, lab_id, seed)
    engine.dispose()


def test_several_server_processes_write_into_one_lab_at_once(store_engine) -> None:
    url = store_engine.url.render_as_string(hide_password=False)
    lab = lab_store.create_lab(store_engine)
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=process_writer, args=(url, lab.id, list(range(start, WRITERS, 3))))
        for start in range(3)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [process.exitcode for process in processes] == [0, 0, 0]
    check_lab(store_engine, lab.id, WRITERS)
