""" "Show the code": the lesson's three Keras steps for the current settings, as a runnable script."""

from __future__ import annotations

from model.config import INPUT_FEATURES, INPUT_SIDE, OPTIMIZER_LABELS, TrainConfig, describe
from model.data import BUNDLED_DATASET, MNIST_SIDE
from model.lesson_code import compile_code, fit_code, imports_code, loss_name, specify_code

BUNDLED_LOADER = f"""# The lab's 1,000 handwritten 0s and 1s (run this from the project folder).
with np.load("assets/{BUNDLED_DATASET.name}") as archive:
    images, y = archive["images"], archive["labels"].astype("float32")"""

MNIST_LOADER = """# Every 0 and 1 of MNIST, downloaded by Keras the first time.
(train_images, train_labels), (test_images, test_labels) = keras.datasets.mnist.load_data()
images = np.concatenate([train_images, test_images])
labels = np.concatenate([train_labels, test_labels])
images, y = images[labels <= 1], labels[labels <= 1].astype("float32")"""


def data_code(config: TrainConfig) -> str:
    """The Train page's data settings applied to `X` and `y`, or nothing for the lesson's data."""
    lines = []
    if config.train_size is not None:
        lines += [
            f"# Keep {config.train_size} images, with the same share of 0s and 1s as the whole set.",
            "keep = np.concatenate([",
            f"    rng.choice(np.flatnonzero(y == label), round({config.train_size} * np.mean(y == label)), replace=False)",
            "    for label in (0, 1)",
            "])",
            "X, y = X[keep], y[keep]",
        ]
    if config.label_noise > 0:
        lines += [
            f"# Give {config.label_noise:.0%} of the images the wrong label.",
            f"flip = rng.choice(len(y), round({config.label_noise!r} * len(y)), replace=False)",
            "y[flip] = 1 - y[flip]",
        ]
    if config.input_noise > 0:
        lines += [
            f"# Add Gaussian noise (std {config.input_noise:g}) to every pixel, kept within [0, 1].",
            f'X = np.clip(X + rng.normal(0.0, {config.input_noise!r}, X.shape), 0.0, 1.0).astype("float32")',
        ]
    if not lines:
        return ""
    intro = (
        "# The app does this to its training images only: validation and test images stay clean.\n"
        f"rng = np.random.default_rng({config.seed})\n"
    )
    return "\n" + intro + "\n".join(lines) + "\n"


def keras_script(config: TrainConfig) -> str:
    """Python source that loads the data, then specifies, compiles and fits this network."""
    loader = MNIST_LOADER if config.dataset == "mnist" else BUNDLED_LOADER
    return f'''"""Zero-or-One Lab: {describe(config)}."""

import keras
import numpy as np
from PIL import Image
{imports_code(config)}

{loader}

# Each {MNIST_SIDE}×{MNIST_SIDE} image is averaged down to {INPUT_SIDE}×{INPUT_SIDE}: {INPUT_FEATURES} numbers in [0, 1].
X = np.stack(
    [
        np.asarray(Image.fromarray(image / 255.0).resize(({INPUT_SIDE}, {INPUT_SIDE}), Image.Resampling.BOX))
        for image in images.astype("float32")
    ]
).reshape(len(images), {INPUT_FEATURES})
{data_code(config)}
keras.utils.set_random_seed({config.seed})

# Step 1: specify the model.
{specify_code(config)}
model.summary()

# Step 2: compile it with a loss ({loss_name(config)}) and an optimizer ({OPTIMIZER_LABELS[config.optimizer]}).
{compile_code(config)}

# Step 3: fit it.
{fit_code(config)}
print("probability that the first image is a 1:", float(model.predict(X[:1], verbose=0)[0, 0]))
'''
