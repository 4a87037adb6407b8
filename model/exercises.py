"""Ready-made experiments from the lesson: a question, a one-click setup, an answer to reveal."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from model.config import MAX_INPUT_NOISE, MAX_LEARNING_RATE, TrainConfig

# Changing the seed alone keeps an experiment the same experiment.
IGNORED_WHEN_MATCHING = ("seed",)
TEN_IMAGES = 10
LABEL_NOISE_SHARE = 0.33


@dataclass(frozen=True)
class Exercise:
    """One scenario: the settings it changes from the lesson's network, and what it shows."""

    id: str
    title: str
    question: str
    changes: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    explanation: str = ""

    def config(self, base: TrainConfig | None = None) -> TrainConfig:
        """The lesson's settings (or `base`) with this exercise's changes applied."""
        return (base if base is not None else TrainConfig()).with_changes(**self.changes)


def _exercise(id: str, title: str, question: str, explanation: str, **changes: Any) -> Exercise:
    return Exercise(id, title, question, MappingProxyType(changes), explanation)


EXERCISES = (
    _exercise(
        "one_hidden_unit",
        "One hidden unit",
        "The lesson uses 25 and 15 hidden units. What happens with a single hidden layer "
        "of just one unit? Will it still tell a 0 from a 1?",
        "It still gets almost every test image right, but it needs many more epochs: the "
        "first epochs sit at 50 % (guessing) and the loss ends far higher than with 25 and "
        "15 units. Zeros and ones differ so clearly (a ring of ink against a single stroke) "
        "that one weighted sum of the 400 pixels, one neuron, is enough to separate them. "
        "Harder problems, such as all ten digits, need more units.",
        hidden_units=(1,),
    ),
    _exercise(
        "learning_rate_too_high",
        "Learning rate far too high",
        f"Set Adam's learning rate to {MAX_LEARNING_RATE:g}, a thousand times the default. "
        "Do bigger steps mean faster learning?",
        "Usually not: each step jumps far past the bottom of the loss, so the loss curve "
        "bounces instead of falling, and the sigmoids saturate (their outputs stick at 0 or "
        "1, where the gradient is almost zero). With some seeds the network never gets past "
        "50 % accuracy, guessing one class for every image; with others it lands on a "
        "decent answer by luck and then wobbles. Try two seeds and compare.",
        learning_rate=MAX_LEARNING_RATE,
    ),
    _exercise(
        "relu_instead_of_sigmoid",
        "Sigmoid vs ReLU",
        "Replace the sigmoid in the hidden layers with ReLU, max(0, z); the output stays a "
        "sigmoid. Compare the loss curve with a sigmoid run: which learns faster?",
        "ReLU usually drives the loss down much faster in the first epochs. A sigmoid's slope "
        "is at most 0.25 and almost zero once |z| is large, so backpropagation passes back "
        "small gradients; ReLU's slope is exactly 1 wherever the unit is active. The output "
        "layer keeps its sigmoid because the answer must be a probability between 0 and 1.",
        activation="relu",
    ),
    _exercise(
        "mse_instead_of_cross_entropy",
        "MSE instead of cross-entropy",
        "Compile with mean squared error instead of binary cross-entropy. Does the network "
        "still learn? Can you compare the two loss curves directly?",
        "On this easy problem it still reaches nearly the same accuracy, but the numbers are "
        "not comparable: guessing 0.5 costs 0.25 with MSE and about 0.69 with cross-entropy. "
        "Cross-entropy punishes a confident wrong answer without limit (−log of a tiny "
        "probability), while MSE's penalty is at most 1 and its gradient through the sigmoid "
        "vanishes exactly when the network is confidently wrong. That is why the lesson uses "
        "binary cross-entropy for a yes/no output.",
        loss="mean_squared_error",
    ),
    _exercise(
        "one_epoch",
        "One epoch only",
        "Train for a single epoch: every training image is seen once. How good is the "
        "network after that?",
        "It depends on luck. One epoch of 700 images in batches of 32 is only 22 small "
        "weight updates, so some starting weights (seeds) already reach over 90 % while "
        "others are still guessing at 50 %. Try a few seeds: the default 100 epochs make the "
        "result reliable.",
        epochs=1,
    ),
    _exercise(
        "sgd_instead_of_adam",
        "Plain SGD instead of Adam",
        "Keep the learning rate at 0.001 but swap Adam for plain gradient descent (SGD). "
        "Does the optimizer matter if the loss and the network are the same?",
        "A lot: with SGD the accuracy can stay at 50 % for dozens of epochs and the loss "
        "creeps down slowly. SGD moves each weight by learning rate × gradient, and these "
        "gradients are tiny, so the steps are tiny. Adam divides each weight's gradient by "
        "a running average of its size, so every weight moves at about the learning rate "
        "per step. With SGD, raise the learning rate (try 0.5) to see it learn.",
        optimizer="sgd",
    ),
    _exercise(
        "ten_images",
        "Ten images: does it still generalise?",
        f"Train on only {TEN_IMAGES} of the 700 training images (five 0s and five 1s). Will a "
        "network with 10,431 parameters that has seen ten digits read the 150 test images?",
        "Surprisingly well: it gets nearly all test images right (the three seeds we "
        "tried all scored 100 % on the test split), because a 0 and a 1 differ in where the ink is, "
        "and ten examples already show that. But look at the loss: ten images are a single "
        "batch, so 100 epochs are only 100 weight updates, and the validation loss ends "
        "near 0.2 instead of 0.01: the network is right but unsure. The first epochs sit "
        "at 50 % with some seeds. Real handwriting that differs from these ten (try the "
        "Draw page) is where so few examples show.",
        train_size=TEN_IMAGES,
    ),
    _exercise(
        "a_third_of_labels_wrong",
        "A third of the labels are wrong",
        f"Flip the label of {LABEL_NOISE_SHARE:.0%} of the training images: those 0s are "
        "called 1s and those 1s 0s. The validation and test images keep their true labels. "
        "What happens to the curves?",
        "Watch the validation accuracy: within the first ten epochs it is at 99-100 %, "
        "because the two thirds of right labels agree with each other and the wrong ones "
        "cancel out. Then it falls, to about 85 % after 100 epochs, while the training "
        "accuracy climbs past 67 % (the share of right labels): the network is learning the "
        "wrong labels by heart, image by image. That is overfitting, and the validation "
        "loss, lowest after 20 to 50 epochs, says when to stop. Try 20 epochs.",
        label_noise=LABEL_NOISE_SHARE,
    ),
    _exercise(
        "noisy_pixels",
        "Snow on every pixel",
        f"Add random noise of standard deviation {MAX_INPUT_NOISE:g} to every pixel of the "
        "training images (the test images stay clean). Does the network still learn?",
        "Yes, as well as without noise: 100 % on the test images. The noise of each pixel "
        "is independent, and each hidden unit adds up 400 weighted pixels, so the noise "
        "mostly cancels out while the digit's shape, spread over many pixels, adds up. "
        "Noise is even a known way to make a network less sensitive to single pixels. "
        "Compare: a third of wrong labels (the card above) hurts far more than this.",
        input_noise=MAX_INPUT_NOISE,
    ),
)
EXERCISES_BY_ID = {exercise.id: exercise for exercise in EXERCISES}


def exercise_by_id(exercise_id: str) -> Exercise | None:
    return EXERCISES_BY_ID.get(exercise_id)


def _comparable(config: TrainConfig) -> dict[str, Any]:
    data = config.to_dict()
    for name in IGNORED_WHEN_MATCHING:
        data.pop(name)
    return data


def matching_exercise(config: TrainConfig) -> Exercise | None:
    """The exercise whose setup this config is (any seed), so its card can stay open."""
    wanted = _comparable(config)
    for exercise in EXERCISES:
        if _comparable(exercise.config()) == wanted:
            return exercise
    return None
