"""The Lightning namespaces ganaug works in, its Lightning classes in either, and the Trainer's defaults.

Lightning ships twice: `pytorch_lightning` and `lightning.pytorch` (what `import lightning as L` gives, as
Lightning's own documentation writes it). The two are copies whose Trainers refuse each other's modules,
callbacks and datamodules. ganaug's Lightning classes (`ConditionalGAN`, `ImageClassifier`,
`GANAugDataModule`, its callbacks) are written once, as a core class with `Bindable`, and bound to a
namespace when an instance is made: the namespace of the Lightning object it wraps when there is one, else
the one `use()` chose, else `lightning.pytorch` if the program imported `lightning`, else
`pytorch_lightning` (the `GANAUG_LIGHTNING` environment variable overrides that guess). The Trainers ganaug
builds are of the namespace of the module they fit.

ganaug's own fits (the GAN, the classifier of each strategy, the feature extractor) keep no logger, no
checkpoint and no model summary unless asked: their results are files of ganaug's, and a sweep runs many.
A logger or callback asked for as a class or a partial (what Hydra's `_partial_: true` gives) is made anew
for each Trainer, in its namespace, a logger with the fit's name: one run's curves never mix with the
next fit's, and a stateful callback (early stopping) never carries over. Objects are used as given.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from ganaug.errors import GanaugError
from ganaug.progress import shown

if TYPE_CHECKING:
    import torch

NAMESPACES = {"pytorch_lightning": "pytorch_lightning", "lightning": "lightning.pytorch"}
ENV = "GANAUG_LIGHTNING"
QUIET_TRAINER: dict[str, Any] = {"logger": False, "enable_checkpointing": False, "enable_model_summary": False}
_chosen: list[str] = []


def _module(name: str) -> ModuleType:
    """The namespace module for `pytorch_lightning`, `lightning` or `lightning.pytorch`."""
    full = NAMESPACES.get(name, name)
    if full not in NAMESPACES.values():
        raise GanaugError(f"{ENV}={name!r}: unknown Lightning namespace; pick one of {', '.join(NAMESPACES)}")
    try:
        return importlib.import_module(full)
    except ImportError:
        package = full.split(".")[0]
        raise GanaugError(f"Lightning namespace {full} is not installed; pip install {package}") from None


def default_namespace() -> ModuleType:
    """The namespace new ganaug Lightning objects are made in when nothing they wrap decides it."""
    if _chosen:
        return _module(_chosen[-1])
    if os.environ.get(ENV):
        return _module(os.environ[ENV])
    return _module("lightning" if "lightning" in sys.modules else "pytorch_lightning")


@contextlib.contextmanager
def use(name: str) -> Iterator[ModuleType]:
    """Make ganaug's Lightning objects in namespace `name` (`pytorch_lightning` or `lightning`) in the block."""
    namespace = _module(name)
    _chosen.append(namespace.__name__)
    try:
        yield namespace
    finally:
        _chosen.pop()


def namespace_of(obj: Any) -> ModuleType | None:
    """The namespace of a Lightning object (module, datamodule, callback, logger or Trainer), if it is one."""
    for full in NAMESPACES.values():
        namespace = sys.modules.get(full)
        if namespace is None:
            continue
        kinds = (namespace.LightningModule, namespace.LightningDataModule, namespace.Callback, namespace.Trainer)
        if isinstance(obj, (*kinds, namespace.loggers.Logger)):
            return namespace
    return None


def module_namespace(cls: Any) -> ModuleType | None:
    """The namespace whose LightningModule the class `cls` subclasses, if it is one."""
    for full in NAMESPACES.values():
        namespace = sys.modules.get(full)
        if namespace is not None and isinstance(cls, type) and issubclass(cls, namespace.LightningModule):
            return namespace
    return None


def is_lightning(obj: Any, name: str) -> bool:
    """Whether `obj` is an instance of Lightning's `name` (e.g. "loggers.TensorBoardLogger") in either
    namespace that is imported."""
    for full in NAMESPACES.values():
        owner: Any = sys.modules.get(full)
        for part in name.split(".") if owner is not None else ():
            owner = getattr(owner, part, None)
        if isinstance(owner, type) and isinstance(obj, owner):
            return True
    return False


def namespace_for(*objects: Any) -> ModuleType:
    """The namespace of the first Lightning object among `objects`, else the default one."""
    return next((n for n in map(namespace_of, objects) if n is not None), None) or default_namespace()


@functools.cache
def bound_class(core: type, base: str, namespace: str) -> type:
    """`core` with the Lightning base class `base` (e.g. "LightningModule", "callbacks.ProgressBar") of
    `namespace`, made once and registered in the core's module under its own name, so it pickles."""
    tag = namespace.replace(".", "_")
    name = f"{core.__name__}_{tag}"
    lightning_class: Any = _module(namespace)
    for part in base.split("."):
        lightning_class = getattr(lightning_class, part)
    cls = type(name, (core, lightning_class), {"__module__": core.__module__, "__qualname__": name})
    cls.__name__ = core.__name__  # shown in logs and summaries; the unique qualname is what pickle looks up
    setattr(sys.modules[core.__module__], name, cls)
    return cls


def bound_getattr(module_name: str) -> Callable[[str], type]:
    """A module's `__getattr__` that makes its cores' bound classes on demand (unpickling asks for them by
    name in a process that has not made them yet)."""

    def __getattr__(name: str) -> type:
        for tag, full in ((full.replace(".", "_"), full) for full in NAMESPACES.values()):
            core = getattr(sys.modules[module_name], name.removesuffix(f"_{tag}"), None) if name.endswith(tag) else None
            if isinstance(core, type) and issubclass(core, Bindable):
                return core.bind(_module(full))
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__


def _leave_process_group() -> None:
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@functools.cache
def leave_process_group_at_exit() -> None:
    """Make this process destroy its default torch.distributed process group at exit, if it still has one.

    PyTorch asks every program that joins a group to destroy it before exiting; Lightning's DDP strategies do
    so for NCCL only and leave a gloo group (DDP on CPUs) to the interpreter's shutdown, where gloo's threads
    can abort a rank that trained fine (SIGABRT, "terminate called without an active exception",
    pytorch/pytorch#190489). Registered once per process.
    """
    atexit.register(_leave_process_group)


class Bindable:
    """A core class written once for both namespaces: making an instance makes it of the core bound to a
    namespace (`bound_class`); `lightning_base` names the Lightning class it extends. `binding_source`
    may name the constructor argument whose namespace decides (a datamodule it wraps). A process that makes
    or unpickles one (a DDP rank) leaves its process group at exit (`leave_process_group_at_exit`)."""

    lightning_base: ClassVar[str]
    binding_source: ClassVar[str | None] = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        leave_process_group_at_exit()
        if cls.__dict__.get("_bound_to") is not None:
            return super().__new__(cls)
        source = kwargs.get(cls.binding_source, args[0] if args else None) if cls.binding_source else None
        namespace = namespace_for(source)
        bound = bound_class(cls, cls.lightning_base, namespace.__name__)
        bound._bound_to = namespace.__name__
        return super().__new__(bound)

    @classmethod
    def bind(cls, namespace: ModuleType) -> type:
        """This core class bound to `namespace` (to make an instance in it, whatever the default)."""
        bound = bound_class(cls, cls.lightning_base, namespace.__name__)
        bound._bound_to = namespace.__name__
        return bound


class CallbackCore(Bindable):
    """A core Lightning Callback that keeps state in checkpoints: its key there is the core class's name,
    the same under both packages, so a run checkpointed under `pytorch_lightning` resumes under `lightning`
    (and back) with its state, instead of silently without it."""

    lightning_base = "Callback"

    @property
    def state_key(self) -> str:
        """The core class's name (a bound class carries it as its `__name__`)."""
        return type(self).__name__


def with_func(factory: Callable[..., Any], func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` in place of what `factory` calls: a partial keeps its arguments around the new function."""
    if isinstance(factory, functools.partial):
        return functools.partial(func, *factory.args, **factory.keywords)
    return func


def in_namespace(factory: Callable[..., Any], namespace: ModuleType) -> Callable[..., Any]:
    """A Lightning class (or a partial of one) of either namespace, taken from `namespace` instead (same
    name); anything else is returned as it is."""
    func = factory.func if isinstance(factory, functools.partial) else factory
    module = getattr(func, "__module__", "") or ""
    roots = tuple(NAMESPACES.values())
    if not isinstance(func, type) or not module.startswith(roots) or module.startswith(namespace.__name__):
        return factory
    root = next(r for r in roots if module.startswith(r))
    twin = importlib.import_module(namespace.__name__ + module[len(root) :])
    return with_func(factory, getattr(twin, func.__name__))


def is_factory(value: Any) -> bool:
    """A class or a partial: what build_trainer makes a logger or callback from, anew for each Trainer."""
    return isinstance(value, (type, functools.partial))


def _made(value: Any, namespace: ModuleType, **kwargs: Any) -> Any:
    return in_namespace(value, namespace)(**kwargs) if is_factory(value) else value


def accelerator_device(trainer_kwargs: Mapping[str, Any] | None = None) -> torch.device:
    """The torch device of a Trainer's first device for these Trainer arguments: where ganaug runs what it
    does outside fits (generation, the gate, quality metrics), beside the fits themselves.

    `accelerator` "cpu" is the CPU, "gpu"/"cuda" CUDA, "mps" Apple's, "auto" (Lightning's default) CUDA when
    present; `devices` given as a list or "i,j" picks the first index.
    """
    import torch

    settings = dict(trainer_kwargs or {})
    accelerator = str(settings.get("accelerator", "auto")).lower()
    if accelerator == "mps":
        return torch.device("mps")
    if accelerator not in ("gpu", "cuda") and not (accelerator == "auto" and torch.cuda.is_available()):
        return torch.device("cpu")
    devices = settings.get("devices", "auto")
    if isinstance(devices, str) and "," in devices:
        devices = [int(d) for d in devices.split(",") if d.strip()]
    first = devices[0] if isinstance(devices, (list, tuple)) and devices else 0
    return torch.device("cuda", int(first))


def is_rank_zero() -> bool:
    """Whether this process is rank zero of a distributed run, or not in one (Lightning's launchers set the
    rank in the environment of every process they start)."""
    return all(int(os.environ.get(key, 0)) == 0 for key in ("RANK", "LOCAL_RANK", "NODE_RANK"))


def build_trainer(
    settings: Mapping[str, Any] | None = None,
    namespace: ModuleType | None = None,
    name: str = "fit",
    **defaults: Any,
) -> Any:
    """A Trainer of `namespace` (default: the default namespace) from QUIET_TRAINER, then a fit's
    `defaults`, then the caller's `settings` (which win); logger and callback factories among them are
    made for this Trainer (loggers with `name=name`, the fit's name in their folder or run). Its progress
    bar shows as `ganaug.progress.shown` says (enable_progress_bar None: on a terminal only)."""
    namespace = namespace or default_namespace()
    merged = {**QUIET_TRAINER, **defaults, **(settings or {})}
    merged["enable_progress_bar"] = shown(merged.get("enable_progress_bar"))
    logger = merged["logger"]
    if isinstance(logger, (list, tuple)):
        merged["logger"] = [_made(one, namespace, name=name) for one in logger]
    elif is_factory(logger):
        merged["logger"] = _made(logger, namespace, name=name)
    merged["callbacks"] = [_made(one, namespace) for one in merged.get("callbacks") or []]
    return namespace.Trainer(**merged)
