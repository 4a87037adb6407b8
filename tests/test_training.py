"""`train`: one report per epoch, numbering across Continue, Stop, and NaN detection."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from model.config import TrainConfig
from model.data import load_splits
from model.epochs import EpochLog, shuffled_order
from model.forward import NetworkWeights
from model.training import train

CONFIG = TrainConfig(hidden_units=(5,), epochs=3)


@pytest.fixture(scope="module")
def splits():
    return load_splits()


def test_each_epoch_is_reported_with_its_metrics(splits) -> None:
    reports: list[tuple[EpochLog, NetworkWeights]] = []
    result = train(CONFIG, splits, on_epoch=lambda log, weights: reports.append((log, weights)))
    assert [log.epoch for log, _ in reports] == [1, 2, 3]
    assert {f.name for f in fields(EpochLog)} == {
        "epoch",
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
    }
    assert result.history == [log for log, _ in reports]
    assert all(0.0 <= log.val_accuracy <= 1.0 and log.is_finite() for log in result.history)
    assert result.history[-1].loss < result.history[0].loss
    assert result.weights is reports[-1][1]
    assert not result.stopped and not result.diverged
    assert result.optimizer_state is not None and result.keras_file is None


def test_continue_numbers_epochs_on_and_starts_from_the_given_weights(splits) -> None:
    first = train(CONFIG, splits)
    more = train(
        CONFIG.with_changes(epochs=2),
        splits,
        initial=first.weights,
        first_epoch=4,
        optimizer_state=first.optimizer_state,
    )
    assert [log.epoch for log in more.history] == [4, 5]
    assert more.history[0].loss < first.history[0].loss


def test_should_stop_is_checked_every_epoch(splits) -> None:
    asked: list[int] = []

    def stop_after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    result = train(CONFIG.with_changes(epochs=10), splits, should_stop=stop_after_two)
    assert result.stopped and len(result.history) == 2


def test_a_nan_loss_stops_and_keeps_the_last_finite_weights(splits) -> None:
    sizes = [(400, 5), (5, 1)]
    # Huge weights of both signs make the first layer's sums infinite and then NaN.
    huge = NetworkWeights(
        tuple(
            np.full(shape, 3e38, np.float32) * np.where(np.arange(shape[1]) % 2, 1, -1)
            for shape in sizes
        ),
        (np.zeros(5, np.float32), np.zeros(1, np.float32)),
        "relu",
    )
    result = train(CONFIG.with_changes(activation="relu"), splits, initial=huge)
    assert result.diverged and result.history == []
    assert all(
        np.array_equal(a, b) for a, b in zip(result.weights.as_list(), huge.as_list(), strict=True)
    )
    assert result.optimizer_state is None


def test_export_keras_returns_a_keras_archive(splits) -> None:
    result = train(CONFIG.with_changes(epochs=1), splits, export_keras=True)
    assert result.keras_file is not None and result.keras_file[:2] == b"PK"


def test_shuffled_order_is_a_seeded_permutation() -> None:
    order = shuffled_order(50, seed=3, epoch=2)
    assert sorted(order) == list(range(50))
    assert np.array_equal(order, shuffled_order(50, seed=3, epoch=2))
    assert not np.array_equal(order, shuffled_order(50, seed=3, epoch=3))


def test_a_paused_run_resumed_from_its_state_ends_like_a_run_never_paused(splits) -> None:
    config = CONFIG.with_changes(epochs=6, hidden_units=(6,), batch_size=16)
    straight = train(config, splits)
    calls: list[int] = []

    def pause_after_two() -> bool:
        calls.append(1)
        return len(calls) > 2

    first = train(config, splits, should_pause=pause_after_two, export_keras=True)
    assert first.paused and first.stopped and len(first.history) == 2
    assert first.keras_file is None
    rest = train(
        config.with_changes(epochs=4),
        splits,
        initial=first.weights,
        first_epoch=3,
        optimizer_state=first.optimizer_state,
        xla=first.xla,
    )
    assert [log.epoch for log in rest.history] == [3, 4, 5, 6]
    for resumed, whole in zip(rest.weights.as_list(), straight.weights.as_list(), strict=True):
        np.testing.assert_allclose(resumed, whole, atol=1e-6)
    assert rest.history[-1].loss == pytest.approx(straight.history[-1].loss, abs=1e-6)
