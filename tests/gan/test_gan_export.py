"""Exporting the generator (safetensors + JSON) and loading it back, with every refusal."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from helpers.data import make_toy_dataset
from safetensors.torch import save_file

from ganaug.data.dataset import DataSpec, ImageDataset
from ganaug.errors import GanaugError
from ganaug.gan.export import GeneratorArtifact, export_generator
from ganaug.gan.module import ConditionalGAN
from ganaug.gan.training import gan_training_set, train_gan

TINY = {"generator_kwargs": {"latent_dim": 8, "base_channels": 8}, "discriminator_kwargs": {"base_channels": 8}}


@pytest.fixture(scope="module")
def gan() -> ConditionalGAN:
    """A GAN trained a few steps on classes 1 and 2, so batch-norm statistics are not the defaults."""
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    data, classes = gan_training_set(make_toy_dataset([40, 20, 6]), [1, 2])
    return train_gan(
        data, classes, steps=3, batch_size=8, module_kwargs=TINY, trainer_kwargs={"enable_progress_bar": False}
    )


@pytest.fixture(scope="module")
def exported_once(gan: ConditionalGAN, tmp_path_factory: pytest.TempPathFactory) -> Path:
    names = make_toy_dataset([40, 20, 6]).class_names
    return export_generator(gan, tmp_path_factory.mktemp("export") / "gen", names, config={"gan": {"steps": 3}})


@pytest.fixture
def exported(exported_once: Path, tmp_path: Path) -> Path:
    """A private copy of the exported folder, free to damage."""
    return Path(shutil.copytree(exported_once, tmp_path / "gen"))


def _edit_meta(directory: Path, **changes) -> None:
    meta = json.loads((directory / "generator.json").read_text())
    meta.update(changes)
    (directory / "generator.json").write_text(json.dumps(meta))


def test_export_writes_weights_and_metadata(exported_once: Path, toy_dataset: ImageDataset) -> None:
    exported = exported_once
    assert sorted(p.name for p in exported.iterdir()) == ["generator.json", "generator.safetensors"]
    assert [p.name for p in exported.parent.iterdir()] == ["gen"], "temporary folder left behind"
    meta = json.loads((exported / "generator.json").read_text())
    assert meta["format"] == "ganaug-generator" and meta["version"] == 1 and meta["architecture"] == "dcgan"
    assert meta["kwargs"] == {"image_shape": [1, 8, 8], "num_classes": 3, "latent_dim": 8, "base_channels": 8}
    assert meta["image_shape"] == [1, 8, 8] and meta["num_classes"] == 3 and meta["latent_dim"] == 8
    assert meta["class_names"] == toy_dataset.class_names and meta["trained_classes"] == [1, 2]
    assert meta["value_range"] == [-1, 1] and meta["config"] == {"gan": {"steps": 3}}


def test_round_trip_gives_identical_samples(gan: ConditionalGAN, exported: Path, toy_dataset: ImageDataset) -> None:
    art = GeneratorArtifact.load(exported, expect=toy_dataset)
    assert art.image_shape == (1, 8, 8) and art.class_names == toy_dataset.class_names
    assert art.trained_classes == [1, 2] and not art.net.training
    labels = torch.tensor([1, 2, 2, 1, 2])
    ours = gan.sample(labels, generator=torch.Generator().manual_seed(7))
    theirs = art.sample(labels, generator=torch.Generator().manual_seed(7))
    assert theirs.dtype == torch.uint8 and theirs.shape == (5, 1, 8, 8) and theirs.device.type == "cpu"
    assert torch.equal(ours, theirs)
    chunked = art.sample(labels, generator=torch.Generator().manual_seed(7), batch_size=2)
    assert torch.equal(chunked, theirs)
    other = art.sample(labels, generator=torch.Generator().manual_seed(8))
    assert not torch.equal(other, theirs)
    assert art.sample(torch.tensor([], dtype=torch.int64)).shape == (0, 1, 8, 8)


def test_export_replaces_an_existing_folder(gan: ConditionalGAN, exported: Path) -> None:
    (exported / "stale.txt").write_text("old")
    export_generator(gan, exported, ["a", "b", "c"])
    assert not (exported / "stale.txt").exists()
    assert GeneratorArtifact.load(exported).class_names == ["a", "b", "c"]


def test_export_bad_inputs(gan: ConditionalGAN, tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="2 class names given for a GAN with 3 classes"):
        export_generator(gan, tmp_path / "g", ["a", "b"])
    with pytest.raises(GanaugError, match="not JSON-serialisable"):
        export_generator(gan, tmp_path / "g", ["a", "b", "c"], config={"path": Path("x")})
    assert not (tmp_path / "g").exists()


def test_sampling_an_untrained_class_is_refused(exported: Path) -> None:
    art = GeneratorArtifact.load(exported)
    with pytest.raises(GanaugError, match=r"classes \[0\] were not trained.*trained classes: \[1, 2\]"):
        art.sample(torch.tensor([1, 0]))
    with pytest.raises(GanaugError, match="batch_size"):
        art.sample(torch.tensor([1]), batch_size=0)


def test_missing_folder_and_files(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="generator folder not found"):
        GeneratorArtifact.load(tmp_path / "nowhere")
    (exported / "generator.json").unlink()
    with pytest.raises(GanaugError, match="generator.json: file not found"):
        GeneratorArtifact.load(exported)
    (exported / "generator.safetensors").unlink()
    with pytest.raises(GanaugError, match="generator.safetensors: file not found"):
        GeneratorArtifact.load(exported)


def test_corrupt_files(exported: Path) -> None:
    weights = exported / "generator.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(GanaugError, match="generator.safetensors: unreadable"):
        GeneratorArtifact.load(exported)
    weights.write_bytes(b"\x00" * 100)
    with pytest.raises(GanaugError, match="generator.safetensors: unreadable"):
        GeneratorArtifact.load(exported)
    save_file({"something": torch.zeros(2)}, str(weights))
    with pytest.raises(GanaugError, match="not this generator's weights"):
        GeneratorArtifact.load(exported)
    (exported / "generator.json").write_text("{not json")
    with pytest.raises(GanaugError, match="generator.json: not valid JSON"):
        GeneratorArtifact.load(exported)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"format": "ganaug-bank"}, "format is 'ganaug-bank', not 'ganaug-generator'"),
        ({"version": 9}, "version 9 is not supported"),
        ({"architecture": "stylegan"}, "unknown generator 'stylegan'; known generators: dcgan"),
        ({"kwargs": {"image_shape": [1, 8, 8], "num_classes": 3, "depth": 2}}, "takes no argument depth"),
        ({"kwargs": {"image_shape": [1, 8, 8], "num_classes": 3, "base_channels": 4}}, "not this generator's"),
    ],
)
def test_wrong_metadata(exported: Path, changes: dict, match: str) -> None:
    _edit_meta(exported, **changes)
    with pytest.raises(GanaugError, match=match):
        GeneratorArtifact.load(exported)


def test_metadata_that_is_not_an_object_or_lacks_keys(exported: Path) -> None:
    (exported / "generator.json").write_text("[1, 2]")
    with pytest.raises(GanaugError, match="format is 'list'"):
        GeneratorArtifact.load(exported)
    (exported / "generator.json").write_text(json.dumps({"format": "ganaug-generator", "version": 1}))
    with pytest.raises(GanaugError, match=r"missing keys \['architecture'"):
        GeneratorArtifact.load(exported)


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ((3, 8, 8), r"of \(1, 8, 8\) images, but the data has .* of \(3, 8, 8\); retrain the GAN"),
        ((1, 28, 28), r"of \(1, 8, 8\) images, but the data has .* of \(1, 28, 28\)"),
    ],
)
def test_image_shape_mismatch(exported: Path, shape: tuple[int, int, int], match: str) -> None:
    with pytest.raises(GanaugError, match=match):
        GeneratorArtifact.load(exported, expect=DataSpec(["class0", "class1", "class2"], shape))


def test_class_name_mismatch(exported: Path) -> None:
    with pytest.raises(GanaugError, match=r"generator .* has classes \['class0', 'class1', 'class2'\].*retrain"):
        GeneratorArtifact.load(exported, expect=DataSpec(["cat", "dog", "eel"], (1, 8, 8)))
