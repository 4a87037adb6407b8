"""The exercise cards: every setup is a valid config, explained, and found again from its config."""

from __future__ import annotations

import math

import pytest

from model.config import TrainConfig, config_problems
from model.data import load_splits
from model.exercises import EXERCISES, exercise_by_id, matching_exercise


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
