"""Headless training: `python -m model.train --epochs 100 --units 25 15 --out DIR`.

`--average-last N` keeps the mean of the weights at the ends of the last N epochs (Polyak
averaging) rather than the last epoch's alone.

`--dataset class --class-drawings FILE.npz` adds a class's drawings (arrays `images`, n×400
or n×20×20 float32 in [0, 1], and `labels`, 0 or 1) to the bundled images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.config import ACTIVATIONS, DATASETS, LOSSES, OPTIMIZERS, ConfigError, TrainConfig
from model.data import CLASS_DRAWINGS_MISSING, DatasetUnavailable, Splits, load_splits
from model.forward import NetworkWeights, accuracy, mean_weights
from model.storage import SavedModel, save_model
from model.training import EpochLog, prepare_splits, train

KERAS_FILE = "model.keras"


@dataclass(frozen=True)
class Command:
    """What a command line asks for beyond the run's settings."""

    config: TrainConfig
    out: Path | None = None
    class_drawings: Path | None = None
    # Epochs at the end whose weights are averaged (0: keep the last epoch's).
    average_last: int = 0


def parse_config(argv: Sequence[str] | None = None) -> tuple[TrainConfig, Path | None]:
    command = parse_command(argv)
    return command.config, command.out


def parse_command(argv: Sequence[str] | None = None) -> Command:
    """The config, the output folder, the class-drawings file and the averaging of a command line."""
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="python -m model.train", description=__doc__)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--units", type=int, nargs="+", default=list(defaults.hidden_units))
    parser.add_argument("--activation", choices=ACTIVATIONS, default=defaults.activation)
    parser.add_argument("--loss", choices=LOSSES, default=defaults.loss)
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    parser.add_argument("--lr", type=float, default=defaults.learning_rate)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--dataset", choices=DATASETS, default=defaults.dataset)
    parser.add_argument(
        "--augment", action="store_true", help="train on shifted, scaled, rotated copies too"
    )
    parser.add_argument(
        "--train-size", type=int, help="train on this many images, stratified (default: all)"
    )
    parser.add_argument(
        "--label-noise", type=float, default=defaults.label_noise, help="share of labels flipped"
    )
    parser.add_argument(
        "--input-noise",
        type=float,
        default=defaults.input_noise,
        help="std of the Gaussian noise added to the training pixels",
    )
    parser.add_argument(
        "--average-last",
        type=int,
        default=0,
        metavar="N",
        help="keep the mean of the weights at the ends of the last N epochs (default: 0, the last)",
    )
    parser.add_argument(
        "--out", type=Path, help="folder for model.keras, config.json and weights.npz"
    )
    parser.add_argument(
        "--class-drawings",
        type=Path,
        help="with --dataset class: a .npz of the class's drawings (`images`, `labels`)",
    )
    args = parser.parse_args(argv)
    if args.class_drawings is not None and args.dataset != "class":
        parser.error("--class-drawings needs --dataset class")
    try:
        config = TrainConfig(
            hidden_units=tuple(args.units),
            activation=args.activation,
            loss=args.loss,
            optimizer=args.optimizer,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            epochs=args.epochs,
            seed=args.seed,
            dataset=args.dataset,
            augment=args.augment,
            train_size=args.train_size,
            label_noise=args.label_noise,
            input_noise=args.input_noise,
        )
    except ConfigError as error:
        parser.error(str(error))
    if not 0 <= args.average_last <= config.epochs:
        parser.error(f"--average-last needs 0 to {config.epochs} epochs (the run's --epochs)")
    return Command(config, args.out, args.class_drawings, args.average_last)


def class_splits(config: TrainConfig, drawings_file: Path | None) -> Splits:
    """The bundled splits plus the file's drawings, prepared as the config asks."""
    from model.class_data import ClassDrawings, class_dataset, with_class_drawings
    from model.data import load_bundled

    if drawings_file is None:
        raise DatasetUnavailable(
            f"{CLASS_DRAWINGS_MISSING} Pass them with --class-drawings FILE.npz."
        )
    try:
        with np.load(drawings_file, allow_pickle=False) as archive:
            drawings = ClassDrawings.checked(archive["images"], archive["labels"])
    except (OSError, KeyError, ValueError) as error:
        raise DatasetUnavailable(
            f"cannot use the class drawings {drawings_file}: {error}"
        ) from error
    combined = with_class_drawings(load_splits("bundled"), drawings, config.seed)
    source = class_dataset(load_bundled(), drawings) if config.augment else None
    return prepare_splits(config, combined, source)


def print_epoch(log: EpochLog, _weights: NetworkWeights) -> None:
    print(
        f"epoch {log.epoch:4d}  loss {log.loss:.4f}  accuracy {log.accuracy:.4f}  "
        f"val_loss {log.val_loss:.4f}  val_accuracy {log.val_accuracy:.4f}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    command = parse_command(argv)
    config, out = command.config, command.out
    try:
        if config.dataset == "class":
            splits, prepared = class_splits(config, command.class_drawings), True
        else:
            splits, prepared = load_splits(config.dataset), False
    except DatasetUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"data: {splits.sizes()}  network: {config.to_dict()}", flush=True)
    started = time.perf_counter()
    # Each epoch's log comes with the weights at the end of its graph call; a call that trains
    # several epochs stands for each of them.
    window: list[NetworkWeights] = []

    def on_epoch(log: EpochLog, weights: NetworkWeights) -> None:
        print_epoch(log, weights)
        if log.epoch > config.epochs - command.average_last:
            window.append(weights)

    result = train(config, splits, on_epoch=on_epoch, prepared=prepared)
    seconds = time.perf_counter() - started
    weights, averaged = result.weights, 0
    if result.diverged:
        print("stopped: the loss became NaN or infinite; kept the last finite weights")
    elif window:
        weights, averaged = mean_weights(window), len(window)
        print(f"kept the mean of the weights at the ends of the last {len(window)} epochs")
    test_accuracy = accuracy(weights, splits.test.x, splits.test.y)
    print(f"test accuracy {test_accuracy:.4f} on {len(splits.test)} images ({seconds:.1f} s)")
    if out is not None:
        metrics = {
            "test_accuracy": test_accuracy,
            "test_size": len(splits.test),
            "epochs_trained": len(result.history),
            "epochs_averaged": averaged,
            "command": "python -m model.train " + " ".join(sys.argv[1:] if argv is None else argv),
        }
        save_model(out, SavedModel(config, weights, metrics))
        from model.network import keras_file_bytes, model_from_weights

        (out / KERAS_FILE).write_bytes(keras_file_bytes(model_from_weights(config, weights)))
        print(f"saved {out / KERAS_FILE} and {out}/config.json + weights.npz")
        print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
