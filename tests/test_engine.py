"""The training engine: Keras-equal updates, engines reused across runs, exact Continue, `.keras` export."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from model import engine as engine_module
from model.config import ENGINE_UNIT_STEP, TrainConfig, padded_units, parameter_counts
from model.data import load_splits
from model.engine import Engine, glorot_weights
from model.forward import NetworkWeights, predict_proba

SMALL = TrainConfig(hidden_units=(6, 4), epochs=1, shuffle=False)


@pytest.fixture(scope="module")
def splits():
    return load_splits()


def assert_same_weights(a: NetworkWeights, b: NetworkWeights, tolerance: float) -> None:
    for left, right in zip(a.as_list(), b.as_list(), strict=True):
        np.testing.assert_allclose(left, right, atol=tolerance)


def test_glorot_weights_are_seeded_and_keras_shaped() -> None:
    weights = glorot_weights(TrainConfig())
    assert [w.size for w in weights.as_list()][::2] == [400 * 25, 25 * 15, 15]
    assert sum(w.size for w in weights.as_list()) == sum(parameter_counts(TrainConfig()))
    assert np.abs(weights.kernels[0]).max() <= np.sqrt(6 / (400 + 25))
    assert all(not bias.any() for bias in weights.biases)
    assert_same_weights(weights, glorot_weights(TrainConfig()), 0.0)
    other = glorot_weights(TrainConfig(seed=7))
    assert not np.array_equal(weights.kernels[0], other.kernels[0])


@pytest.mark.parametrize(
    "config",
    [
        SMALL,
        SMALL.with_changes(activation="relu", loss="mean_squared_error", optimizer="sgd"),
        SMALL.with_changes(hidden_units=(5,), activation="tanh", batch_size=100),
    ],
)
def test_one_epoch_matches_model_fit(splits, config: TrainConfig) -> None:
    engine = Engine(config, splits)
    assert_matches_model_fit(engine, splits, config)


def test_the_xla_compiled_epoch_matches_model_fit_too(splits) -> None:
    engine = Engine(SMALL, splits)
    engine.compile_fast_path()
    assert engine.compiled
    assert_matches_model_fit(engine, splits, SMALL)


def assert_matches_model_fit(engine: Engine, splits, config: TrainConfig) -> None:
    from model.network import compile_model, model_from_weights

    start = glorot_weights(config)
    engine.start(start)
    engine.run_epoch(1)

    reference = compile_model(model_from_weights(config, start), config)
    reference.fit(
        splits.train.x,
        splits.train.y,
        epochs=1,
        batch_size=config.batch_size,
        shuffle=False,
        verbose=0,
    )
    fitted = NetworkWeights.from_list(reference.get_weights(), config.activation)
    assert_same_weights(engine.weights(), fitted, 1e-4)
    assert not np.allclose(engine.weights().kernels[-1], start.kernels[-1])


def test_same_shape_reuses_the_engine_and_gives_the_fresh_engines_result(splits) -> None:
    first = Engine.for_config(SMALL.with_changes(seed=1), splits)
    second_config = SMALL.with_changes(seed=2, learning_rate=0.01)
    reused = Engine.for_config(second_config, splits)
    assert reused is first
    reused.start(None)
    reused.run_epoch(1)

    fresh = Engine(second_config, splits)
    fresh.start(None)
    fresh.run_epoch(1)
    assert_same_weights(reused.weights(), fresh.weights(), 1e-6)
    assert Engine.for_config(SMALL.with_changes(batch_size=16), splits) is not first


def test_engine_cache_is_bounded(splits) -> None:
    for step in range(1, engine_module.CACHED_ENGINES + 3):
        units = (step * ENGINE_UNIT_STEP,)
        Engine.for_config(TrainConfig(hidden_units=units, epochs=1), splits)
    assert len(engine_module._engines) == engine_module.CACHED_ENGINES


def test_hidden_layers_are_padded_to_the_engines_unit_step() -> None:
    assert padded_units((25, 15)) == (32, 16)
    assert padded_units((1, 16, 17, 128)) == (16, 16, 32, 128)


def test_widths_within_one_padded_width_share_an_engine_and_train_their_own_network(
    splits,
) -> None:
    wider = SMALL.with_changes(hidden_units=(10, 12), seed=5)
    first = Engine.for_config(SMALL, splits)
    shared = Engine.for_config(wider, splits)
    assert shared is first
    shared.start(None)
    shared.run_epochs(1, 3)
    assert [w.shape for w in shared.weights().as_list()][::2] == [(400, 10), (10, 12), (12, 1)]
    assert [np.shape(a) for a in shared.optimizer_state()][1:3] == [(400, 10), (400, 10)]
    # The padding units' weights stay zero both ways, so they never reach the output.
    kernels = [np.asarray(kernel) for kernel in shared.kernels]
    assert not kernels[1][10:].any() and not kernels[2][12:].any()
    assert not kernels[0][:, 10:].any() and not kernels[1][:, 12:].any()

    fresh = Engine(wider, splits)
    fresh.start(None)
    fresh.run_epochs(1, 3)
    assert_same_weights(shared.weights(), fresh.weights(), 1e-6)
    assert_matches_model_fit(shared, splits, wider)


def test_continuing_with_the_optimizer_state_equals_one_longer_run(splits) -> None:
    config = SMALL.with_changes(shuffle=True)
    whole = Engine(config, splits)
    whole.start(None)
    whole.run_epoch(1)
    whole.run_epoch(2)

    first = Engine(config, splits)
    first.start(None)
    first.run_epoch(1)
    paused_weights, paused_state = first.weights(), first.optimizer_state()
    resumed = Engine(config, splits)
    resumed.start(paused_weights, paused_state)
    resumed.run_epoch(2)
    assert_same_weights(resumed.weights(), whole.weights(), 1e-6)


def test_a_state_from_another_optimizer_is_ignored(splits) -> None:
    sgd = Engine(SMALL.with_changes(optimizer="sgd"), splits)
    sgd.start(None)
    adam = Engine(SMALL, splits)
    adam.start(None, sgd.optimizer_state())
    assert all(not np.any(value) for value in adam.optimizer_state())


def test_keras_file_holds_the_given_weights(splits, tmp_path) -> None:
    import keras

    engine = Engine(SMALL, splits)
    engine.start(None)
    engine.run_epoch(1)
    weights = engine.weights()
    path = tmp_path / "model.keras"
    path.write_bytes(engine.keras_file_bytes(weights))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = keras.models.load_model(path)
    assert [w.shape for w in loaded.get_weights()][::2] == [(400, 6), (6, 4), (4, 1)]
    saved_state = [v.numpy() for v in loaded.optimizer.variables if v.name != "learning_rate"]
    for saved, kept in zip(saved_state, engine.optimizer_state(), strict=True):
        np.testing.assert_array_equal(saved, kept)
    assert float(loaded.optimizer.learning_rate) == pytest.approx(SMALL.learning_rate)
    # Another run of the same widths has a file of its own learning rate.
    faster = SMALL.with_changes(learning_rate=0.01)
    Engine.for_config(faster, splits).start(weights)
    path.write_bytes(Engine.for_config(faster, splits).keras_file_bytes(weights))
    reloaded = keras.models.load_model(path)
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(0.01)
    rows = splits.test.x[:10]
    np.testing.assert_allclose(
        loaded.predict(rows, verbose=0)[:, 0], predict_proba(weights, rows), atol=1e-5
    )


def test_a_training_set_size_has_its_own_engine_reused_by_repeat_runs(splits) -> None:
    from model.jobs import shape_key
    from model.training_data import training_splits

    config = SMALL.with_changes(train_size=50)
    sampled = training_splits(splits, config)
    first = Engine.for_config(config, sampled)
    assert first is not Engine.for_config(SMALL, splits)
    noisy = config.with_changes(seed=3, label_noise=0.2, input_noise=0.1)
    assert Engine.for_config(noisy, training_splits(splits, noisy)) is first
    # The job pool routes by the same rule: a different size is a different compiled graph.
    assert shape_key(config) != shape_key(SMALL)
    assert shape_key(noisy) == shape_key(config)
