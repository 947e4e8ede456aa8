"""The config reference, generated from the schemas: every key with its type, default and meaning.

    python -m ganaug.cli.config.reference > docs/config.md

A field's meaning is the comment written above it in `schema.py`, else the library parameter its default is
read from (`default_of(target, "name")`): the docstring of that function or class says what it does. A test
checks that every key has a meaning and that docs/config.md is this module's output.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from typing import Any

from omegaconf import MISSING

from ganaug.cli.config import schema

_FIELD = re.compile(r"^\s+(\w+): [^=]+(?:= (.*))?$")
_LINK = re.compile(r"default_of\(([\w.\[\]\"']+), \"(\w+)\"\)")
TARGET = "the function or class the section is instantiated with (hydra.utils.instantiate)"
HEADER = """# Configuration reference

Generated from `ganaug/cli/config/schema.py` by `python -m ganaug.cli.config.reference`; a test keeps it current.
Every key is set on the command line as `section.key=value` (`python -m ganaug gan.steps=3000`), and every
section is a Hydra config group whose options live in `conf/<group>/`. A key's meaning links to the library
parameter it feeds where there is one: that function's docstring says more.
"""


def field_notes(cls: type) -> dict[str, str]:
    """Each field's meaning: the comments above it in the schema's source, else the parameter its default
    is read from."""
    notes, comments = {}, []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("# "))
            continue
        match = _FIELD.match(line)
        if match and not stripped.startswith(("def ", '"""', "class ")):
            name, default = match.group(1), match.group(2) or ""
            link = _LINK.search(default)
            if comments:
                notes[name] = " ".join(comments)
            elif name == "_target_":
                notes[name] = TARGET
            elif link:
                notes[name] = f"`{link.group(2)}` of `{link.group(1)}`"
        comments = []
    return notes


def _default(f: dataclasses.Field) -> str:
    value: Any = f.default
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    if value == MISSING or value is dataclasses.MISSING:
        return "required"
    if dataclasses.is_dataclass(value):
        return "(section)"
    return f"`{value!r}`".replace("|", "\\|")


def sections() -> Iterator[tuple[str, str, type]]:
    """(key prefix, title, schema) of every section, the root first, in the order a config lists them."""
    yield "", "top level", schema.RootConfig
    for name, data in schema.DATA_SCHEMAS.items():
        yield "data", f"data (data={name})", data
    yield from _nested("imbalance", schema.ImbalanceConfig)
    yield from _nested("gan", schema.GANConfig)
    yield from _nested("augment", schema.AugmentConfig)
    yield "classifier", "classifier (classifier=small_cnn)", schema.ClassifierConfig
    yield "classifier", "classifier (classifier=module)", schema.ModuleClassifierConfig
    yield "trainer", "trainer", schema.TrainerConfig
    yield from _nested("quality", schema.QualityConfig)


_SECTIONS = ("data", "imbalance", "gan", "augment", "classifier", "trainer", "quality")


def _nested(prefix: str, cls: type) -> Iterator[tuple[str, str, type]]:
    yield prefix, prefix, cls
    for f in dataclasses.fields(cls):
        inner = f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
        if dataclasses.is_dataclass(inner):
            yield from _nested(f"{prefix}.{f.name}", type(inner))


def _meaning(key: str, f: dataclasses.Field, notes: dict[str, str]) -> str:
    if _default(f) == "(section)" or key in _SECTIONS:
        return f"section `{key}`, below"
    return notes.get(f.name, "")


def undocumented() -> list[str]:
    """Every key without a meaning (a test requires none)."""
    out = []
    for prefix, _, cls in sections():
        notes = field_notes(cls)
        keys = [(f"{prefix}.{f.name}".lstrip("."), f) for f in dataclasses.fields(cls)]
        out += [key for key, f in keys if not _meaning(key, f, notes)]
    return out


def render() -> str:
    """The whole reference as Markdown."""
    parts = [HEADER]
    for prefix, title, cls in sections():
        notes = field_notes(cls)
        doc = " ".join((cls.__doc__ or "").split())
        rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for f in dataclasses.fields(cls):
            key = f"{prefix}.{f.name}".lstrip(".")
            kind = str(f.type).replace("|", "\\|")
            rows.append(f"| `{key}` | `{kind}` | {_default(f)} | {_meaning(key, f, notes)} |")
        parts.append(f"## {title}\n\n{doc}\n\n" + "\n".join(rows) + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
