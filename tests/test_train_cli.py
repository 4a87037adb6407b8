"""`python -m model.train`: flags, one line per epoch, the saved model files, bad flags."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

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
