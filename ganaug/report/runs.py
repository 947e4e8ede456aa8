"""Reading a sweep: every job folder's metrics, config, overrides and pointers, grouped by configuration.

A job folder is any folder holding `metrics.json` (written by `python -m ganaug`); beside it Hydra keeps
`.hydra/config.yaml` and `.hydra/overrides.yaml`, the flow writes `artifacts.json` (data_dir, gan_dir,
bank_dir: where the stage outputs are), the quality stage may write `quality.json` and the auto strategy
`auto.json` (its decision).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganaug.errors import GanaugError
from ganaug.fileio import read_json

# Overrides that choose what a group compares (strategies, seeds), that the configuration names already
# (dataset, imbalance profile and ratio), or that do not change results (output folders).
_GROUPING_EXEMPT = re.compile(
    r"^[+~]*(seed|augment|augment\.strategies|imbalance|imbalance\.(profile|ratio)|data|data\.(root|path|name)"
    r"|hydra\..*|cache_dir|name)(=|$)"
)


@dataclass
class Job:
    """One job folder of a sweep: its metrics rows and what it was run with."""

    folder: Path
    rows: list[dict]
    config: dict = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    artifacts: dict = field(default_factory=dict)
    quality: dict | None = None
    auto: dict | None = None


@dataclass(frozen=True)
class Configuration:
    """What a group of jobs shares: the dataset, its imbalance, and any other setting the sweep varied."""

    dataset: str
    profile: str
    ratio: float | None
    settings: tuple[str, ...] = ()

    @property
    def is_balanced_reference(self) -> bool:
        """Whether the training split was left as the source gives it (imbalance=none)."""
        return self.profile == "none"

    @property
    def imbalance(self) -> str:
        """The imbalance in words."""
        if self.profile == "none":
            return "no imbalance added"
        ratio = f"{self.ratio:g}" if self.ratio is not None else "?"
        return f"{self.profile} imbalance, ratio {ratio}"

    @property
    def label(self) -> str:
        """A one-line name for headings."""
        extra = f" ({', '.join(self.settings)})" if self.settings else ""
        return f"{self.dataset}, {self.imbalance}{extra}"

    @property
    def slug(self) -> str:
        """A file-name-safe form of the label, for figure names."""
        return re.sub(r"[^A-Za-z0-9]+", "-", self.label).strip("-").lower()[:80]


def _load_yaml(path: Path) -> Any:
    try:
        conf = OmegaConf.load(path)
    except (OmegaConfBaseException, yaml.YAMLError, OSError, ValueError) as exc:
        raise GanaugError(f"{path}: not readable YAML ({' '.join(str(exc).split())}); re-run that job") from None
    try:
        return OmegaConf.to_container(conf, resolve=True)
    except OmegaConfBaseException:
        return OmegaConf.to_container(conf, resolve=False)


def _check_rows(path: Path, rows: Any) -> list[dict]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "strategy" in r for r in rows):
        raise GanaugError(f"{path}: not a list of metrics rows with a 'strategy' each; re-run that job")
    return rows


def _optional_json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def load_job(folder: Path) -> Job:
    """Read one job folder (its metrics.json must exist; everything else is optional)."""
    hydra = folder / ".hydra"
    config = _load_yaml(hydra / "config.yaml") if (hydra / "config.yaml").is_file() else {}
    overrides = _load_yaml(hydra / "overrides.yaml") if (hydra / "overrides.yaml").is_file() else []
    artifacts = _optional_json(folder / "artifacts.json")
    quality = _optional_json(folder / "quality.json")
    auto = _optional_json(folder / "auto.json")
    return Job(
        folder=folder,
        rows=_check_rows(folder / "metrics.json", read_json(folder / "metrics.json")),
        config=config if isinstance(config, dict) else {},
        overrides=[str(o) for o in overrides] if isinstance(overrides, list) else [],
        artifacts=artifacts if isinstance(artifacts, dict) else {},
        quality=quality if isinstance(quality, dict) else None,
        auto=auto if isinstance(auto, dict) else None,
    )


def load_jobs(sweep_dir: str | Path) -> list[Job]:
    """Every job folder below `sweep_dir` (a Hydra multirun folder, or several side by side)."""
    root = Path(sweep_dir)
    if not root.is_dir():
        raise GanaugError(f"{root}: folder not found; pass the multirun folder (hydra.sweep.dir)")
    jobs = [load_job(path.parent) for path in sorted(root.rglob("metrics.json"))]
    if not jobs:
        raise GanaugError(f"{root}: no metrics.json below it; run `python -m ganaug -m ...` into it first")
    return jobs


def dataset_label(config: dict) -> str:
    """The data source in words: the loader's name and the dataset's name (a torchvision name, or the file or
    folder's own name; never the machine's absolute path)."""
    data = config.get("data") or {}
    if not data:
        return "unknown dataset"
    loader = str(data.get("_target_", "data")).rsplit(".", 1)[-1].removeprefix("load_")
    given = {k: str(data[k]) for k in ("name", "root", "path") if data.get(k) not in (None, "???")}
    names = [v if k == "name" else Path(v).name for k, v in given.items()]
    return f"{loader} ({', '.join(names)})" if names else loader


def _varying(jobs: Sequence[Job]) -> set[str]:
    """Overrides that not every job shares and that the configuration does not already name."""
    sets = [{o for o in job.overrides if not _GROUPING_EXEMPT.match(o)} for job in jobs]
    return set.union(*sets) - set.intersection(*sets) if sets else set()


def configuration(job: Job, varying: set[str]) -> Configuration:
    """The configuration a job belongs to."""
    imbalance = job.config.get("imbalance") or {}
    profile = str(imbalance.get("profile", "unknown"))
    ratio = imbalance.get("ratio")
    return Configuration(
        dataset=dataset_label(job.config),
        profile=profile,
        ratio=float(ratio) if profile != "none" and isinstance(ratio, (int, float)) else None,
        settings=tuple(sorted(o for o in job.overrides if o in varying)),
    )


def group_jobs(jobs: Sequence[Job]) -> dict[Configuration, list[Job]]:
    """Jobs grouped by configuration: per dataset, the largest imbalance first, the source's own last."""
    varying = _varying(jobs)
    groups: dict[Configuration, list[Job]] = {}
    for job in jobs:
        groups.setdefault(configuration(job, varying), []).append(job)
    order = sorted(groups, key=lambda c: (c.dataset, c.is_balanced_reference, -(c.ratio or 0.0), c.settings))
    return {c: groups[c] for c in order}
