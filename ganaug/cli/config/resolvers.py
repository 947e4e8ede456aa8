"""OmegaConf resolvers ganaug's configs use, registered when the config package is imported."""

from __future__ import annotations

from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf


def run_dir() -> str:
    """The run's output folder: Hydra's for a run of the command line, else the working directory (a config
    composed with Hydra's compose API, as a notebook or a script does)."""
    return HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else str(Path.cwd())


def register_resolvers() -> None:
    """Register `${ganaug_run_dir:}` (see `run_dir`)."""
    OmegaConf.register_new_resolver("ganaug_run_dir", run_dir, replace=True)
