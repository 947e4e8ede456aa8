"""The apps' small parts: cache keys, the comparison table, the sweep summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganaug.apps.cache import cache_key, cached_stage
from ganaug.apps.summarize import collect, main, summarize, summary_table
from ganaug.apps.table import metrics_table
from ganaug.errors import GanaugError


def test_cache_key_is_stable_and_order_free() -> None:
    assert cache_key({"a": 1, "b": [1, 2]}) == cache_key({"b": [1, 2], "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})


def test_cached_stage_builds_once(tmp_path: Path) -> None:
    calls = []

    def build(path: Path) -> None:
        calls.append(path)
        path.mkdir()

    first = cached_stage(tmp_path, "gan", {"x": 1}, build)
    second = cached_stage(tmp_path, "gan", {"x": 1}, build)
    third = cached_stage(tmp_path, "gan", {"x": 2}, build)
    assert first == second != third and len(calls) == 2
    assert json.loads(first.with_suffix(".json").read_text()) == {"x": 1}


def test_metrics_table_has_a_line_per_strategy() -> None:
    rows = [{"strategy": "none", "seed": 0, "accuracy": 0.5, "balanced_accuracy": 0.25, "macro_f1": 0.2,
             "rarest_class_recall": 0.0, "synthetic_size": 0}]
    table = metrics_table(rows).splitlines()
    assert len(table) == 3 and table[2].startswith("| none | 0 | 0.5000 | 0.2500 |")


def _write_run(folder: Path, rows: list[dict]) -> None:
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(rows))


def test_summary_means_and_stds(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    def row(strategy: str, seed: int, value: float) -> dict:
        return {"strategy": strategy, "seed": seed, "accuracy": value, "balanced_accuracy": value,
                "macro_f1": value, "rarest_class_recall": value}

    _write_run(tmp_path / "0", [row("gan", 0, 0.5)])
    _write_run(tmp_path / "1", [row("gan", 1, 0.7)])
    _write_run(tmp_path / "2", [row("none", 0, 0.4)])
    summary = {s["strategy"]: s for s in summarize(collect(tmp_path))}
    assert summary["gan"]["balanced_accuracy"] == pytest.approx(0.6)
    assert summary["gan"]["balanced_accuracy_std"] == pytest.approx(0.1414, abs=1e-4)
    assert summary["none"]["runs"] == 1 and summary["none"]["balanced_accuracy_std"] == 0.0
    assert "0.6000 ± 0.1414" in summary_table(list(summary.values()))
    assert main([str(tmp_path)]) == 0
    assert "| gan | 2 |" in capsys.readouterr().out


def test_summary_of_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(GanaugError, match="folder not found"):
        collect(tmp_path / "nope")
    with pytest.raises(GanaugError, match="no metrics.json"):
        collect(tmp_path)
    assert main([str(tmp_path / "nope")]) == 2
