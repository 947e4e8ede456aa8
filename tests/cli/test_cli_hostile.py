"""Hostile but realistic input and faults, by kind: config, data, file system, signals, damaged artifacts.

Each case ends in one line `ganaug: error: ...` naming the cause (not a later symptom), the conventional
exit code (2 for bad input, 143 for SIGTERM, 130 for SIGINT) and nothing half-written; a damaged cache entry
is built again, saying so.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.cli import read_metrics, run_cli, start_cli

pytestmark = pytest.mark.slow

PREPARE = "ganaug.cli.prepare"
QUICK = ["experiment=quick", "gan.steps=20", "gan.sample_every_n_steps=10"]


def _one_line(stderr: str, code: int, returncode: int, *needles: str) -> str:
    assert returncode == code, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.startswith("ganaug: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr[-2000:]
    assert all(n in lines[0] for n in needles), lines[0]
    return lines[0]


def _nothing_half_written(root: Path) -> None:
    assert not list(root.rglob("metrics.json"))
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def _npz(path: Path, train_labels: np.ndarray, test_labels: np.ndarray | None = None) -> Path:
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 255, (len(train_labels), 8, 8), dtype=np.uint8),
              "train_labels": train_labels}  # fmt: skip
    if test_labels is not None:
        arrays |= {"test_images": rng.integers(0, 255, (len(test_labels), 8, 8), dtype=np.uint8),
                   "test_labels": test_labels}  # fmt: skip
    np.savez(path, **arrays)
    return path


CONFIG_CASES = {
    "a value of the wrong type": (["seed=abc"], ["seed=abc", "Integer"]),
    "an unknown option": (["data=parquet"], ["data/parquet", "digits, image_folder"]),
    "an unknown key": (["gan.stepz=10"], ["gan.stepz", "GANConfig"]),
    "a negative seed": (["seed=-1"], ["seed=-1", "0..4294967295"]),
    "a seed too large": (["imbalance.seed=4294967296"], ["imbalance.seed=4294967296"]),
    "a negative sampling seed": (["gan.sample_seed=-1"], ["gan.sample_seed=-1", "0..4294967295"]),
    "a negative extractor seed": (["quality.extractor.seed=-1"], ["quality.extractor.seed=-1"]),
    "a NaN learning rate": (["gan.module.lr_g=nan"], ["gan.module.lr_g=nan"]),
    "a fill that inverts the imbalance": (["imbalance.target.fill_fraction=5"], ["fill_fraction=5", "(0, 1]"]),
    "an accelerator that does not exist": (["trainer.accelerator=tpu"], ["trainer.accelerator=tpu"]),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_config(tmp_path: Path, case: str) -> None:
    args, needles = CONFIG_CASES[case]
    proc = run_cli(["experiment=quick", f"hydra.run.dir={tmp_path / 'run'}", *args], tmp_path, module=PREPARE)
    _one_line(proc.stderr, 2, proc.returncode, *needles)
    _nothing_half_written(tmp_path)


def _truncated(tmp: Path) -> Path:
    good = _npz(tmp / "good.npz", np.repeat([0, 1], 20))
    bad = tmp / "truncated.npz"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return bad


DATA_CASES = {
    "a truncated npz": (_truncated, ["truncated.npz"], []),
    "an npz without training images": (lambda t: _npz(t / "empty.npz", np.zeros(0, np.int64), np.repeat([0, 1], 4)),
                                       ["no images"], []),
    "duplicate class names": (lambda t: _npz(t / "named.npz", np.repeat([0, 1, 2, 3], 10)),
                              ["must be unique", "'a'"], ["data.class_names=[a,a,b,c]"]),
    "a single class": (lambda t: _npz(t / "one.npz", np.zeros(40, np.int64)), ["1 class ('0')", "at least two"],
                       ["imbalance.minority.classes=[0]"]),
    "a class with test images only, no GAN asked for": (
        lambda t: _npz(t / "three.npz", np.repeat([0, 1], 20), np.repeat([0, 1, 2], 4)),
        ["class '2' has no training images", "no strategy can learn it"], ["augment=classical"]),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_data(tmp_path: Path, case: str) -> None:
    make, needles, extra = DATA_CASES[case]
    path = make(tmp_path)
    proc = run_cli(["experiment=quick", "data=npz", f"data.path={path}", "imbalance=none", *extra,
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, module=PREPARE)  # fmt: skip
    _one_line(proc.stderr, 2, proc.returncode, *needles)
    _nothing_half_written(tmp_path)


def test_sparse_label_ids_are_remapped_and_the_mapping_recorded(tmp_path: Path) -> None:
    path = _npz(tmp_path / "sparse.npz", np.repeat([0, 1_000_000, 2_000_000, 3_000_000], 60))
    proc = run_cli(["experiment=quick", "data=npz", f"data.path={path}", "imbalance=none",
                    f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, module=PREPARE)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (entry,) = [p for p in (tmp_path / "cache").glob("data-*") if p.is_dir()]
    assert json.loads((entry / "classes.json").read_text()) == ["0", "1000000", "2000000", "3000000"]
    assert "class ids 0, 1000000, 2000000, 3000000 are not 0..3" in proc.stderr + proc.stdout


FILE_SYSTEM_CASES = {
    "a cache dir that is a file": (lambda t: [f"cache_dir={_file(t / 'cachefile')}"], ["cachefile"]),
    "a run folder below a file": (lambda t: [f"hydra.run.dir={_file(t / 'runfile')}/run"], ["runfile", "is a file"]),
}


def _file(path: Path) -> Path:
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("case", list(FILE_SYSTEM_CASES))
def test_file_system(tmp_path: Path, case: str) -> None:
    make, needles = FILE_SYSTEM_CASES[case]
    proc = run_cli(["experiment=quick", f"hydra.run.dir={tmp_path / 'run'}", *make(tmp_path)], tmp_path,
                   module=PREPARE)  # fmt: skip
    _one_line(proc.stderr, 2, proc.returncode, *needles)
    _nothing_half_written(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_dir(tmp_path: Path) -> None:
    cache = tmp_path / "ro"
    cache.mkdir(mode=0o500)
    proc = run_cli(["experiment=quick", f"cache_dir={cache}", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path,
                   module=PREPARE)  # fmt: skip
    _one_line(proc.stderr, 2, proc.returncode, "Permission denied")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_the_gan_trains_ends_in_one_line_and_its_code(tmp_path: Path, sig: int, code: int) -> None:
    args = ["experiment=quick", "gan.steps=3000", "gan.checkpoint_every_n_steps=20", "augment=gan",
            f"hydra.run.dir={tmp_path / 'run'}"]  # fmt: skip
    job = start_cli(args, tmp_path, tmp_path / "cache")
    deadline = time.monotonic() + 300
    while not list((tmp_path / "cache").glob(".gan-*.building/checkpoints/last.ckpt")) and job.poll() is None:
        assert time.monotonic() < deadline, "the GAN never checkpointed"
        time.sleep(0.05)
    job.send_signal(sig)
    out, _ = job.communicate(timeout=120)
    line = _one_line(out, code, job.returncode, "terminated by", signal.Signals(sig).name, "rerun")
    assert "resume" in line
    assert not list((tmp_path / "run").glob("metrics.json"))
    assert list((tmp_path / "cache").glob(".gan-*.building/checkpoints/last.ckpt"))  # kept for the rerun


def _damage_split(entry: Path) -> None:
    path = entry / "train.npz"
    path.write_bytes(path.read_bytes()[:100])


def _damage_generator_json(entry: Path) -> None:
    path = entry / "generator" / "generator.json"
    meta = json.loads(path.read_text())
    meta["image_shape"] = [3, 99, 99]
    path.write_text(json.dumps(meta))


def _damage_weights(entry: Path) -> None:
    (entry / "generator" / "generator.safetensors").write_bytes(os.urandom(256))


def _delete_classes(entry: Path) -> None:
    (entry / "classes.json").unlink()


ARTIFACT_CASES = {
    "a truncated prepared split": ("data", _damage_split),
    "a deleted classes.json": ("data", _delete_classes),
    "an edited generator.json": ("gan", _damage_generator_json),
    "random bytes for the generator's weights": ("gan", _damage_weights),
}


@pytest.mark.parametrize("case", list(ARTIFACT_CASES))
def test_a_damaged_cache_entry_is_built_again(tmp_path: Path, case: str) -> None:
    stage, damage = ARTIFACT_CASES[case]
    args = [*QUICK, "augment=gan", f"hydra.run.dir={tmp_path / 'first'}"]
    assert run_cli(args, tmp_path).returncode == 0
    (entry,) = [p for p in (tmp_path / "cache").glob(f"{stage}-*") if p.is_dir()]
    damage(entry)
    orphan = tmp_path / "cache" / f"..{entry.name}.building.x1y2.tmp"  # left by a job killed mid-write
    orphan.mkdir()
    proc = run_cli([*QUICK, "augment=gan", f"hydra.run.dir={tmp_path / 'again'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"the cached entry {entry} is damaged" in proc.stdout + proc.stderr
    assert read_metrics(tmp_path / "again")[0]["strategy"] == "gan"
    assert not orphan.exists()


def test_16_bit_images_are_rescaled_not_clipped(tmp_path: Path) -> None:
    from PIL import Image

    from ganaug.data.sources import load_image_folder

    for c, level in enumerate((1000, 30000, 60000)):
        folder = tmp_path / "folder" / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.full((8, 8), level + i, dtype=np.uint16)).save(folder / f"{i}.png")
    splits = load_image_folder(str(tmp_path / "folder"), val_fraction=0.2, test_fraction=0.2)
    means = [float(splits.train.images[splits.train.labels == c].float().mean()) for c in range(3)]
    assert means == pytest.approx([1004.5 * 255 / 65535, 30004.5 * 255 / 65535, 60004.5 * 255 / 65535], abs=1)
    assert torch.is_tensor(splits.train.images) and int(splits.train.images.max()) < 255
