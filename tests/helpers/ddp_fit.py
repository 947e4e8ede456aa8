"""Two-process DDP on the CPU (gloo), run as a script because Lightning's DDP launcher starts the other rank by
running the script again: `python ddp_fit.py OUT gan|diverge|classifier`. Each rank writes what it saw to
OUT/<mode>-rank<r>.json; rank zero alone exports the generator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ganaug.classify.training import fit_strategy  # noqa: E402
from ganaug.data.dataset import DatasetSplits  # noqa: E402
from ganaug.errors import GanaugError  # noqa: E402
from ganaug.gan.export import export_generator  # noqa: E402
from ganaug.gan.module import ConditionalGAN  # noqa: E402
from ganaug.gan.training import train_gan  # noqa: E402
from ganaug.lightning import is_rank_zero  # noqa: E402
from helpers.data import make_toy_dataset  # noqa: E402

DDP = {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "enable_progress_bar": False}
TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}


class DivergesOnRankOne(ConditionalGAN):
    """A GAN whose losses turn non-finite at generator step 3 on rank one only."""

    def training_step(self, batch, batch_idx):  # noqa: ANN001, ANN201
        super().training_step(batch, batch_idx)
        if self.global_rank == 1 and self.generator_steps >= 2:
            self.step_stats["d_loss"] = torch.tensor(float("nan"))


def _checksum(module: torch.nn.Module) -> float:
    return float(sum(p.detach().double().sum() for p in module.parameters()))


def main(out: Path, mode: str) -> None:
    data = make_toy_dataset([24, 16, 12])
    record: dict = {}
    if mode in ("gan", "diverge"):
        module = DivergesOnRankOne if mode == "diverge" else ConditionalGAN
        monitor = {"check_every_n_steps": 1, "collapse_every_n_steps": 0}
        try:
            gan = train_gan(data, [0, 1, 2], steps=12, batch_size=8, module=module,
                            module_kwargs={**TINY, "monitor": monitor}, trainer_kwargs=DDP)  # fmt: skip
        except GanaugError as exc:
            record["failure"] = str(exc)
        else:
            trainer = gan.trainer
            record.update(world_size=trainer.world_size, rank=trainer.global_rank, steps=gan.generator_steps,
                          generator=_checksum(gan.generator), ema=_checksum(gan.sampling_generator))  # fmt: skip
            if is_rank_zero():
                export_generator(gan, out / "generator", data.class_names)
    else:
        splits = DatasetSplits(data, make_toy_dataset([4, 4, 4], seed=1), make_toy_dataset([4, 4, 4], seed=2))
        fit = fit_strategy("classical", splits, epochs=2, batch_size=8, model_kwargs={"width": 4},
                           trainer_kwargs={**DDP, "num_sanity_val_steps": 0})  # fmt: skip
        trainer = fit.model.trainer
        record.update(world_size=trainer.world_size, rank=trainer.global_rank, epochs=trainer.current_epoch,
                      weights=_checksum(fit.model))  # fmt: skip
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    (out / f"{mode}-rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
