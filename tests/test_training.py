"""`train`: one report per epoch, numbering across Continue, Stop, and NaN detection."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from model.config import TrainConfig
from model.data import load_splits
from model.epochs import EpochLog, shuffled_order
from model.forward import NetworkWeights
from model.training import TrainResult, train

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


def continued(first: TrainResult, config: TrainConfig, splits, epochs: int) -> TrainResult:
    """`epochs` more epochs of `config` from where `first` ended, as Continue and a resumed
    slice train them."""
    return train(
        config.with_changes(epochs=epochs),
        splits,
        initial=first.weights,
        first_epoch=len(first.history) + 1,
        optimizer_state=first.optimizer_state,
        xla=first.xla,
    )


def test_continue_numbers_epochs_on_and_starts_from_the_given_weights(splits) -> None:
    first = train(CONFIG, splits)
    more = continued(first, CONFIG, splits, epochs=2)
    assert [log.epoch for log in more.history] == [4, 5]
    assert more.history[0].loss < first.history[0].loss


def test_should_stop_is_checked_before_every_graph_call(splits) -> None:
    asked: list[int] = []
    calls: list[tuple[int, float]] = []

    def stop_after_two() -> bool:
        asked.append(1)
        return len(asked) > 2

    result = train(
        CONFIG.with_changes(epochs=1000),
        splits,
        should_stop=stop_after_two,
        on_call=lambda epochs, seconds, xla: calls.append((epochs, seconds)),
    )
    assert result.stopped and len(asked) == 3 and len(calls) == 2
    # The first call runs one epoch; its pace sizes the next one.
    assert calls[0][0] == 1 and calls[1][0] >= 1 and all(seconds > 0 for _, seconds in calls)
    assert len(result.history) == calls[0][0] + calls[1][0] < 1000


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
    config = CONFIG.with_changes(epochs=200, hidden_units=(6,), batch_size=16)
    straight = train(config, splits)
    calls: list[int] = []

    def pause_after_two_calls() -> bool:
        calls.append(1)
        return len(calls) > 2

    first = train(config, splits, should_pause=pause_after_two_calls, export_keras=True)
    done = len(first.history)
    assert first.paused and first.stopped and 1 < done < config.epochs
    assert first.keras_file is None
    rest = continued(first, config, splits, epochs=config.epochs - done)
    assert [log.epoch for log in rest.history] == list(range(done + 1, config.epochs + 1))
    for resumed, whole in zip(rest.weights.as_list(), straight.weights.as_list(), strict=True):
        np.testing.assert_allclose(resumed, whole, atol=1e-6)
    assert rest.history[-1].loss == pytest.approx(straight.history[-1].loss, abs=1e-6)


def test_pause_after_stops_at_exactly_that_many_epochs_even_with_long_calls(
    splits, monkeypatch
) -> None:
    import model.training

    # Calls sized to a minute would otherwise run every remaining epoch in one go.
    monkeypatch.setattr(model.training, "CALL_SECONDS", 60.0)
    config = CONFIG.with_changes(epochs=40, hidden_units=(6,), batch_size=16)
    straight = train(config, splits)
    first = train(config, splits, pause_after=5)
    assert first.paused and [log.epoch for log in first.history] == [1, 2, 3, 4, 5]
    rest = continued(first, config, splits, epochs=35)
    assert not rest.paused and len(rest.history) == 35
    for resumed, whole in zip(rest.weights.as_list(), straight.weights.as_list(), strict=True):
        np.testing.assert_allclose(resumed, whole, atol=1e-6)
    assert not train(config, splits, pause_after=config.epochs).paused


def test_epochs_in_one_graph_call_equal_epochs_one_call_at_a_time(splits) -> None:
    from model.engine import Engine

    config = CONFIG.with_changes(hidden_units=(7,), epochs=1)
    together = Engine(config, splits)
    together.start(None)
    logs = together.run_epochs(1, 12)
    apart = Engine(config, splits)
    apart.start(None)
    one_by_one = [apart.run_epoch(epoch) for epoch in range(1, 13)]
    assert [log.epoch for log in logs] == list(range(1, 13))
    for left, right in zip(logs, one_by_one, strict=True):
        assert left.loss == pytest.approx(right.loss, abs=1e-5)
    for left, right in zip(together.weights().as_list(), apart.weights().as_list(), strict=True):
        np.testing.assert_allclose(left, right, atol=1e-5)


def test_a_loss_turning_nan_inside_a_call_keeps_the_epochs_before_it(splits, monkeypatch) -> None:
    from model.engine import Engine

    config = CONFIG.with_changes(epochs=50, hidden_units=(3,))
    real_run_epochs = Engine.run_epochs
    poisoned: list[int] = []

    def run_epochs(engine, first_epoch: int, count: int, xla=None):
        logs = real_run_epochs(engine, first_epoch, count, xla)
        if count > 3 and not poisoned:
            poisoned.append(first_epoch + 3)
            logs[3] = replace(logs[3], loss=float("nan"))
        return logs

    monkeypatch.setattr(Engine, "run_epochs", run_epochs)
    result = train(config, splits)
    # The first call of more than three epochs turned NaN at its fourth.
    assert poisoned and result.diverged and result.optimizer_state is None
    assert [log.epoch for log in result.history] == list(range(1, poisoned[0]))
    monkeypatch.undo()
    reference = train(config.with_changes(epochs=poisoned[0] - 1), splits)
    for kept, whole in zip(result.weights.as_list(), reference.weights.as_list(), strict=True):
        np.testing.assert_allclose(kept, whole, atol=1e-6)
