"""Answers for drawings: correct on varied 0s and 1s, honest about scribbles, silent on empty canvases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from model.config import INPUT_FEATURES
from model.data import load_splits
from model.forward import NetworkWeights
from model.inference import (
    NOVELTY_QUANTILE,
    ONLY_ZERO_OR_ONE,
    REASON_UNFAMILIAR,
    REASON_UNSURE,
    TrainingNeighbours,
    classify,
    nearest_distances,
    read_drawing,
)
from model.preprocess import CANVAS_SIDE
from model.storage import load_pretrained

Point = tuple[float, float]


def canvas(strokes: list[list[Point]], width: int) -> np.ndarray:
    image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    for points in strokes:
        pen.line(points, fill=(255, 255, 255, 255), width=width, joint="curve")
        for x, y in (points[0], points[-1]):
            pen.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill="white")
    return np.asarray(image)


def zero(cx: float, cy: float, rx: float, ry: float, tilt: float = 0.0, width: int = 20):
    points = []
    for step in range(61):
        angle = 2 * math.pi * step / 60
        x, y = rx * math.sin(angle), -ry * math.cos(angle)
        points.append(
            (
                cx + math.cos(tilt) * x - math.sin(tilt) * y,
                cy + math.sin(tilt) * x + math.cos(tilt) * y,
            )
        )
    return canvas([points], width)


def one(cx: float, cy: float, height: float, slant: float = 0.0, width: int = 20, flag=False):
    dx = math.tan(slant) * height / 2
    top, bottom = (cx + dx, cy - height / 2), (cx - dx, cy + height / 2)
    stroke = (
        [(top[0] - height * 0.25, top[1] + height * 0.2), top, bottom] if flag else [top, bottom]
    )
    return canvas([stroke], width)


ZEROS = {
    "centred": zero(140, 140, 70, 100),
    "small-top-left": zero(80, 85, 40, 60, width=10),
    "slanted-thick": zero(180, 170, 60, 85, tilt=0.3, width=30),
    "big-thin": zero(140, 140, 105, 115, width=12),
    "narrow": zero(140, 150, 45, 110, tilt=-0.25, width=24),
    "wide": zero(140, 140, 100, 65, width=20),
}
ONES = {
    "centred": one(140, 140, 200),
    "small-left": one(70, 110, 110, width=10),
    "slanted-right-thick": one(200, 160, 180, slant=0.35, width=30),
    "slanted-left": one(140, 140, 230, slant=-0.25, width=14),
    "with-flag": one(150, 150, 200, flag=True, width=18),
    "very-thick": one(140, 140, 240, slant=0.15, width=40),
}


@pytest.fixture(scope="module")
def neighbours() -> TrainingNeighbours:
    splits = load_splits()
    return TrainingNeighbours.calibrated(splits.train.x, splits.validation.x)


@pytest.fixture(scope="module")
def weights() -> NetworkWeights:
    return load_pretrained().weights


def test_nearest_distances_match_a_brute_force_search() -> None:
    rng = np.random.default_rng(0)
    reference = rng.random((30, INPUT_FEATURES), dtype=np.float32)
    queries = rng.random((5, INPUT_FEATURES), dtype=np.float32)
    brute = np.linalg.norm(queries[:, None] - reference[None], axis=2).min(axis=1)
    assert np.allclose(nearest_distances(reference, queries), brute, atol=1e-3)


def test_threshold_lets_through_all_but_the_most_unusual_held_out_digits(neighbours) -> None:
    validation = load_splits().validation.x
    familiar = np.mean(
        [neighbours.nearest_distance(row) <= neighbours.threshold for row in validation]
    )
    assert familiar == pytest.approx(NOVELTY_QUANTILE, abs=0.01)


@pytest.mark.parametrize("name", ZEROS)
def test_varied_drawn_zeros_are_zeros(name: str, weights, neighbours) -> None:
    answer = read_drawing(ZEROS[name], weights, neighbours).answer
    assert answer.digit == 0 and answer.probability < 0.2
    assert not answer.uncertain, answer.explanation()


@pytest.mark.parametrize("name", ONES)
def test_varied_drawn_ones_are_ones(name: str, weights, neighbours) -> None:
    answer = read_drawing(ONES[name], weights, neighbours).answer
    assert answer.digit == 1 and answer.probability > 0.8
    assert not answer.uncertain, answer.explanation()


@pytest.mark.parametrize("seed", range(4))
def test_a_full_canvas_scribble_is_marked_unfamiliar(seed: int, weights, neighbours) -> None:
    rng = np.random.default_rng(seed)
    scribble = canvas([[tuple(point) for point in rng.uniform(10, 270, (40, 2))]], width=20)
    answer = read_drawing(scribble, weights, neighbours).answer
    assert answer.digit in (0, 1)
    assert REASON_UNFAMILIAR in answer.reasons
    assert "far from every training image" in answer.explanation()
    assert ONLY_ZERO_OR_ONE in answer.explanation()


def test_a_probability_near_one_half_is_marked_unsure(weights, neighbours) -> None:
    # All-zero weights make every output sigmoid(0) = 0.5.
    undecided = NetworkWeights(
        tuple(np.zeros_like(kernel) for kernel in weights.kernels),
        tuple(np.zeros_like(bias) for bias in weights.biases),
        "sigmoid",
    )
    answer = classify(undecided, neighbours.reference[0], neighbours)
    assert answer.probability == pytest.approx(0.5)
    assert answer.reasons == (REASON_UNSURE,)
    assert "unsure" in answer.explanation()


def test_an_empty_canvas_gets_no_answer(weights, neighbours) -> None:
    reading = read_drawing(np.zeros((CANVAS_SIDE, CANVAS_SIDE, 4), np.uint8), weights, neighbours)
    assert reading.answer is None
    assert reading.steps.problem == "empty"


def test_the_answer_carries_every_layer_of_the_forward_pass(weights, neighbours) -> None:
    answer = read_drawing(ONES["centred"], weights, neighbours).answer
    assert [layer.shape for layer in answer.layers.activations] == [(1, 25), (1, 15), (1, 1)]
    assert answer.layers.probabilities[0] == pytest.approx(answer.probability)
    assert answer.explanation() == ""
