"""The exercise cards: every setup is a valid config, explained, and found again from its config."""

from __future__ import annotations

import math

import pytest

from model.config import TrainConfig, config_problems
from model.data import load_splits
from model.exercises import EXERCISES, exercise_by_id, matching_exercise
from model.forward import accuracy


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.id)
def test_exercise_is_a_valid_change_with_question_and_explanation(exercise) -> None:
    config = exercise.config()
    assert config_problems(config) == []
    assert config != TrainConfig()
    assert set(exercise.changes) <= set(TrainConfig().to_dict())
    assert exercise.title and exercise.question.endswith("?")
    assert len(exercise.explanation) > 100


def test_ids_are_unique_and_lessons_topics_are_covered() -> None:
    ids = [exercise.id for exercise in EXERCISES]
    assert len(set(ids)) == len(ids)
    changed = {name for exercise in EXERCISES for name in exercise.changes}
    assert {"hidden_units", "learning_rate", "activation", "loss", "epochs"} <= changed
    assert exercise_by_id(ids[0]) is EXERCISES[0]
    assert exercise_by_id("missing") is None


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda exercise: exercise.id)
def test_matching_finds_the_exercise_for_any_seed(exercise) -> None:
    assert matching_exercise(exercise.config()) is exercise
    assert matching_exercise(exercise.config().with_changes(seed=99)) is exercise


def test_lesson_defaults_and_other_configs_match_no_exercise() -> None:
    assert matching_exercise(TrainConfig()) is None
    assert matching_exercise(TrainConfig(hidden_units=(1,), epochs=5)) is None


def test_one_epoch_explanation_counts_match_the_bundled_data() -> None:
    train_size = len(load_splits("bundled").train)
    updates = math.ceil(train_size / TrainConfig().batch_size)
    explanation = exercise_by_id("one_epoch").explanation
    assert f"{train_size} images" in explanation
    assert f"{updates} small" in explanation


@pytest.fixture(scope="module")
def data_exercise_runs() -> dict:
    """The data exercises trained as the cards set them up, so their explanations stay true."""
    from model.training import train

    splits = load_splits()
    runs = {}
    for exercise_id in ("ten_images", "a_third_of_labels_wrong", "noisy_pixels"):
        result = train(exercise_by_id(exercise_id).config(), splits)
        runs[exercise_id] = (result, accuracy(result.weights, splits.test.x, splits.test.y))
    return runs


def test_ten_images_generalise_but_stay_unsure(data_exercise_runs: dict) -> None:
    result, test_accuracy = data_exercise_runs["ten_images"]
    assert test_accuracy >= 0.97
    assert result.history[-1].val_loss > 0.1


def test_wrong_labels_are_learnt_by_heart_after_a_good_start(data_exercise_runs: dict) -> None:
    result, test_accuracy = data_exercise_runs["a_third_of_labels_wrong"]
    assert max(log.val_accuracy for log in result.history[:10]) >= 0.99
    assert 0.75 <= test_accuracy <= 0.92
    assert 0.67 < result.history[-1].accuracy < 0.9
    best = min(result.history, key=lambda log: log.val_loss)
    assert 15 <= best.epoch <= 60


def test_pixel_noise_barely_matters(data_exercise_runs: dict) -> None:
    _, test_accuracy = data_exercise_runs["noisy_pixels"]
    assert test_accuracy >= 0.99
