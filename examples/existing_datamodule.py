"""Add ganaug to a Lightning project you already have: one call wraps your datamodule.

    python examples/existing_datamodule.py [--gan-steps 1500] [--epochs 15] [--cache ganaug-cache]

`ganaug.augment` reads the raw images behind your training set (its dataset may apply ToTensor/Normalize
itself), trains a conditional GAN on it (or reuses the one cached for the same images and settings), fills
the rare classes with generated images and returns your datamodule wrapped: its training loader mixes them
in through your dataset's own transform; validation and test loaders are untouched.
"""

from __future__ import annotations

import argparse
import logging

from your_project import DigitsDataModule, L, YourModel

import ganaug


def main() -> None:
    """Your model trained on your datamodule, without and with ganaug."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gan-steps", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--cache", default="ganaug-cache")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # ganaug logs what it did

    # the lines to copy: the rare classes (below half the largest) filled to half the largest
    dm = ganaug.augment(DigitsDataModule(), cache_dir=args.cache, steps=args.gan_steps, fill_fraction=0.5,
                        synthetic_share=0.5)  # fmt: skip
    print(f"synthetic per class: {dm.augmentation.synthetic_counts}; bank in {dm.augmentation.bank_dir}")

    for name, datamodule in (("plain", DigitsDataModule()), ("ganaug", dm)):
        L.seed_everything(0)
        trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=False, enable_checkpointing=False)
        model = YourModel()
        trainer.fit(model, datamodule=datamodule)
        result = trainer.test(model, datamodule=datamodule, verbose=False)[0]
        print(f"{name}: test balanced accuracy {result['test_balanced_accuracy']:.4f}")


if __name__ == "__main__":
    main()
