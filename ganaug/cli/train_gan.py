"""`python -m ganaug.cli.train_gan`: train the conditional GAN and export its generator."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganaug.cli.runner import CONFIG_PATH, VERSION_BASE, hydra_entry, run_task
from ganaug.fileio import write_json
from ganaug.flow.context import Flow
from ganaug.flow.stages import GanStage


def train_gan_stage(cfg: DictConfig, run_dir: Path) -> None:
    """Train (or reuse) the GAN this config describes and record where its generator is."""
    directory = Flow(cfg).output(GanStage)
    write_json(
        run_dir / "train_gan.json",
        {"generator_dir": str(directory / "generator"), "samples_dir": str(directory / "samples")},
    )


@hydra.main(version_base=VERSION_BASE, config_path=CONFIG_PATH, config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra entry point of the GAN training stage."""
    run_task(cfg, train_gan_stage)


if __name__ == "__main__":
    hydra_entry(main)
