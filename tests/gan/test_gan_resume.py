"""A GAN run stopped part-way resumes from its checkpoint and ends with the uninterrupted run's weights."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from helpers.data import make_toy_dataset
from torch.utils.data import RandomSampler

from ganaug.data.dataset import ImageDataset
from ganaug.errors import GanaugError
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.resume import RunSampler, checkpoint_path
from ganaug.gan.training import train_gan
from ganaug.lightning import namespace_of, use

SMALL = {"generator_kwargs": {"base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}
QUIET = {"enable_progress_bar": False, "enable_model_summary": False, "log_every_n_steps": 5}


class Stopped(Exception):
    """Raised by `StopAt` to interrupt a run, as a crash would."""


class StopAt(pl.Callback):
    """Raise `Stopped` when the generator has made `step` updates."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: object) -> None:
        if pl_module.generator_steps == self.step:
            raise Stopped


def _train(dataset: ImageDataset, tmp: Path, name: str, callbacks: list = (), **kwargs: object) -> ConditionalGAN:
    settings = {"steps": 60, "batch_size": 16, "seed": 3, "module_kwargs": {**SMALL, "diffaugment": "translation"},
                "checkpoint_every_n_steps": 20, **kwargs}  # fmt: skip
    return train_gan(
        dataset, [0, 1], trainer_kwargs={**QUIET, "callbacks": list(callbacks)}, log_dir=tmp / name / "logs",
        checkpoint_dir=tmp / "checkpoints", **settings,
    )  # fmt: skip


def _same_weights(a: ConditionalGAN, b: ConditionalGAN) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _steps(log_dir: Path) -> list[int]:
    with (log_dir / "metrics.csv").open() as file:
        return [int(row["step"]) for row in csv.DictReader(file)]


REGULARISED = {"generator": "resnet", "lecam_weight": 0.3, "gsr_weight": 0.5}  # LeCam's anchors are in the checkpoint


@pytest.mark.parametrize(
    ("class_balance", "d_steps", "extra"), [("sqrt", 1, {}), ("none", 2, {}), ("sqrt", 1, REGULARISED)]
)
def test_a_resumed_run_ends_with_the_uninterrupted_weights(
    tmp_path: Path, class_balance: str, d_steps: int, extra: dict
) -> None:
    data = make_toy_dataset([40, 30])  # 4 batches an epoch: the stop and the checkpoint fall mid-epoch
    kwargs = {"class_balance": class_balance, "module_kwargs": {**SMALL, "diffaugment": "translation",
                                                                "d_steps": d_steps, **extra}}  # fmt: skip
    whole = _train(data, tmp_path / "whole", "run", **kwargs)
    with pytest.raises(Stopped):
        _train(data, tmp_path, "run", callbacks=[StopAt(47)], **kwargs)
    assert checkpoint_path(tmp_path / "checkpoints").is_file()
    resumed = _train(data, tmp_path, "run", **kwargs)
    assert resumed.trainer.global_step == whole.trainer.global_step == 60 * (d_steps + 1)
    assert _same_weights(whole, resumed) and resumed.ema.updates == whole.ema.updates == 60
    assert not checkpoint_path(tmp_path / "checkpoints").exists()
    # The curves hold every logged step once: the stopped try's up to the checkpoint, then the resumed run's.
    assert _steps(tmp_path / "run" / "logs") == _steps(tmp_path / "whole" / "run" / "logs")


def test_a_checkpoint_of_another_run_is_refused(tmp_path: Path) -> None:
    data = make_toy_dataset([40, 30])
    with pytest.raises(Stopped):
        _train(data, tmp_path, "run", callbacks=[StopAt(25)])
    with pytest.raises(GanaugError, match="checkpoint is of another run.*delete it"):
        _train(data, tmp_path, "run", seed=4)


def test_a_run_checkpointed_under_one_lightning_package_resumes_under_the_other(tmp_path: Path) -> None:
    """The callbacks' checkpoint keys are the same under both packages: the state is found, not skipped."""
    pytest.importorskip("lightning")
    data = make_toy_dataset([40, 30])
    with use("pytorch_lightning"):
        whole = _train(data, tmp_path / "whole", "run")
        with pytest.raises(Stopped):
            _train(data, tmp_path, "run", callbacks=[StopAt(47)])
    with use("lightning"):
        resumed = _train(data, tmp_path, "run")
    assert namespace_of(resumed).__name__ == "lightning.pytorch" and _same_weights(whole, resumed)


def test_the_run_sampler_starts_anywhere_in_one_stream() -> None:
    def sampler() -> RunSampler:
        return RunSampler(RandomSampler(range(10), generator=torch.Generator().manual_seed(0)), 4, 7)

    whole = list(sampler())
    assert len(whole) == len(sampler()) == 28
    # Each epoch of 10 images gives two whole batches of 4 (the last two images dropped), none repeated.
    assert all(len(set(whole[i : i + 8])) == 8 for i in (0, 8, 16))
    later = sampler()
    later.start = 5
    assert list(later) == whole[20:]


_KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
from helpers.data import make_toy_dataset
from ganaug.gan.training import train_gan
train_gan(make_toy_dataset([40, 30]), [0, 1], steps={steps}, batch_size=16, seed=3, module_kwargs={small!r},
          trainer_kwargs={quiet!r}, checkpoint_dir={checkpoints!r}, checkpoint_every_n_steps=50)
"""


def test_a_run_killed_with_sigkill_resumes_to_the_same_weights(tmp_path: Path) -> None:
    steps, checkpoints = 300, tmp_path / "checkpoints"
    script = _KILLED_RUN.format(tests=str(Path(__file__).parents[1]), steps=steps, small=SMALL, quiet=QUIET,
                                checkpoints=str(checkpoints))  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    job = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600  # generous: a loaded machine is slow to start
    while not checkpoint_path(checkpoints).is_file() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    _, err = job.communicate()
    assert job.returncode == -signal.SIGKILL, f"the run ended before it was killed: {err[-2000:]}"
    saved = torch.load(checkpoint_path(checkpoints), map_location="cpu", weights_only=True)
    assert 0 < saved["global_step"] < 2 * steps
    settings = {"steps": steps, "batch_size": 16, "seed": 3, "module_kwargs": SMALL}
    resumed = train_gan(make_toy_dataset([40, 30]), [0, 1], trainer_kwargs=QUIET, checkpoint_dir=checkpoints,
                        checkpoint_every_n_steps=50, **settings)  # fmt: skip
    whole = train_gan(make_toy_dataset([40, 30]), [0, 1], trainer_kwargs=QUIET, **settings)
    assert _same_weights(whole, resumed)
