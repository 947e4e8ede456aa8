"""The trained generator as files (safetensors weights + JSON metadata), and loading it without pickle."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ganaug.data.dataset import DataSpec, check_same_data
from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path, read_json
from ganaug.gan.generators import build_generator, sample_uint8
from ganaug.gan.module import ConditionalGAN

FORMAT = "ganaug-generator"
VERSION = 1
WEIGHTS = "generator.safetensors"
META = "generator.json"
_RETRAIN = "retrain the GAN for this data"
_REQUIRED = (
    "architecture",
    "kwargs",
    "image_shape",
    "num_classes",
    "class_names",
    "trained_classes",
    "latent_dim",
)


def export_generator(
    gan: ConditionalGAN, directory: str | Path, class_names: list[str], config: dict | None = None
) -> Path:
    """Write the generator of `gan` to the folder `directory` (replaced atomically) and return it.

    `generator.safetensors` holds the state dict of the generator that samples: the EMA copy when the
    GAN keeps one (`"weights": "ema"` with its `"ema_decay"` in the metadata), else the trained
    generator (`"weights": "live"`). `generator.json` holds what is needed to rebuild and check it:
    architecture, constructor kwargs, image shape, class names, trained classes, latent size, value
    range, how its training step ran (`training`: ConditionalGAN.step_settings) and the (JSON-serialisable)
    config that produced it.
    """
    hp = gan.hparams
    if len(class_names) != hp.num_classes:
        raise GanaugError(
            f"{len(class_names)} class names given for a GAN with {hp.num_classes} classes; "
            "pass the dataset's class names"
        )
    image_shape = [int(s) for s in hp.image_shape]
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "architecture": hp.generator,
        "kwargs": {
            "image_shape": image_shape,
            "num_classes": int(hp.num_classes),
            **dict(gan.generator_kwargs),
        },
        "image_shape": image_shape,
        "num_classes": int(hp.num_classes),
        "class_names": [str(n) for n in class_names],
        "trained_classes": list(gan.trained_classes),
        "latent_dim": int(gan.latent_dim),
        "value_range": [-1, 1],
        "weights": "ema" if gan.ema is not None else "live",
        "ema_decay": gan.ema.decay if gan.ema is not None else None,
        "training": gan.step_settings,
        "config": dict(config or {}),
    }
    try:
        text = json.dumps(meta, indent=2) + "\n"
    except TypeError as exc:
        raise GanaugError(
            f"generator config is not JSON-serialisable ({exc}); pass plain dicts, lists and numbers"
        ) from None
    state = {k: v.detach().cpu().contiguous() for k, v in gan.sampling_generator.state_dict().items()}
    directory = Path(directory)
    with atomic_path(directory) as tmp:
        tmp.mkdir(parents=True)
        save_file(state, str(tmp / WEIGHTS))
        (tmp / META).write_text(text)
    return directory


def _check_meta(meta: object, where: Path) -> dict:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise GanaugError(
            f"{where}: format is {found!r}, not {FORMAT!r}; point to a folder written by export_generator"
        )
    if meta.get("version") != VERSION:
        raise GanaugError(f"{where}: version {meta.get('version')!r} is not supported (expected {VERSION}); {_RETRAIN}")
    missing = [k for k in _REQUIRED if k not in meta]
    if missing:
        raise GanaugError(f"{where}: missing keys {missing}; the file is damaged, {_RETRAIN}")
    return meta


@dataclass
class GeneratorArtifact:
    """A generator loaded from an exported folder: the network (eval mode, on the device it was loaded to) and
    its metadata."""

    net: nn.Module
    meta: dict

    @classmethod
    def load(
        cls,
        directory: str | Path,
        expect: Any = None,
        device: str | torch.device = "cpu",
    ) -> GeneratorArtifact:
        """Load and check a folder written by export_generator (no pickle anywhere), the network on `device`.

        With `expect` (the data it will sample for: anything with `class_names` and `image_shape`, such as
        the training split), a generator made for other data is refused.
        """
        d = Path(directory)
        if not d.is_dir():
            raise GanaugError(f"{d}: generator folder not found; train and export the GAN first, or fix the path")
        if not (d / WEIGHTS).is_file():
            raise GanaugError(f"{d / WEIGHTS}: file not found; the export is incomplete, {_RETRAIN}")
        meta = _check_meta(read_json(d / META), d / META)
        if expect is not None:
            made_for = DataSpec(meta["class_names"], meta["image_shape"])
            check_same_data(made_for, expect, f"the generator {d}", "the data", _RETRAIN)
        try:
            net = build_generator(meta["architecture"], **meta["kwargs"])
        except GanaugError as exc:
            raise GanaugError(f"{d / META}: {exc}") from None
        except TypeError as exc:
            raise GanaugError(f"{d / META}: kwargs do not fit '{meta['architecture']}' ({exc}); {_RETRAIN}") from None
        try:
            state = load_file(str(d / WEIGHTS))
            net.load_state_dict(state)
        except (SafetensorError, OSError, RuntimeError, ValueError) as exc:
            detail = str(exc).splitlines()[0]
            raise GanaugError(
                f"{d / WEIGHTS}: unreadable or not this generator's weights ({detail}); {_RETRAIN}"
            ) from None
        return cls(net=net.eval().to(device), meta=meta)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the generated images."""
        return tuple(int(s) for s in self.meta["image_shape"])  # type: ignore[return-value]

    @property
    def class_names(self) -> list[str]:
        """Names of every class id of the data the GAN was trained for."""
        return list(self.meta["class_names"])

    @property
    def trained_classes(self) -> list[int]:
        """Class ids the generator learned and can be asked for."""
        return [int(c) for c in self.meta["trained_classes"]]

    def sample(
        self, labels: torch.Tensor, generator: torch.Generator | None = None, batch_size: int = 1024
    ) -> torch.Tensor:
        """One uint8 (N, C, H, W) CPU image per label, generated on the network's device `batch_size` at a time;
        the same `generator` seed gives the same images on a device, from the same noise on any (drawn on the CPU)."""
        return sample_uint8(self.net, labels, int(self.meta["latent_dim"]), self.trained_classes, generator, batch_size)
