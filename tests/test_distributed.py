"""Two-process DDP on the CPU with gloo (tests/helpers/ddp_fit.py): the GAN and a classifier train across both
ranks with their weights in step, only rank zero exports, and a stop on one rank stops both instead of hanging;
a process that holds ganaug objects destroys its process group at exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "helpers" / "ddp_fit.py"


def _run(tmp_path: Path, mode: str) -> list[dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), mode], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((tmp_path / f"{mode}-rank{r}.json").read_text()) for r in (0, 1)]


@pytest.fixture(autouse=True)
def _gloo():
    import torch.distributed as dist

    if not dist.is_available() or not dist.is_gloo_available():
        pytest.skip("torch.distributed with gloo is not available")


def test_the_gan_trains_on_two_ranks_in_step_and_rank_zero_alone_exports(tmp_path: Path) -> None:
    zero, one = _run(tmp_path, "gan")
    assert zero["world_size"] == one["world_size"] == 2 and {zero["rank"], one["rank"]} == {0, 1}
    assert zero["steps"] == one["steps"] == 12
    # each rank drew its own share of the batches: only averaged gradients keep the weights equal
    assert zero["generator"] == one["generator"] and zero["ema"] == one["ema"]
    assert (tmp_path / "generator" / "generator.safetensors").is_file()
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_stop_on_one_rank_stops_both(tmp_path: Path) -> None:
    zero, one = _run(tmp_path, "diverge")
    assert "non-finite loss by generator step 2 (on another rank)" in zero["failure"]
    assert "non-finite loss by generator step 2 (d_loss=nan" in one["failure"]


def test_a_classifier_trains_on_two_ranks_in_step(tmp_path: Path) -> None:
    zero, one = _run(tmp_path, "classifier")
    assert zero["world_size"] == 2 and zero["epochs"] == one["epochs"] == 2
    assert zero["weights"] == one["weights"]


def test_a_process_with_a_ganaug_object_leaves_its_process_group_at_exit(tmp_path: Path) -> None:
    ask = ("import atexit, sys, torch.distributed as dist; from ganaug.gan.callbacks import StepProgressBar; "
           "dist.init_process_group('gloo', init_method=f'file://{sys.argv[1]}', rank=0, world_size=1); "
           "sys.argv[2] == '1' and StepProgressBar(steps=1); atexit._run_exitfuncs(); print(dist.is_initialized())")
    joined = [subprocess.run([sys.executable, "-c", ask, str(tmp_path / f"store{m}"), m], capture_output=True,
                             text=True, timeout=120, check=True).stdout.split()[-1] for m in "01"]  # fmt: skip
    assert joined == ["True", "False"]  # the exit handler comes with the ganaug object and destroys the group


@pytest.mark.slow
def test_the_whole_flow_runs_distributed_and_rank_zero_alone_writes(tmp_path: Path) -> None:
    run, cache = tmp_path / "run", tmp_path / "cache"
    command = [sys.executable, "-m", "ganaug", "experiment=quick", "trainer.devices=2", "trainer.strategy=ddp",
               "augment.strategies=[classical,gan+classical,auto]", "augment.auto.rungs=[0.5,1.0]",
               "quality.enabled=true", "gan.gate.enabled=true", f"cache_dir={cache}",
               f"hydra.run.dir={run}"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((run / "metrics.json").read_text())
    assert [r["strategy"] for r in rows] == ["classical", "gan+classical", "auto"]
    assert (run / "auto.json").is_file() and (run / "quality.json").is_file()
    assert done.stdout.count("metrics written") + done.stderr.count("metrics written") == 1  # rank zero only
    kinds = sorted(p.name.split("-")[0] for p in cache.iterdir() if p.is_dir())
    assert kinds == ["bank", "bank", "data", "extractor", "gan", "quality"]  # each built once, by rank zero
    assert not [p for p in cache.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
