"""Balance a folder of images (one subfolder per class) with ganaug, from the command line.

    python examples/balance_image_folder.py DIR [hydra overrides...]
    python examples/balance_image_folder.py --demo DIR   # first writes an imbalanced demo folder to DIR

The folder is used as it is (`imbalance=none`): the classes below half the largest one get
generated samples, and every strategy is compared on a stratified test split.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits


def write_demo_folder(root: Path, per_class: tuple[int, ...] = (120, 110, 100, 90, 30, 12)) -> None:
    """Write digits 0..5 as PNG files, one subfolder per class, with a long tail."""
    digits = load_digits()
    for cls, n in enumerate(per_class):
        folder = root / f"digit_{cls}"
        folder.mkdir(parents=True, exist_ok=True)
        images = digits.images[digits.target == cls][:n]
        for i, img in enumerate(images):
            Image.fromarray(np.round(img * 255 / 16).astype(np.uint8)).save(folder / f"{i:04d}.png")


def main() -> int:
    """Optionally write the demo folder, then run the whole flow on the folder."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="the image folder (one subfolder per class)")
    parser.add_argument("--demo", action="store_true", help="first write an imbalanced demo folder to ROOT")
    args, overrides = parser.parse_known_args()
    if args.demo:
        write_demo_folder(args.root)
    command = [sys.executable, "-m", "ganaug", "data=image_folder", f"data.root={args.root}", "imbalance=none",
               *overrides]
    return subprocess.call(command)


if __name__ == "__main__":
    sys.exit(main())
