"""Training speed: the lesson's `model.fit` vs the app's job engine vs a minimal NumPy trainer.

Run: `python bench/train_speed.py`. All three train the default network (400 → 25 → 15 → 1,
sigmoid, binary cross-entropy, Adam 1e-3) for 100 epochs of batch 32 on the bundled training
split. The engine is timed as a learner sees it: from submitting the job to a prewarmed worker
until the last epoch's metrics arrive, once for a network shape the worker has not trained yet
(fresh: includes tracing the epoch graph; the default network with 17 units in its second
layer, since a worker readies the default's own padded shape while it starts) and once for the
default network (repeat: the worker XLA-compiled its shape while idle). The NumPy reference runs
single-threaded BLAS, which is fastest for these small matrices.
Then the `.keras` file a finished run gets, for the fresh run's widths (25-17, which the engine
pads, as it does most runs'): written directly (`model.keras_export`) against the way it was
made before (a compiled Keras model of the run's widths, its weights and optimizer state set,
`model.save`), the two timed in turns, the median of each.
The last three lines are the ratios `engine/fit` (fresh run), `engine/numpy` (repeat run) and
`export/keras_save` (target: at most 0.2).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# Before NumPy loads: a thread pool only slows 32×400 matrix products down.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import TrainConfig
from model.data import Splits, load_splits
from model.engine import glorot_weights, state_variables
from model.epochs import shuffled_order
from model.forward import NetworkWeights, sigmoid
from model.jobs import DONE, JobManager, JobRequest

CONFIG = TrainConfig()
# A worker readies the lesson's network while it starts (`model.jobs.workers`): the fresh run is
# the same network with two more units in its second layer, whose padded width (32-32) the
# worker has not traced; a fraction of a percent more arithmetic.
FRESH_CONFIG = CONFIG.with_changes(hidden_units=(25, 17))
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
# Keras clips probabilities by this before taking logs in binary cross-entropy.
PROBABILITY_EPSILON = 1e-7
READY_TIMEOUT = 300.0
EXPORT_REPEATS = 10


def time_engine(manager: JobManager, config: TrainConfig) -> float:
    started = time.perf_counter()
    job_id = manager.submit(JobRequest(config), "bench")
    view = manager.wait(job_id, lambda view: view.epochs_done >= config.epochs, READY_TIMEOUT)
    seconds = time.perf_counter() - started
    if view is None or view.epochs_done < config.epochs:
        raise RuntimeError(f"the engine's job did not finish: {view}")
    final = manager.wait(job_id, lambda view: view.finished, READY_TIMEOUT)
    if final is None or final.state != DONE:
        raise RuntimeError(f"the engine's job ended badly: {final}")
    manager.forget(job_id)
    return seconds


def bce(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, PROBABILITY_EPSILON, 1 - PROBABILITY_EPSILON)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def train_numpy(splits: Splits) -> list[tuple[float, float]]:
    """Forward pass, backpropagation and Adam by hand; returns (val_loss, val_accuracy) per epoch."""
    start = glorot_weights(CONFIG)
    params = [array.copy() for array in start.as_list()]
    first_moments = [np.zeros_like(array) for array in params]
    second_moments = [np.zeros_like(array) for array in params]
    x_train, y_train = splits.train.x, splits.train.y.reshape(-1, 1)
    x_val, y_val = splits.validation.x, splits.validation.y.reshape(-1, 1)
    layers = len(params) // 2
    step = 0
    history = []
    for epoch in range(1, CONFIG.epochs + 1):
        order = shuffled_order(len(x_train), CONFIG.seed, epoch)
        for begin in range(0, len(order), CONFIG.batch_size):
            rows = order[begin : begin + CONFIG.batch_size]
            activations = [x_train[rows]]
            for layer in range(layers):
                activations.append(
                    sigmoid(activations[-1] @ params[2 * layer] + params[2 * layer + 1])
                )
            # Sigmoid output with cross-entropy: the gradient at the output's input is p - y.
            delta = (activations[-1] - y_train[rows]) / len(rows)
            gradients = [np.empty(0)] * len(params)
            for layer in reversed(range(layers)):
                gradients[2 * layer] = activations[layer].T @ delta
                gradients[2 * layer + 1] = delta.sum(axis=0)
                if layer:
                    a = activations[layer]
                    delta = (delta @ params[2 * layer].T) * a * (1 - a)
            step += 1
            rate = CONFIG.learning_rate * np.sqrt(1 - ADAM_BETA_2**step) / (1 - ADAM_BETA_1**step)
            for param, gradient, m, v in zip(
                params, gradients, first_moments, second_moments, strict=True
            ):
                m *= ADAM_BETA_1
                m += (1 - ADAM_BETA_1) * gradient
                v *= ADAM_BETA_2
                v += (1 - ADAM_BETA_2) * gradient * gradient
                param -= rate * m / (np.sqrt(v) + ADAM_EPSILON)
        p_val = x_val
        for layer in range(layers):
            p_val = sigmoid(p_val @ params[2 * layer] + params[2 * layer + 1])
        history.append((bce(p_val, y_val), float(np.mean((p_val >= 0.5) == (y_val >= 0.5)))))
    return history


def time_fit(splits: Splits) -> float:
    from model.network import build_model, compile_model

    model = compile_model(build_model(CONFIG), CONFIG)
    started = time.perf_counter()
    model.fit(splits.train.x, splits.train.y, epochs=CONFIG.epochs, batch_size=32, verbose=0)
    return time.perf_counter() - started


def keras_save_export(
    config: TrainConfig, weights: NetworkWeights, state: list[np.ndarray]
) -> bytes:
    """The `.keras` export as it was, for the comparison: a compiled model of the run's own
    widths, its weights and optimizer state set, through `model.save`."""
    from model.network import build_model, compile_model, keras_file_bytes

    model = compile_model(build_model(config), config)
    model.optimizer.build(model.trainable_variables)
    model.set_weights(weights.as_list())
    for variable, value in zip(state_variables(model.optimizer), state, strict=True):
        variable.assign(value)
    model.optimizer.learning_rate = config.learning_rate
    return keras_file_bytes(model)


def time_export(splits: Splits) -> tuple[float, float]:
    """Median seconds of the direct export and of the `model.save` one, for a trained run."""
    from model.keras_export import keras_file_bytes
    from model.training import train

    config = FRESH_CONFIG.with_changes(epochs=2)
    result = train(config, splits)
    weights, state = result.weights, result.optimizer_state or []
    exports = {
        "direct": lambda: keras_file_bytes(config, weights, state),
        "keras_save": lambda: keras_save_export(config, weights, state),
    }
    seconds: dict[str, list[float]] = {name: [] for name in exports}
    # Each once untimed (the direct one builds its template then), then in turns.
    for export in exports.values():
        export()
    for _ in range(EXPORT_REPEATS):
        for name, export in exports.items():
            started = time.perf_counter()
            export()
            seconds[name].append(time.perf_counter() - started)
    return float(np.median(seconds["direct"])), float(np.median(seconds["keras_save"]))


def main() -> None:
    splits = load_splits()
    manager = JobManager(workers=1)
    try:
        if not manager.wait_until_ready(READY_TIMEOUT):
            raise RuntimeError("the training worker did not start")
        engine_fresh = time_engine(manager, FRESH_CONFIG)
        manager.wait_until_ready(READY_TIMEOUT)
        engine_repeat = time_engine(manager, CONFIG)
    finally:
        manager.shutdown()

    started = time.perf_counter()
    numpy_history = train_numpy(splits)
    numpy_seconds = time.perf_counter() - started
    fit_seconds = time_fit(splits)
    # After `model.fit`: training through the engine turns Grappler off in this process.
    export_direct, export_saved = time_export(splits)

    print(f"data: {splits.sizes()}, network: 400 → 25 → 15 → 1, {CONFIG.epochs} epochs of 32")
    print(f"(a) model.fit:                    {fit_seconds:7.3f} s")
    print(f"(b) engine, fresh network shape:  {engine_fresh:7.3f} s")
    print(f"(b) engine, repeat run:           {engine_repeat:7.3f} s")
    print(
        f"(c) NumPy reference:              {numpy_seconds:7.3f} s "
        f"(final val_loss {numpy_history[-1][0]:.4f}, val_accuracy {numpy_history[-1][1]:.3f})"
    )
    print(
        f"(d) .keras export, 25-17 units:   direct {export_direct * 1000:.1f} ms, "
        f"model.save {export_saved * 1000:.1f} ms (medians of {EXPORT_REPEATS})"
    )
    print(f"engine/fit: {engine_fresh / fit_seconds:.3f}")
    print(f"engine/numpy: {engine_repeat / numpy_seconds:.3f}")
    print(f"export/keras_save: {export_direct / export_saved:.3f}")


if __name__ == "__main__":
    main()
