"""A run's context: its config and its stages, each stage's output computed once and shared."""

from __future__ import annotations

from typing import Any, TypeVar

from omegaconf import DictConfig

from ganaug.auto.search import AUTO
from ganaug.classify.parts import is_synthetic
from ganaug.flow.stage import Stage
from ganaug.flow.stages import BankStage, DataStage, ExtractorStage, Prepared
from ganaug.quality.features import FeatureExtractor
from ganaug.synth.bank import SyntheticBank

S = TypeVar("S", bound=Stage)


class Flow:
    """A run's config and its stages, each built (or read from the cache) at most once."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg
        self._stages: dict[type, Stage] = {}
        self._outputs: dict[type, Any] = {}

    def stage(self, kind: type[S]) -> S:
        """The run's stage of `kind` (one object per kind, so its key is computed once)."""
        if kind not in self._stages:
            self._stages[kind] = kind(self)
        return self._stages[kind]  # type: ignore[return-value]

    def output(self, kind: type[Stage]) -> Any:
        """The output of the stage of `kind`, built when it is not cached yet."""
        if kind not in self._outputs:
            self._outputs[kind] = self.stage(kind).output()
        return self._outputs[kind]

    @property
    def prepared(self) -> Prepared:
        """The prepared splits, minority classes and synthetic targets."""
        return self.output(DataStage)

    @property
    def bank(self) -> SyntheticBank:
        """The synthetic bank (training and sampling the GAN first when they are not cached)."""
        return self.output(BankStage)

    @property
    def extractor(self) -> FeatureExtractor:
        """The domain feature extractor."""
        return self.output(ExtractorStage)

    @property
    def needs_gan(self) -> bool:
        """Whether any configured strategy uses generated samples (auto may)."""
        return any(s == AUTO or is_synthetic(s) for s in self.cfg.augment.strategies)
