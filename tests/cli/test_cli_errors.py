"""Bad input on the command line: one clear line, a non-zero exit, nothing half-written."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_cli

pytestmark = pytest.mark.slow


def _assert_clean_failure(proc, tmp_path: Path, *needles: str) -> None:
    assert proc.returncode != 0
    err_lines = [line for line in proc.stderr.splitlines() if line.startswith("ganaug: error:")]
    assert len(err_lines) == 1, proc.stderr[-2000:]
    for needle in needles:
        assert needle in err_lines[0]
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("metrics.json"))
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["data=mnist", "data.root=/no/such/folder"], ["/no/such/folder"]),
        (["data=mnist"], ["data.root is required"]),
        (["data=image_folder", "data.root=/no/such/folder"], ["/no/such/folder"]),
        (["imbalance.minority.classes=[eleven]"], ["eleven"]),
        (["imbalance.minority.classes=[42]"], ["42"]),
        (["augment.strategies=[none,smote]"], ["smote"]),
        (["imbalance.ratio=0.5"], ["imbalance.ratio"]),
        (["augment.synthetic_share=0"], ["augment.synthetic_share=0", "(0, 1]"]),
        (["augment=auto", "augment.auto.amounts=[0]"], ["augment.auto", "amounts"]),
        (["augment=auto", "augment.auto.baselines=[gan]"], ["augment.auto", "baselines"]),
        (["augment=auto", "augment.auto.families=[[classical],[classical,none]]"],
         ["augment.auto.families=", "['classical'] in more than one family"]),
        (["optimized_metric=balanced_accuracy"], ["optimized_metric=", "unknown validation metric"]),
        (["augment=none", "optimized_strategy=gan"], ["optimized_strategy=gan", "none"]),
        (["classifier=module"], ["classifier._target_ is required"]),
        (["classifier=module", "classifier._target_=no.such.Net"], ["classifier._target_=no.such.Net", "import"]),
        (["classifier=module", "classifier._target_=torch.nn.Linear"], ["not a LightningModule class"]),
        (["classifier=module", "classifier._target_=ganaug.classify.model.ImageClassifier",
          "+classifier.kwargs.depth=3"],
         ["ImageClassifier", "depth"]),
        (["trainer.accelerator=gpu"], ["trainer.accelerator=gpu", "gpu", "supports on this machine"]),
        (["trainer.precision=bf17"], ["trainer.precision=bf17", "bf17"]),
        (["trainer.strategy=teleport"], ["trainer.strategy=teleport", "teleport"]),
        (["trainer.devices=2", "trainer.strategy=ddp", "augment.auto.workers=2"],
         ["augment.auto.workers=2", "distributed trainer", "augment.auto.workers=1"]),
        (["gan.resident=always"], ["gan.resident='always'", "auto, on, off"]),
        (["gan.module.autocast=fp8"], ["autocast", "bf16"]),
        (["gan.module.generator=dcgan", "gan.progressive=true"], ["does not grow progressively", "generator=style"]),
        (["logger.save_dir=null", "logger._target_=no.such.Logger"], ["logger._target_=no.such.Logger"]),
    ],
)
def test_bad_input_fails_in_one_line(tmp_path: Path, args: list[str], needles: list[str]) -> None:
    proc = run_cli(["experiment=quick", f"hydra.run.dir={tmp_path / 'run'}", *args], tmp_path)
    _assert_clean_failure(proc, tmp_path, *needles)


def test_corrupt_npz_fails_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((4, 8, 8), np.uint8))
    proc = run_cli(["experiment=quick", "data=npz", f"data.path={bad}", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    _assert_clean_failure(proc, tmp_path, "bad.npz")


def test_corrupt_idx_fails_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "idx"
    root.mkdir()
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x03\x00\x00\x00\x10\x00\x00\x00\x1c\x00\x00\x00\x1c" + b"\x00" * 100)
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01\x00\x00\x00\x10" + b"\x01" * 16)
    proc = run_cli(["experiment=quick", "data=mnist", f"data.root={root}", f"hydra.run.dir={tmp_path / 'run'}"],
                   tmp_path)
    _assert_clean_failure(proc, tmp_path, "t10k-images-idx3-ubyte.gz")


def test_minority_class_without_training_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "three.npz"
    np.savez(
        path,
        train_images=rng.integers(0, 255, (40, 8, 8), dtype=np.uint8),
        train_labels=np.repeat([0, 1], 20),
        test_images=rng.integers(0, 255, (12, 8, 8), dtype=np.uint8),
        test_labels=np.repeat([0, 1, 2], 4),
    )
    proc = run_cli(["experiment=quick", "data=npz", f"data.path={path}", "imbalance=none",
                    "imbalance.minority.classes=[2]", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    _assert_clean_failure(proc, tmp_path, "no training images")


@pytest.mark.parametrize("override", ["data.foo=1", "gan.steps=many", "augment=smote"])
def test_unknown_config_key_or_value_exits_non_zero(tmp_path: Path, override: str) -> None:
    proc = run_cli(["experiment=quick", f"hydra.run.dir={tmp_path / 'run'}", override], tmp_path)
    assert proc.returncode != 0
    assert override.split("=")[0].split(".")[-1] in proc.stderr
    assert not list(tmp_path.rglob("metrics.json"))
