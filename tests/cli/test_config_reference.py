"""docs/config.md documents every config key: it is generated from the schemas and kept current."""

from __future__ import annotations

import re

from helpers.cli import REPO
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ganaug.cli.config import config_dir
from ganaug.cli.config.reference import render, undocumented


def test_every_key_has_a_meaning() -> None:
    assert undocumented() == []


def test_the_reference_in_docs_is_current() -> None:
    fix = "run: python -m ganaug.cli.config.reference > docs/config.md"
    assert (REPO / "docs" / "config.md").read_text() == render(), fix


def _leaves(node: object, prefix: str = "") -> list[str]:
    if not isinstance(node, dict) or not node:
        return [prefix]
    return [key for k, v in node.items() for key in _leaves(v, f"{prefix}.{k}".lstrip("."))]


def test_every_key_of_every_composed_option_is_in_the_reference() -> None:
    documented = set(re.findall(r"^\| `([\w.]+)` \|", render(), flags=re.M))
    overrides = [
        [], ["data=mnist", "data.root=/x"], ["data=npz", "data.path=/x"], ["data=image_folder", "data.root=/x"],
        ["data=torchvision", "data.root=/x"], ["classifier=module", "classifier._target_=a.B"],
        ["data=datamodule", "data.datamodule._target_=a.B"], ["gan=resnet", "experiment=mnist_lt", "data.root=/x"],
    ]
    for extra in overrides:
        with initialize_config_dir(str(config_dir()), version_base="1.3"):
            cfg = compose("config", overrides=extra)
        plain = OmegaConf.to_container(cfg, resolve=False)
        for section in ("logger", "callbacks"):  # Lightning's own arguments, documented by Lightning
            plain.pop(section)
        missing = [k for k in _leaves(plain) if not any(k == d or k.startswith(f"{d}.") for d in documented)]
        assert missing == [], (extra, missing)
