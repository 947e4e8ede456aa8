"""Training from the command line survives `kill -9` and parallel jobs: a killed GAN run resumes to the
uninterrupted run's generator, a killed classifier fit to the uninterrupted run's metrics, and two jobs
sharing a cache train the GAN once."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.cli import read_metrics, start_cli
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

GAN = ["experiment=quick", "gan.steps=240", "gan.checkpoint_every_n_steps=40"]
FIT = ["experiment=quick", "augment=classical", "classifier.epochs=8"]


def _generator(cache: Path) -> dict:
    (entry,) = [p for p in cache.glob("gan-*") if p.is_dir()]
    return load_file(entry / "generator" / "generator.safetensors")


def _finish(job, timeout: int = 600) -> str:
    out, _ = job.communicate(timeout=timeout)
    assert job.returncode == 0, out[-3000:]
    return out


def _kill_when(job, appears: Callable[[], object], what: str) -> None:
    """SIGKILL `job` as soon as `appears()` holds (it must hold before the job ends)."""
    deadline = time.monotonic() + 300
    while not appears() and job.poll() is None:
        assert time.monotonic() < deadline, f"no {what} was written"
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.communicate()
    assert job.returncode == -signal.SIGKILL, "the run finished before it could be killed"


def test_a_killed_gan_run_resumes_to_the_uninterrupted_generator(tmp_path: Path) -> None:
    whole = start_cli(GAN, tmp_path, tmp_path / "whole", module="ganaug.cli.train_gan")
    killed = start_cli(GAN, tmp_path, tmp_path / "cache", module="ganaug.cli.train_gan")
    _kill_when(killed, lambda: list((tmp_path / "cache").glob(".gan-*.building/checkpoints/last.ckpt")), "checkpoint")
    out = _finish(start_cli(GAN, tmp_path, tmp_path / "cache", module="ganaug.cli.train_gan"))
    assert "gan: resuming" in out
    _finish(whole)
    a, b = _generator(tmp_path / "whole"), _generator(tmp_path / "cache")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    assert not list((tmp_path / "cache").glob(".gan-*.building"))


def test_parallel_jobs_sharing_a_cache_train_one_gan(tmp_path: Path) -> None:
    jobs = [start_cli(GAN, tmp_path, tmp_path / "cache", module="ganaug.cli.train_gan") for _ in range(2)]
    outs = [_finish(job) for job in jobs]
    assert sum("gan: building" in out for out in outs) == 1
    assert sum("a parallel job built" in out for out in outs) == 1
    assert len([p for p in (tmp_path / "cache").glob("gan-*") if p.is_dir()]) == 1


def test_a_killed_classifier_fit_resumes_to_the_uninterrupted_metrics(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _finish(start_cli([*FIT, f"hydra.run.dir={tmp_path / 'whole'}"], tmp_path, tmp_path / "cache"))
    checkpoint = run / "checkpoints" / "classical" / "seed0" / "last.ckpt"
    killed = start_cli([*FIT, f"hydra.run.dir={run}"], tmp_path, tmp_path / "cache")
    _kill_when(killed, checkpoint.is_file, "classifier checkpoint")
    out = _finish(start_cli([*FIT, f"hydra.run.dir={run}"], tmp_path, tmp_path / "cache"))
    assert "classical/seed0: resuming from" in out
    (whole,), (resumed,) = read_metrics(tmp_path / "whole"), read_metrics(run)
    whole.pop("fit_seconds"), resumed.pop("fit_seconds")
    assert whole == resumed
    assert not (run / "checkpoints").exists()
