"""A stage of the flow as a small object: what it depends on, and its output cached under that key.

A stage declares the config sections its output depends on (`sections`: dotted keys; `-key` leaves a
sub-key of a declared section out) and any other input (`inputs`: the keys of the stages it reads, facts
of the data). Its cache key is the hash of exactly those, so a setting joins a key only by being declared,
and a sweep over later stages reuses earlier outputs.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from omegaconf import DictConfig, OmegaConf

from ganaug.flow.cache import cache_key, cached_stage, entry_path, rebuilt_if_damaged
from ganaug.lightning import is_rank_zero

if TYPE_CHECKING:
    from ganaug.flow.context import Flow

T = TypeVar("T")


def _plain(cfg: DictConfig, key: str) -> Any:
    node = OmegaConf.select(cfg, key, throw_on_missing=True)
    return OmegaConf.to_container(node, resolve=True, throw_on_missing=True) if OmegaConf.is_config(node) else node


def select_sections(cfg: DictConfig, sections: Sequence[str]) -> dict[str, Any]:
    """{dotted key: resolved plain value} for each declared section, declared exclusions (`-key`) removed."""
    chosen = {key: _plain(cfg, key) for key in sections if not key.startswith("-")}
    for excluded in (key[1:] for key in sections if key.startswith("-")):
        owner = max((k for k in chosen if excluded.startswith(k + ".")), key=len, default=None)
        if owner is None:
            raise ValueError(f"excluded section {excluded} is not inside a declared one")
        value = chosen[owner] = copy.deepcopy(chosen[owner])
        *path, last = excluded[len(owner) + 1 :].split(".")
        for part in path:
            value = value[part]
        value.pop(last, None)
    return chosen


class Stage(ABC, Generic[T]):
    """One cached stage of a flow: `build(folder)` writes its output, `load(folder)` reads it back."""

    name: ClassVar[str]
    sections: ClassVar[tuple[str, ...]] = ()
    resumable: ClassVar[bool] = False
    # Whether the build's fits use every rank of a distributed run (each rank builds; rank zero's is kept).
    distributed: ClassVar[bool] = False

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.cfg = flow.cfg
        self._payload: dict[str, Any] | None = None

    def declared_sections(self) -> tuple[str, ...]:
        """The config sections this run's output depends on (by default the class's `sections`)."""
        return self.sections

    def inputs(self) -> dict[str, Any]:
        """What else the output depends on: other stages' keys, facts of the data."""
        return {}

    def describe(self) -> dict[str, Any]:
        """Everything the output depends on: the declared sections and the other inputs."""
        return {"config": select_sections(self.cfg, self.declared_sections()), **self.inputs()}

    def payload(self) -> dict[str, Any]:
        """`describe()`, computed once per stage object; its hash is the cache key."""
        if self._payload is None:
            self._payload = self.describe()
        return self._payload

    def key(self) -> str:
        """The cache key of this stage's output."""
        return cache_key(self.payload())

    def prerequisites(self) -> list[tuple[type[Stage], dict[str, Any]]]:
        """The stages (kind, parameters) whose outputs `build` reads, in the order it reads them."""
        return []

    def folder(self) -> Path:
        """The output's folder in the cache, built first when it is missing. On a rank other than zero of a
        distributed run, whose entries rank zero builds, the prerequisites come first: their builds may hold
        fits that need this rank, in the order rank zero's build reaches them."""
        if not is_rank_zero() and not entry_path(self.cfg.cache_dir, self.name, self.payload()).is_dir():
            for kind, params in self.prerequisites():
                self.flow.output(kind, **params)
        return cached_stage(self.cfg.cache_dir, self.name, self.payload(), self.build, resumable=self.resumable,
                            distributed=self.distributed)  # fmt: skip

    @abstractmethod
    def build(self, folder: Path) -> None:
        """Write the output into `folder` (a private folder renamed into place when complete; a `resumable`
        stage finds there what an interrupted build of the same output left)."""

    @abstractmethod
    def load(self, folder: Path) -> T:
        """Read the output back from its folder."""

    def verify(self, folder: Path) -> None:
        """Raise GanaugError when the cached entry in `folder` is damaged (by default: it does not load)."""
        self.load(folder)

    def output(self) -> T:
        """The stage's output, built when it is not cached yet, and built again (with a warning) when the
        cached entry is damaged: edited metadata, a truncated file, a deleted part."""
        folder, _ = rebuilt_if_damaged(self.name, self.folder, self.verify)
        return self.load(folder)
