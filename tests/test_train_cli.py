"""`python -m model.train`: flags, one line per epoch, the saved model files, bad flags."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import model.train
import model.training
from model.data import load_splits
from model.forward import accuracy
from model.storage import load_model
from model.train import main, parse_config
from tests.conftest import PROJECT_ROOT


def test_flags_become_a_config() -> None:
    config, out = parse_config(
        ["--epochs", "7", "--units", "8", "4", "--lr", "0.01", "--batch-size", "16", "--seed", "3"]
    )
    assert (config.epochs, config.hidden_units, config.learning_rate) == (7, (8, 4), 0.01)
    assert (config.batch_size, config.seed, out) == (16, 3, None)


def test_out_of_range_flags_exit_with_the_reason(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_config(["--units", "500"])
    assert exit_info.value.code == 2
    assert "hidden layer 1 needs 1 to 128 units" in capsys.readouterr().err


def test_headless_training_saves_a_loadable_model(tmp_path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "model.train",
            "--epochs",
            "3",
            "--units",
            "6",
            "--out",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = completed.stdout.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 3
    assert any(line.startswith("test accuracy ") for line in lines)
    assert (tmp_path / "model.keras").stat().st_size > 0
    saved = load_model(tmp_path)
    assert saved.config.hidden_units == (6,) and saved.metrics["epochs_trained"] == 3
    splits = load_splits()
    reported = json.loads(lines[-1])["test_accuracy"]
    assert accuracy(saved.weights, splits.test.x, splits.test.y) == pytest.approx(reported)


def test_average_last_keeps_the_mean_of_the_last_epochs_weights(
    tmp_path, monkeypatch, capsys
) -> None:
    # One epoch a graph call, so that each epoch's log carries that epoch's own weights.
    monkeypatch.setattr(model.training, "CALL_SECONDS", 0.0)
    delivered = []
    real_train = model.train.train

    def recording(*args, on_epoch, **kwargs):
        def both(log, weights):
            delivered.append(weights)
            on_epoch(log, weights)

        return real_train(*args, on_epoch=both, **kwargs)

    monkeypatch.setattr(model.train, "train", recording)
    argv = ["--epochs", "3", "--units", "4", "--lr", "0.05", "--average-last", "2"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert (
        "kept the mean of the weights at the ends of the last 2 epochs" in capsys.readouterr().out
    )
    saved = load_model(tmp_path)
    assert saved.metrics["epochs_averaged"] == 2 and saved.metrics["epochs_trained"] == 3
    second, last = delivered[1].as_list(), delivered[2].as_list()
    for kept, a, b in zip(saved.weights.as_list(), second, last, strict=True):
        np.testing.assert_allclose(kept, (a + b) / 2, atol=1e-7)
    assert not np.allclose(saved.weights.kernels[0], delivered[2].kernels[0])
    import keras

    exported = keras.saving.load_model(tmp_path / "model.keras").get_weights()
    for kept, in_keras in zip(saved.weights.as_list(), exported, strict=True):
        np.testing.assert_allclose(in_keras, kept, atol=1e-7)


@pytest.mark.parametrize("average_last", ["4", "-1"])
def test_averaging_more_epochs_than_trained_is_refused(average_last, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_config(["--epochs", "3", "--average-last", average_last])
    assert exit_info.value.code == 2
    assert "--average-last needs 0 to 3 epochs" in capsys.readouterr().err


def test_the_class_dataset_needs_a_drawings_file(capsys) -> None:
    assert main(["--dataset", "class", "--epochs", "1"]) == 2
    assert "none were sent. Pass them with --class-drawings" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_config(["--class-drawings", "drawings.npz"])
    assert "--class-drawings needs --dataset class" in capsys.readouterr().err


def test_a_bad_drawings_file_is_refused_saying_why(tmp_path, capsys) -> None:
    path = tmp_path / "drawings.npz"
    np.savez(path, images=np.zeros((4, 400), np.float32), labels=np.zeros(4, np.int64))
    assert main(["--dataset", "class", "--class-drawings", str(path)]) == 2
    assert "all 0s" in capsys.readouterr().err


def test_headless_training_on_the_class_drawings(tmp_path, capsys) -> None:
    path = tmp_path / "drawings.npz"
    rng = np.random.default_rng(0)
    np.savez(path, images=rng.random((10, 20, 20), dtype=np.float32), labels=np.arange(10) % 2)
    argv = ["--dataset", "class", "--class-drawings", str(path), "--epochs", "2", "--units", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "'train': 707, 'validation': 150, 'test': 153" in out
    assert "on 153 images" in out
