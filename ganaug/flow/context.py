"""A run's context: its config and its stages, each stage's output computed once and shared."""

from __future__ import annotations

from typing import Any, TypeVar

import torch
from omegaconf import DictConfig

from ganaug.auto.search import AUTO
from ganaug.classify.parts import is_synthetic
from ganaug.flow.settings import trainer_kwargs
from ganaug.flow.stage import Stage
from ganaug.flow.stages import BankStage, DataStage, ExtractorStage, GanStage, Prepared
from ganaug.lightning import accelerator_device
from ganaug.quality.features import FeatureExtractor
from ganaug.synth.bank import SyntheticBank

S = TypeVar("S", bound=Stage)


class Flow:
    """A run's config and its stages, each built (or read from the cache) at most once."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self._stages: dict[tuple, Stage] = {}
        self._outputs: dict[tuple, Any] = {}

    def stage(self, kind: type[S], **params: Any) -> S:
        """The run's stage of `kind` with `params` (one object each, so its key is computed once)."""
        at = (kind, tuple(sorted(params.items())))
        if at not in self._stages:
            self._stages[at] = kind(self, **params)
        return self._stages[at]  # type: ignore[return-value]

    def output(self, kind: type[Stage], **params: Any) -> Any:
        """The output of the stage of `kind` with `params`, built when it is not cached yet."""
        at = (kind, tuple(sorted(params.items())))
        if at not in self._outputs:
            self._outputs[at] = self.stage(kind, **params).output()
        return self._outputs[at]

    @property
    def device(self) -> torch.device:
        """Where the work outside Lightning fits runs (generation, the gate, quality metrics): the first device
        of the `trainer` group's accelerator, as the fits themselves run there."""
        return accelerator_device(trainer_kwargs(self.cfg))

    @property
    def prepared(self) -> Prepared:
        """The prepared splits, minority classes and synthetic targets."""
        return self.output(DataStage)

    @property
    def bank(self) -> SyntheticBank:
        """The synthetic bank (training and sampling the GAN first when they are not cached)."""
        return self.output(BankStage)

    def snapshot_banks(self) -> dict[int, SyntheticBank]:
        """A bank from each of the GAN run's snapshots, by generator step (the last one is `bank`'s)."""
        steps = self.stage(GanStage).snapshot_steps
        return {s: self.bank if s == self.cfg.gan.steps else self.output(BankStage, snapshot=s) for s in steps}

    @property
    def extractor(self) -> FeatureExtractor:
        """The domain feature extractor."""
        return self.output(ExtractorStage)

    @property
    def needs_gan(self) -> bool:
        """Whether any configured strategy uses generated samples (auto may)."""
        return any(s == AUTO or is_synthetic(s) for s in self.cfg.augment.strategies)
