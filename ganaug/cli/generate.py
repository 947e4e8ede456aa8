"""`python -m ganaug.cli.generate`: sample the generator into a synthetic bank on disk."""

from __future__ import annotations

from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganaug.cli.runner import CONFIG_PATH, VERSION_BASE, hydra_entry, run_task
from ganaug.fileio import write_json
from ganaug.flow.context import Flow


def generate_stage(cfg: DictConfig, run_dir: Path) -> None:
    """Build (or reuse) the bank this config describes and record where it is."""
    bank = Flow(cfg).bank
    write_json(run_dir / "generate.json", {"bank_dir": str(bank.directory), "counts": bank.counts()})


@hydra.main(version_base=VERSION_BASE, config_path=CONFIG_PATH, config_name="config")
def main(cfg: DictConfig) -> None:
    """Hydra entry point of the generation stage."""
    run_task(cfg, generate_stage)


if __name__ == "__main__":
    hydra_entry(main)
