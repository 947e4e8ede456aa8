"""One run of the whole flow: prepare -> (when a strategy uses generated samples) GAN -> bank ->
(quality.enabled) quality report -> every configured strategy trained and scored (`evaluate`)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from ganaug.flow.context import Flow
from ganaug.flow.evaluate import Evaluation, evaluate
from ganaug.flow.stages import GanStage, QualityStage


@dataclass
class FlowResult:
    """What a run produced: the evaluation, where the stages' outputs are, the bank's quality report."""

    evaluation: Evaluation
    artifacts: dict[str, str]
    quality: dict | None


def run_flow(cfg: DictConfig) -> FlowResult:
    """The whole flow: prepare, train the GAN and sample it when a strategy needs it, evaluate.

    Returns the evaluation (metrics rows, auto decision), where the stages' outputs are (data_dir,
    gan_dir, bank_dir), and the bank's sample-quality report when `quality.enabled`.
    """
    flow = Flow(cfg)
    artifacts = {"data_dir": str(flow.prepared.directory)}
    quality = None
    if flow.needs_gan:
        bank = flow.bank
        artifacts.update(gan_dir=str(flow.output(GanStage)), bank_dir=str(bank.directory))
        if cfg.quality.enabled:
            quality = flow.output(QualityStage)
    return FlowResult(evaluate(flow), artifacts, quality)
