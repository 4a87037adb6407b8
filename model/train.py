"""Headless training: `python -m model.train --epochs 100 --units 25 15 --out DIR`.

`--dataset class --class-drawings FILE.npz` adds a class's drawings (arrays `images`, n×400
or n×20×20 float32 in [0, 1], and `labels`, 0 or 1) to the bundled images.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from model.config import ACTIVATIONS, DATASETS, LOSSES, OPTIMIZERS, ConfigError, TrainConfig
from model.data import CLASS_DRAWINGS_MISSING, DatasetUnavailable, Splits, load_splits
from model.forward import NetworkWeights, accuracy
from model.storage import SavedModel, save_model
from model.training import EpochLog, prepare_splits, train

KERAS_FILE = "model.keras"


def parse_config(argv: Sequence[str] | None = None) -> tuple[TrainConfig, Path | None]:
    config, out, _drawings = parse_command(argv)
    return config, out


def parse_command(
    argv: Sequence[str] | None = None,
) -> tuple[TrainConfig, Path | None, Path | None]:
    """The config, the output folder and the class-drawings file of a command line."""
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
    return config, args.out, args.class_drawings


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
    config, out, drawings_file = parse_command(argv)
    try:
        if config.dataset == "class":
            splits, prepared = class_splits(config, drawings_file), True
        else:
            splits, prepared = load_splits(config.dataset), False
    except DatasetUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"data: {splits.sizes()}  network: {config.to_dict()}", flush=True)
    started = time.perf_counter()
    result = train(config, splits, on_epoch=print_epoch, prepared=prepared)
    seconds = time.perf_counter() - started
    if result.diverged:
        print("stopped: the loss became NaN or infinite; kept the last finite weights")
    test_accuracy = accuracy(result.weights, splits.test.x, splits.test.y)
    print(f"test accuracy {test_accuracy:.4f} on {len(splits.test)} images ({seconds:.1f} s)")
    if out is not None:
        metrics = {
            "test_accuracy": test_accuracy,
            "test_size": len(splits.test),
            "epochs_trained": len(result.history),
            "command": "python -m model.train " + " ".join(sys.argv[1:] if argv is None else argv),
        }
        save_model(out, SavedModel(config, result.weights, metrics))
        from model.network import keras_file_bytes, model_from_weights

        (out / KERAS_FILE).write_bytes(keras_file_bytes(model_from_weights(config, result.weights)))
        print(f"saved {out / KERAS_FILE} and {out}/config.json + weights.npz")
        print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
