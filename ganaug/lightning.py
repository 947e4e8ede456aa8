"""The Lightning ganaug builds on, and the Trainer settings every fit ganaug runs starts from.

ganaug's own fits (the GAN, the classifier of each strategy, the feature extractor) keep no logger, no
checkpoint and no model summary unless asked: their results are files of ganaug's, and a sweep runs many.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl

QUIET_TRAINER: dict[str, Any] = {"logger": False, "enable_checkpointing": False, "enable_model_summary": False}


def build_trainer(settings: Mapping[str, Any] | None = None, **defaults: Any) -> pl.Trainer:
    """A Trainer from QUIET_TRAINER, then a fit's `defaults`, then the caller's `settings` (which win)."""
    return pl.Trainer(**{**QUIET_TRAINER, **defaults, **(settings or {})})
