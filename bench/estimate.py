"""The expected training time beside Train against the time the run then takes, for a few shapes.

Run: `python bench/estimate.py`. A job pool like the server's (one worker, so nothing else
shares it) first trains two calibration runs, as a server's workers do with the class's first
runs; then, for each setting below, the cost model's estimate (`JobManager.estimate`, what the
page shows) is read and the run is timed from submit to its last epoch's metrics. Both are
printed with their ratio, and last `estimate_factor_max: F`, the worst of estimate/measured and
measured/estimate (target 2: "within a factor of 2").
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import TrainConfig, describe
from model.jobs import DONE, JobManager, JobRequest

READY_TIMEOUT = 300.0
RUN_TIMEOUT = 900.0
FACTOR_TARGET = 2.0
# Runs a server trains before anyone reads an estimate of these shapes: a class's first runs.
CALIBRATION = (TrainConfig(hidden_units=(20, 15)), TrainConfig(hidden_units=(30, 10), epochs=50))
# Shapes and settings the calibration did not train: the estimate extrapolates to them.
MEASURED = (
    TrainConfig(),
    TrainConfig(hidden_units=(64, 32), epochs=50, batch_size=16),
    TrainConfig(hidden_units=(25, 15), epochs=300, batch_size=128),
    TrainConfig(hidden_units=(128, 128, 120), epochs=3, batch_size=1),
    TrainConfig(epochs=10, augment=True),
    TrainConfig(hidden_units=(10,), epochs=200, train_size=50),
)


def timed_run(manager: JobManager, config: TrainConfig) -> float:
    """Seconds from submit until the run's last epoch is reported."""
    started = time.perf_counter()
    job_id = manager.submit(JobRequest(config), "bench")
    view = manager.wait(job_id, lambda view: view.epochs_done >= config.epochs, RUN_TIMEOUT)
    seconds = time.perf_counter() - started
    final = manager.wait(job_id, lambda view: view.finished, RUN_TIMEOUT)
    if final is None or final.state != DONE:
        raise RuntimeError(f"{describe(config)} did not finish: {final and final.state}")
    if view is None or view.epochs_done < config.epochs:
        raise RuntimeError(f"{describe(config)} reported {view and view.epochs_done} epochs")
    manager.forget(job_id)
    return seconds


def label(config: TrainConfig) -> str:
    extras = " with augmentation" if config.augment else ""
    if config.train_size is not None:
        extras += f", {config.train_size} images"
    return f"{describe(config)}, {config.epochs} epochs of {config.batch_size}{extras}"


def main() -> int:
    manager = JobManager(workers=1, jobs_per_worker=100)
    try:
        if not manager.wait_until_ready(READY_TIMEOUT):
            raise RuntimeError("the worker did not start")
        for config in CALIBRATION:
            timed_run(manager, config)
        factors = []
        for config in MEASURED:
            estimate, _ = manager.estimate(config)
            measured = timed_run(manager, config)
            ratio = estimate / measured
            factors.append(max(ratio, 1 / ratio))
            print(
                f"{label(config)}: estimated {estimate:.2f} s, took {measured:.2f} s, "
                f"estimate/measured {ratio:.2f}"
            )
    finally:
        manager.shutdown()
    worst = max(factors)
    print(f"estimate_factor_max: {worst:.2f}")
    return 0 if worst <= FACTOR_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
