"""Robustness probes: each variation does what it says, sweeps are one batch, flips are found."""

from __future__ import annotations

import numpy as np
import pytest

from model.data import load_bundled
from model.forward import predict_proba
from model.preprocess import canvas_from_image28, preprocess
from model.probes import (
    NOTHING_LEFT,
    OUT_OF_FRAME,
    PROBE_RANGES,
    SWEEP_POINTS,
    Sweep,
    Variation,
    frame_problem,
    sweeps,
    varied_frame,
    varied_input,
)
from model.storage import load_pretrained


def vertical_bar() -> np.ndarray:
    frame = np.zeros((28, 28), dtype=np.float32)
    frame[4:24, 13:15] = 1.0
    return frame


def digit_frame(label: int) -> np.ndarray:
    dataset = load_bundled()
    row = int(np.flatnonzero(dataset.labels == label)[0])
    return preprocess(canvas_from_image28(dataset.images[row])).framed


def test_no_variation_gives_exactly_the_drawings_input() -> None:
    dataset = load_bundled()
    steps = preprocess(canvas_from_image28(dataset.images[3]))
    assert np.allclose(varied_input(steps.framed, Variation()), steps.features, atol=1e-6)


def test_shift_moves_the_ink_by_whole_pixels() -> None:
    moved = varied_frame(vertical_bar(), Variation(shift_x=3, shift_y=-2))
    assert np.array_equal(moved[2:22, 16:18], np.ones((20, 2)))
    assert moved.sum() == pytest.approx(40.0)


def test_rotation_turns_anticlockwise_and_ninety_degrees_lies_the_bar_down() -> None:
    flat = varied_frame(vertical_bar(), Variation(rotation=90))
    assert flat.sum(axis=1)[13:15].min() > 15 and flat.sum(axis=0).max() < 2.5
    rows, columns = np.nonzero(varied_frame(vertical_bar(), Variation(rotation=30)) > 0.5)
    assert columns[rows.argmin()] < 14 < columns[rows.argmax()]  # the top leans left


def test_scale_and_thickness_change_the_ink_as_expected() -> None:
    bar = vertical_bar()
    assert varied_frame(bar, Variation(scale=0.5)).sum() == pytest.approx(10.0, rel=0.1)
    assert varied_frame(bar, Variation(thickness=2)).sum() > 1.8 * bar.sum()
    assert varied_frame(bar, Variation(thickness=1)).sum() > 1.3 * bar.sum()
    assert varied_frame(bar, Variation(thickness=-2)).sum() == 0.0


def test_out_of_range_values_are_refused_with_the_range() -> None:
    with pytest.raises(ValueError, match=r"between 0\.4 and 1\.6"):
        Variation(scale=5.0)
    with pytest.raises(ValueError, match="between"):
        Variation(rotation=float("nan"))


def test_pushing_the_drawing_out_of_the_frame_is_reported() -> None:
    bar = vertical_bar()
    assert frame_problem(bar, Variation()) is None
    assert frame_problem(bar, Variation(shift_x=8)) is None
    assert frame_problem(bar, Variation(scale=1.6)) == OUT_OF_FRAME
    assert frame_problem(bar, Variation(rotation=90, shift_y=8, scale=1.6)) == OUT_OF_FRAME
    assert frame_problem(bar, Variation(thickness=-2)) == NOTHING_LEFT


def test_sweeps_cover_every_range_in_one_batch_and_agree_with_single_inputs(monkeypatch) -> None:
    weights = load_pretrained().weights
    frame = digit_frame(1)
    calls = []
    import model.probes as probes

    def counted(weights, x):
        calls.append(len(x))
        return predict_proba(weights, x)

    monkeypatch.setattr(probes, "predict_proba", counted)
    base = Variation(rotation=12.5)
    result = sweeps(weights, frame, base)
    assert len(calls) == 1
    assert [sweep.name for sweep in result] == list(PROBE_RANGES)
    for sweep in result:
        low, high, _, _ = PROBE_RANGES[sweep.name]
        assert sweep.values[0] == low and sweep.values[-1] == high
        assert len(sweep.values) in (SWEEP_POINTS, SWEEP_POINTS + 1)
        assert sweep.current == getattr(base, sweep.name)
        here = sweep.probabilities[list(sweep.values).index(sweep.current)]
        alone = predict_proba(weights, varied_input(frame, base))[0]
        assert here == pytest.approx(alone, abs=1e-6)


def test_flips_are_where_the_probability_crosses_one_half() -> None:
    sweep = Sweep(
        "rotation",
        np.array([0.0, 10.0, 20.0, 30.0]),
        np.array([0.9, 0.7, 0.3, 0.2]),
        current=0.0,
    )
    assert sweep.flips == [pytest.approx(15.0)]
    steady = Sweep("scale", np.array([0.5, 1.0]), np.array([0.1, 0.2]), current=1.0)
    assert steady.flips == []


def test_a_one_pushed_far_to_the_side_stops_being_read_as_a_one() -> None:
    weights = load_pretrained().weights
    frame = digit_frame(1)
    assert predict_proba(weights, varied_input(frame, Variation()))[0] > 0.5
    shift = next(sweep for sweep in sweeps(weights, frame) if sweep.name == "shift_x")
    assert shift.flips, "a 1 at the frame's edge no longer looks like the centred 1s it learned"
    assert all(abs(position) > 1 for position in shift.flips)
