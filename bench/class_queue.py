"""The training queue alone: a class's thirty runs behind two long runs, with no browsers.

Run: `python bench/class_queue.py`. A job pool like the server's (`--workers`, default 2) times three
default runs alone (each a network shape of its own, median), starts `--hogs` runs of the most
work the page allows (1000 epochs of 128-128-120+i at batch 1), lets them train past the first
service band, and submits the class's default runs at once (units 10+i, 15, seed 100+i, as
`bench/classroom.py` does). `bench/classroom.py --hogs` measures the same through 30 browsers,
which on a 2-core machine compete with the workers for the CPU; this measures the scheduler and
the engine. Prints the class's makespan against sessions × the single run / workers, the
class's submit-to-first-slice waits, each hog's epochs, and last `queue_makespan/ideal: R`
(target 1.3, as `hog_makespan/ideal`) and `queue_first_slice_wait_p95_s: X`.

`--augment`: the hogs also ask for the augmented copies (25 times the images, the most the page
allows; the server's run cap is lifted for them, as `bench/classroom.py --hogs` lifts it), and
the class arrives while their workers are still making the copies, a minute of Pillow each.
Then the benchmark waits for each hog's first epoch after the class (they go on) and prints
`hogs_first_epoch_after_class_s`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import TrainConfig
from model.jobs import DONE, JobManager, JobRequest
from model.jobs.policy import SERVICE_BANDS
from model.limits import Limits

READY_TIMEOUT = 300.0
CLASS_TIMEOUT = 900.0
# Each in a padded width of its own (`model.config.padded_units`: 48-32, 48-48, 48-64), none the
# class's (16, 32 or 48 wide, then 16), as costly as a 40-unit class run: each single is fresh.
SINGLE_UNITS = ((40, 20), (40, 36), (40, 52))
HOG_UNITS, HOG_EPOCHS = (128, 128, 120), 1000
# `--augment`: no cap on the hogs' estimated work (about 50 min each here).
HOG_LIMITS = Limits(max_run_seconds=86_400.0)
MAKESPAN_TARGET = 1.3
POLL_SECONDS = 0.02


def single_run(manager: JobManager, units: tuple[int, ...]) -> float:
    started = time.monotonic()
    job_id = manager.submit(JobRequest(TrainConfig(hidden_units=units)), "single")
    view = manager.wait(job_id, lambda view: view.finished, READY_TIMEOUT)
    if view is None or view.state != DONE:
        raise RuntimeError(f"the single run ended {view and view.state}")
    manager.forget(job_id)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=28)
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--augment", action="store_true", help="hogs with augmented copies, still making them"
    )
    args = parser.parse_args()
    manager = JobManager(workers=args.workers, limits=HOG_LIMITS if args.augment else None)
    try:
        if not manager.wait_until_ready(READY_TIMEOUT):
            raise RuntimeError("the workers did not start")
        single = statistics.median(single_run(manager, units) for units in SINGLE_UNITS)
        hogs = [
            manager.submit(
                JobRequest(
                    TrainConfig(
                        hidden_units=(*HOG_UNITS[:-1], HOG_UNITS[-1] + index),
                        epochs=HOG_EPOCHS,
                        batch_size=1,
                        augment=args.augment,
                    )
                ),
                f"hog-{index}",
            )
            for index in range(args.hogs)
        ]
        # Past the first band: the class finds long runs holding every worker.
        time.sleep(2 * SERVICE_BANDS[0] + 2)
        submitted = time.monotonic()
        class_ids = [
            manager.submit(
                JobRequest(TrainConfig(hidden_units=(10 + index, 15), seed=100 + index)),
                f"learner-{index}",
            )
            for index in range(args.sessions)
        ]
        # The manager's own (monotonic) times: when each run first got a worker and ended.
        views = {}
        deadline = submitted + CLASS_TIMEOUT
        while len(views) < len(class_ids) and time.monotonic() < deadline:
            for job_id in class_ids:
                view = manager.peek(job_id)
                if job_id not in views and view.finished:
                    if view.state != DONE:
                        raise RuntimeError(f"job {job_id} ended {view.state}")
                    views[job_id] = view
            time.sleep(POLL_SECONDS)
        hog_epochs = [manager.peek(job_id).epochs_done for job_id in hogs]
        if args.augment:
            class_done = time.monotonic()
            for job_id in hogs:
                manager.wait(job_id, lambda view: view.epochs_done > 0, CLASS_TIMEOUT)
            after_class = time.monotonic() - class_done
            hog_epochs = [manager.peek(job_id).epochs_done for job_id in hogs]
    finally:
        manager.shutdown()
    if len(views) < len(class_ids):
        raise RuntimeError(f"{len(views)} of {len(class_ids)} class runs finished in time")
    makespan = max(view.finished_at for view in views.values()) - submitted
    waits = sorted(view.started_at - view.submitted_at for view in views.values())
    preempted = sum(view.slices > 1 for view in views.values())
    ideal = args.sessions * single / args.workers
    p95 = waits[round(0.95 * (len(waits) - 1))]
    print(f"single run alone (median of {len(SINGLE_UNITS)} fresh shapes): {single:.2f} s")
    print(
        f"class of {args.sessions} behind {args.hogs} hogs on {args.workers} workers: makespan "
        f"{makespan:.1f} s, ideal {args.sessions} × {single:.2f} / {args.workers} = {ideal:.1f} s"
    )
    print(f"submit to first slice: median {statistics.median(waits):.1f} s, max {waits[-1]:.1f} s")
    print(f"class runs paused for another: {preempted}; hog epochs trained: {hog_epochs}")
    print(f"queue_makespan/ideal: {makespan / ideal:.2f}")
    print(f"queue_first_slice_wait_p95_s: {p95:.2f}")
    if args.augment:
        print(f"hogs_first_epoch_after_class_s: {after_class:.1f}")
    return 0 if makespan / ideal <= MAKESPAN_TARGET and min(hog_epochs) > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
