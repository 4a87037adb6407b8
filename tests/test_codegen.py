""" "Show the code": the generated script compiles for every setting and trains when run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from model.codegen import keras_script
from model.config import TrainConfig
from tests.conftest import PROJECT_ROOT

CONFIGS = [
    TrainConfig(),
    TrainConfig(
        hidden_units=(8, 4, 2),
        activation="relu",
        loss="mean_squared_error",
        optimizer="sgd",
        learning_rate=0.05,
        batch_size=700,
        epochs=3,
        seed=9,
        shuffle=False,
    ),
    TrainConfig(dataset="mnist"),
    TrainConfig(train_size=10, label_noise=0.3, input_noise=0.2),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_the_script_is_valid_python_with_the_settings(config: TrainConfig) -> None:
    script = keras_script(config)
    compile(script, "show_the_code.py", "exec")
    units = "".join(
        f"Dense({count}, activation='{config.activation}')" for count in config.hidden_units
    )
    assert units.replace(")Dense", "),\n    Dense") in script
    assert f"epochs={config.epochs}, batch_size={config.batch_size}" in script
    assert f"set_random_seed({config.seed})" in script
    assert ("mnist.load_data()" in script) == (config.dataset == "mnist")
    assert ("X, y = X[keep], y[keep]" in script) == (config.train_size is not None)
    assert ("y[flip] = 1 - y[flip]" in script) == (config.label_noise > 0)
    assert ("rng.normal(0.0, 0.2, X.shape)" in script) == (config.input_noise > 0)


def test_the_lessons_data_needs_no_data_code() -> None:
    assert "rng" not in keras_script(TrainConfig())


def test_the_script_runs_and_trains(tmp_path) -> None:
    # With every data setting, so that their code is run too.
    config = TrainConfig(
        hidden_units=(3,), epochs=1, train_size=20, label_noise=0.2, input_noise=0.1
    )
    script = keras_script(config)
    path = tmp_path / "show_the_code.py"
    path.write_text(script)
    finished = subprocess.run(
        [sys.executable, str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "probability that the first image is a 1:" in finished.stdout
    assert "1,207" in finished.stdout  # 400·3 + 3 + 3·1 + 1 parameters in the summary
