"""`python -m ganaug.cli.prepare`: load the data, make it imbalanced, choose the minority classes."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganaug.cli.runner import CONFIG_PATH, VERSION_BASE, hydra_entry, run_task
from ganaug.fileio import write_json
from ganaug.flow.context import Flow


def prepare_stage(cfg: DictConfig, run_dir: Path) -> None:
    """Prepare the splits and record where they are and what the minority classes are."""
    prepared = Flow(cfg).prepared
    write_json(
        run_dir / "prepare.json",
        {
            "data_dir": str(prepared.directory),
            "class_names": prepared.splits.class_names,
            "train_counts": prepared.splits.train.counts(),
            "minority": prepared.minority,
            "synthetic_targets": {str(k): v for k, v in prepared.targets.items()},
        },
    )


@hydra.main(version_base=VERSION_BASE, config_path=CONFIG_PATH, config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra entry point of the prepare stage."""
    run_task(cfg, prepare_stage)


if __name__ == "__main__":
    hydra_entry(main)
