"""The direct `.keras` export: the model Keras's own `model.save` writes, without building one."""

from __future__ import annotations

import datetime
import io
import json
import re
import warnings
import zipfile
from typing import Any

import h5py
import numpy as np
import pytest

from model.config import TrainConfig, padded_units
from model.data import load_splits
from model.engine import glorot_weights, state_variables
from model.forward import NetworkWeights, predict_proba
from model.keras_export import DATE_FORMAT, keras_file_bytes, template_for
from model.training import train

# 1, 2 and 3 hidden layers; every activation, loss and optimizer; widths that are multiples of
# 16 (the engine trains them unpadded) and widths that are not; seeds and learning rates apart.
CONFIGS = [
    TrainConfig(hidden_units=(6,), seed=1, learning_rate=0.003),
    TrainConfig(hidden_units=(16,), activation="tanh", loss="mean_squared_error", seed=0),
    TrainConfig(hidden_units=(25, 15), seed=1234, learning_rate=0.001),
    TrainConfig(
        hidden_units=(16, 5), activation="relu", optimizer="sgd", learning_rate=0.05, seed=3
    ),
    TrainConfig(
        hidden_units=(32, 16),
        activation="relu",
        loss="mean_squared_error",
        learning_rate=0.0042,
        seed=77,
    ),
    TrainConfig(
        hidden_units=(7, 33, 3),
        activation="tanh",
        loss="mean_squared_error",
        optimizer="sgd",
        learning_rate=0.3,
        seed=2**31 - 1,
    ),
    TrainConfig(hidden_units=(9, 2, 20), activation="sigmoid", learning_rate=0.0001, seed=42),
]
# Names Keras gives objects nobody named count up per process: a file saved by another model
# of the same process has the next number.
GENERATED_NAME = re.compile(r"(input_layer|adam|sgd)(_\d+)?")


@pytest.fixture(scope="module")
def splits():
    return load_splits()


def keras_saved(
    config: TrainConfig, weights: NetworkWeights, state: list[np.ndarray] | None
) -> bytes:
    """The export as it was: a compiled model of the run's widths, its weights and optimizer
    state set, through `model.save`."""
    from model.network import build_model, compile_model
    from model.network import keras_file_bytes as saved_bytes

    model = compile_model(build_model(config), config)
    model.optimizer.build(model.trainable_variables)
    model.set_weights(weights.as_list())
    for variable, value in zip(
        state_variables(model.optimizer), state or [], strict=state is not None
    ):
        variable.assign(value)
    model.optimizer.learning_rate = config.learning_rate
    return saved_bytes(model)


def loaded(data: bytes, path) -> Any:
    """The file through `keras.saving.load_model`, any warning an error."""
    import keras

    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return keras.saving.load_model(path)


def named_generically(config: Any) -> Any:
    """The config with each generated name's count dropped (`adam_3` → `adam`)."""
    if isinstance(config, dict):
        return {
            key: GENERATED_NAME.fullmatch(value).group(1)
            if key == "name" and isinstance(value, str) and GENERATED_NAME.fullmatch(value)
            else named_generically(value)
            for key, value in config.items()
        }
    if isinstance(config, list):
        return [named_generically(value) for value in config]
    return config


def h5_layout(data: bytes) -> list[tuple[str, str, tuple[int, ...]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        weights_file = archive.read("model.weights.h5")
    layout: list[tuple[str, str, tuple[int, ...]]] = []
    with h5py.File(io.BytesIO(weights_file), "r") as h5:
        h5.visititems(
            lambda path, node: layout.append(
                (path, str(getattr(node, "dtype", "group")), getattr(node, "shape", ()))
            )
        )
    return layout


@pytest.mark.parametrize("config", CONFIGS, ids=lambda config: str(config.hidden_units))
def test_the_direct_file_is_the_one_keras_saves(config, splits, tmp_path) -> None:
    result = train(config.with_changes(epochs=2), splits, export_keras=True)
    assert result.keras_file is not None and result.optimizer_state is not None
    weights, state = result.weights, result.optimizer_state
    reference = keras_saved(config, weights, state)
    fast = loaded(result.keras_file, tmp_path / "fast.keras")
    real = loaded(reference, tmp_path / "real.keras")

    # The engine's file comes from the kind's template, padded run or not.
    padded = padded_units(config.hidden_units) != config.hidden_units
    assert padded == (config.hidden_units not in [(16,), (32, 16)])
    with zipfile.ZipFile(io.BytesIO(result.keras_file)) as archive:
        saved = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]
        metadata = json.loads(archive.read("metadata.json"))
        infos = [(info.filename, info.compress_type) for info in archive.infolist()]
    template = json.loads(template_for(config).config_text)["compile_config"]["optimizer"]
    assert saved["config"]["name"] == template["config"]["name"]
    with zipfile.ZipFile(io.BytesIO(reference)) as archive:
        assert infos == [(info.filename, info.compress_type) for info in archive.infolist()]
        assert metadata.keys() == json.loads(archive.read("metadata.json")).keys()
    datetime.datetime.strptime(metadata["date_saved"], DATE_FORMAT)
    assert h5_layout(result.keras_file) == h5_layout(reference)

    assert named_generically(fast.get_config()) == named_generically(real.get_config())
    assert named_generically(fast.get_compile_config()) == named_generically(
        real.get_compile_config()
    )
    kernels = fast.get_weights()[::2]
    assert [kernel.shape[1] for kernel in kernels] == [*config.hidden_units, 1]
    for mine, keras_own, trained in zip(
        fast.get_weights(), real.get_weights(), weights.as_list(), strict=True
    ):
        np.testing.assert_array_equal(mine, keras_own)
        np.testing.assert_array_equal(mine, trained)
    assert [v.name for v in fast.optimizer.variables] == [v.name for v in real.optimizer.variables]
    for mine, keras_own in zip(fast.optimizer.variables, real.optimizer.variables, strict=True):
        assert mine.dtype == keras_own.dtype
        np.testing.assert_array_equal(mine.numpy(), keras_own.numpy())
    for variable, value in zip(state_variables(fast.optimizer), state, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)
    assert int(fast.optimizer.iterations.numpy()) > 0
    assert float(fast.optimizer.learning_rate) == np.float32(config.learning_rate)
    rows = splits.test.x[:8]
    np.testing.assert_allclose(
        np.asarray(fast(rows, training=False))[:, 0], predict_proba(weights, rows), atol=1e-6
    )


def test_without_an_optimizer_state_the_file_has_a_fresh_optimizer(tmp_path) -> None:
    config = TrainConfig(hidden_units=(12, 5), learning_rate=0.02, seed=9)
    weights = glorot_weights(config)
    fast = loaded(keras_file_bytes(config, weights, None), tmp_path / "fast.keras")
    real = loaded(keras_saved(config, weights, None), tmp_path / "real.keras")
    assert len(fast.optimizer.variables) == 2 + 2 * 6
    for mine, keras_own in zip(fast.optimizer.variables, real.optimizer.variables, strict=True):
        assert mine.name == keras_own.name and mine.dtype == keras_own.dtype
        np.testing.assert_array_equal(mine.numpy(), keras_own.numpy())
    assert all(not np.any(v.numpy()) for v in state_variables(fast.optimizer))
    assert float(fast.optimizer.learning_rate) == np.float32(0.02)


def test_each_kind_has_one_template_and_each_run_its_own_widths(tmp_path) -> None:
    narrow = TrainConfig(hidden_units=(5, 3), seed=11)
    wide = narrow.with_changes(hidden_units=(30, 12), seed=12, learning_rate=0.02)
    template = template_for(narrow)
    kept = template.config_text
    assert template_for(wide) is template
    relu = narrow.with_changes(activation="relu")
    assert template_for(relu) is not template
    assert template_for(narrow.with_changes(hidden_units=(5,))) is not template

    models = {
        name: loaded(
            keras_file_bytes(config, glorot_weights(config), None), tmp_path / f"{name}.keras"
        )
        for name, config in [("narrow", narrow), ("wide", wide), ("relu", relu)]
    }
    assert template.config_text == kept
    widths = {name: [w.shape for w in model.get_weights()[::2]] for name, model in models.items()}
    assert widths["narrow"] == widths["relu"] == [(400, 5), (5, 3), (3, 1)]
    assert widths["wide"] == [(400, 30), (30, 12), (12, 1)]
    seeds = {
        name: [layer.get_config()["kernel_initializer"]["config"]["seed"] for layer in model.layers]
        for name, model in models.items()
    }
    assert seeds == {"narrow": [45, 46, 44], "wide": [49, 50, 48], "relu": [45, 46, 44]}
    activations = {
        name: model.layers[0].get_config()["activation"] for name, model in models.items()
    }
    assert activations == {"narrow": "sigmoid", "wide": "sigmoid", "relu": "relu"}
    assert float(models["wide"].optimizer.learning_rate) == np.float32(0.02)


def test_a_state_or_weights_of_another_network_is_refused() -> None:
    config = TrainConfig(hidden_units=(5,))
    weights = glorot_weights(config)
    with pytest.raises(ValueError, match="optimizer variables"):
        keras_file_bytes(config, weights, [np.array(3, np.int64)])
    with pytest.raises(ValueError, match="units"):
        keras_file_bytes(config.with_changes(hidden_units=(6,)), weights, None)
