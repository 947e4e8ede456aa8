"""Let ganaug decide, with your own model and datamodule, whether generated samples help and how many.

`ganaug.augment` trains the GAN on your training split and samples a bank; then `ganaug.auto.choose` trains
your model with each candidate amount of synthetic data on stratified folds of the training split (never the
test split) and keeps a candidate only if it beats your baseline by more than its uncertainty.

    python examples/auto_own_classifier.py [--gan-steps 1500] [--epochs 15] [--folds 3] [--cache ganaug-cache]
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import DataLoader, Subset
from your_project import DigitsDataModule, L, YourModel

import ganaug
from ganaug import GANAugDataModule, SyntheticBank
from ganaug.auto import HoldoutSplit, Score, choose, stratified_folds
from ganaug.report.auto import candidates_table


class FoldDataModule(L.LightningDataModule):
    """Your datamodule restricted to one fold: train on `split.fit`, test on `split.holdout`."""

    def __init__(self, base: DigitsDataModule, split: HoldoutSplit) -> None:
        super().__init__()
        self.base, self.split = base, split

    def train_dataloader(self) -> DataLoader:
        return DataLoader(Subset(self.base.train_set, self.split.fit.tolist()), batch_size=self.base.batch_size,
                          shuffle=True)  # fmt: skip

    def test_dataloader(self) -> DataLoader:
        return DataLoader(Subset(self.base.train_set, self.split.holdout.tolist()), batch_size=256)


def main() -> None:
    """Train the GAN, sample a bank, let `choose` pick the amount of synthetic data for your model."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gan-steps", type=int, default=1500)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--cache", default="ganaug-cache")
    args = parser.parse_args()

    dm = DigitsDataModule()
    done = ganaug.augment(dm, cache_dir=args.cache, steps=args.gan_steps, fill_fraction=1.0).augmentation
    bank, targets = SyntheticBank.load(done.bank_dir), done.synthetic_counts
    candidates = {
        "no synthetic": None,
        "30% of the fill": {c: round(0.3 * n) for c, n in targets.items()},
        "full fill": targets,
    }

    def score(synthetic_counts: dict[int, int] | None, split: HoldoutSplit) -> Score:
        fold = FoldDataModule(dm, split)
        datamodule = fold if synthetic_counts is None else GANAugDataModule(fold, bank, synthetic_counts)
        L.seed_everything(split.index)
        trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
        model = YourModel()
        trainer.fit(model, datamodule=datamodule)
        return Score(trainer.test(model, datamodule=datamodule, verbose=False)[0]["test_balanced_accuracy"])

    splits = stratified_folds(torch.as_tensor(dm.train_set.targets), n_folds=args.folds)
    decision = choose(candidates, score, splits, baselines=["no synthetic"])
    print(candidates_table(decision))
    print(decision.verdict)
    print(f"train with: {decision.chosen} -> synthetic_counts={decision.chosen_candidate}")


if __name__ == "__main__":
    main()
