"""GAN training from the command line survives `kill -9` and parallel jobs: a killed run resumes to the
uninterrupted run's generator, and two jobs sharing a cache train the GAN once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from helpers.cli import start_cli
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

GAN = ["experiment=quick", "gan.steps=240", "gan.checkpoint_every_n_steps=40"]


def _generator(cache: Path) -> dict:
    (entry,) = [p for p in cache.glob("gan-*") if p.is_dir()]
    return load_file(entry / "generator" / "generator.safetensors")


def _finish(job, timeout: int = 600) -> str:
    out, _ = job.communicate(timeout=timeout)
    assert job.returncode == 0, out[-3000:]
    return out


def test_a_killed_gan_run_resumes_to_the_uninterrupted_generator(tmp_path: Path) -> None:
    whole = start_cli(GAN, tmp_path, tmp_path / "whole", module="ganaug.cli.train_gan")
    killed = start_cli(GAN, tmp_path, tmp_path / "cache", module="ganaug.cli.train_gan")
    deadline = time.monotonic() + 300
    while not list((tmp_path / "cache").glob(".gan-*.building/checkpoints/last.ckpt")) and killed.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
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
