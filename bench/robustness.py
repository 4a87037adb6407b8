"""Robustness: the bundled model against the plain lesson model on distorted, scanned test digits.

Run: `python bench/robustness.py [MODEL_FOLDER] [--split validation]` (default:
`assets/pretrained`, the test split). Tune augmentation on the validation split and report
the test split, so that the test digits do not pick the settings. Each held-out image (never
trained on) is distorted
VARIANTS times per family with this bench's own random stream, drawn as dark ink on light,
noisy paper at a coarse scan resolution, saved as a PNG and read back exactly as the Draw page
reads an upload (`model.uploads.decode_upload`, then `model.preprocess.preprocess` with
`upload=True`). Both
networks answer with the app's NumPy forward pass. Accuracies count the images the page could
read; "bundled/all" and `robustness_min_all_images` count the unreadable ones as misses. The plain model is the lesson's network
trained without augmentation on the same split with the same seed. Prints one line per family,
the clean MNIST test accuracy of both, and last `robustness_min: P`, the bundled model's worst
family (target 0.99).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.config import TrainConfig
from model.data import load_bundled, load_splits
from model.distort import (
    blurred,
    broken,
    canvas_ink,
    elastic,
    flagged,
    on_paper,
    reshaped,
    restroked,
    scanned,
    upscaled,
)
from model.forward import NetworkWeights, accuracy, predict_proba
from model.preprocess import preprocess
from model.storage import load_model
from model.uploads import decode_upload

PRETRAINED = Path(__file__).resolve().parent.parent / "assets" / "pretrained"
VARIANTS = 4
# Apart from every stream training uses (seeds and small stream numbers), so no test
# distortion repeats one the bundled model was trained on.
BENCH_STREAM = 20_261_201
# The scan: the canvas (digit in its middle half) at this many pixels a side, so a digit is
# about 28 to 48 pixels tall, on paper with this much sensor noise.
SCAN_SIDE = (56, 96)
SCAN_NOISE = 0.03
# A scanner lights the sheet evenly: at most this much darker from one side to the other.
SCAN_SHADE = 0.05
UPLOAD_LIMIT = 10_000_000

Distortion = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Family:
    name: str
    distort: Distortion
    labels: tuple[int, ...] = (0, 1)
    scan_side: tuple[int, int] = SCAN_SIDE
    noise: float = SCAN_NOISE


def _sign(rng: np.random.Generator) -> float:
    return float(rng.choice((-1.0, 1.0)))


def _narrow_thin_zero(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    narrow = reshaped(ink, aspect=rng.uniform(0.4, 0.6), shear=rng.uniform(-0.2, 0.2))
    thin = restroked(narrow, -int(rng.choice((3, 4))))
    return broken(thin, rng, int(rng.integers(1, 3)), rng.uniform(0.8, 1.5))


FAMILIES = (
    Family("clean", lambda ink, rng: ink),
    Family("squeezed", lambda ink, rng: reshaped(ink, aspect=rng.uniform(0.4, 0.65))),
    Family("stretched", lambda ink, rng: reshaped(ink, aspect=rng.uniform(1.4, 1.8))),
    Family("thin", lambda ink, rng: restroked(ink, -int(rng.choice((3, 4))))),
    Family("thick", lambda ink, rng: restroked(ink, int(rng.choice((6, 7, 8))))),
    Family(
        "broken",
        lambda ink, rng: broken(ink, rng, int(rng.integers(1, 4)), rng.uniform(0.8, 1.8)),
    ),
    Family("slanted", lambda ink, rng: reshaped(ink, shear=_sign(rng) * rng.uniform(0.3, 0.55))),
    Family("rotated", lambda ink, rng: reshaped(ink, degrees=_sign(rng) * rng.uniform(12, 25))),
    Family("elastic", lambda ink, rng: elastic(ink, rng, rng.uniform(0.02, 0.05))),
    Family(
        "low_res_upscaled", lambda ink, rng: upscaled(ink, int(rng.integers(18, 30))), noise=0.0
    ),
    Family("blurred", lambda ink, rng: blurred(ink, rng.uniform(2, 4.5))),
    Family("paper_noise", lambda ink, rng: ink, noise=0.08),
    Family(
        "one_with_flag",
        lambda ink, rng: flagged(ink, flag=rng.uniform(0.3, 0.6), angle=rng.uniform(15, 55)),
        labels=(1,),
    ),
    Family(
        "one_with_flag_and_base",
        lambda ink, rng: flagged(
            ink, flag=rng.uniform(0.2, 0.5), angle=rng.uniform(15, 55), base=rng.uniform(0.4, 0.8)
        ),
        labels=(1,),
    ),
    Family("narrow_thin_broken_zero", _narrow_thin_zero, labels=(0,)),
)


def upload_png(ink: np.ndarray, family: Family, rng: np.random.Generator) -> bytes:
    """The distorted digit as a coarse grayscale scan of dark ink on paper, PNG-encoded."""
    small = scanned(ink, int(rng.integers(family.scan_side[0], family.scan_side[1] + 1)))
    gray = on_paper(small, rng, family.noise, rng.uniform(0, SCAN_SHADE))
    buffer = io.BytesIO()
    Image.fromarray(np.round(gray * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def through_the_draw_page(png: bytes) -> np.ndarray | None:
    steps = preprocess(decode_upload(png, max_bytes=UPLOAD_LIMIT).rgba, upload=True)
    return steps.features


def family_inputs(family: Family, images: np.ndarray, labels: np.ndarray) -> tuple:
    rng = np.random.default_rng([BENCH_STREAM, FAMILIES.index(family)])
    rows, targets, unreadable = [], [], 0
    for image, label in zip(images, labels, strict=True):
        if int(label) not in family.labels:
            continue
        for _ in range(VARIANTS):
            features = through_the_draw_page(
                upload_png(family.distort(canvas_ink(image), rng), family, rng)
            )
            if features is None:
                unreadable += 1
                continue
            rows.append(features)
            targets.append(float(label))
    return np.stack(rows), np.array(targets, dtype=np.float32), unreadable


def plain_model() -> NetworkWeights:
    from model.training import train

    return train(TrainConfig(), load_splits()).weights


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python bench/robustness.py", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=PRETRAINED)
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    args = parser.parse_args(argv)
    folder = args.folder
    splits = load_splits()
    dataset = load_bundled()
    held_out = getattr(splits, args.split)
    images, labels = dataset.images[held_out.indices], dataset.labels[held_out.indices]
    bundled = load_model(folder)
    started = time.perf_counter()
    plain = plain_model()
    print(f"plain lesson model trained in {time.perf_counter() - started:.1f} s")
    print(f"bundled model: {bundled.metrics.get('command', '?')}")
    print(f"distorted images of the {args.split} split ({len(held_out)} digits)")
    models = {"bundled": bundled.weights, "plain": plain}
    print(f"{'family':26s} {'images':>6s} {'bundled':>8s} {'plain':>8s} {'bundled/all':>11s}")
    worst = worst_of_all = 1.0
    for family in FAMILIES:
        x, y, unreadable = family_inputs(family, images, labels)
        scores = {name: accuracy(weights, x, y) for name, weights in models.items()}
        # The page answers "too small" or "empty" for an unreadable one: not a misreading, but
        # not a right answer either, and a preprocessing change can trade one for the other.
        of_all = scores["bundled"] * len(y) / (len(y) + unreadable)
        worst, worst_of_all = min(worst, scores["bundled"]), min(worst_of_all, of_all)
        note = f"  ({unreadable} unreadable)" if unreadable else ""
        print(
            f"{family.name:26s} {len(y):6d} {scores['bundled']:8.4f} {scores['plain']:8.4f} "
            f"{of_all:11.4f}{note}",
            flush=True,
        )
    for name, weights in models.items():
        p = predict_proba(weights, held_out.x)
        hits = float(np.mean((p >= 0.5) == (held_out.y >= 0.5)))
        print(f"mnist_{args.split}_accuracy {name}: {hits:.4f} ({len(held_out)} images)")
    print(f"robustness_min_all_images: {worst_of_all:.4f}")
    print(f"robustness_min: {worst:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
