"""The command line's small parts: the comparison table, the sweep summary."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers.cli import exit_code

from ganaug.classify.summary import summarize
from ganaug.cli.summarize import main
from ganaug.errors import GanaugError
from ganaug.report.runs import load_jobs
from ganaug.report.table import run_table, summary_table


def collect(sweep_dir: Path) -> list[dict]:
    return [row for job in load_jobs(sweep_dir) for row in job.rows]


def test_metrics_table_has_a_line_per_strategy() -> None:
    rows = [{"strategy": "none", "seed": 0, "accuracy": 0.5, "balanced_accuracy": 0.25, "macro_f1": 0.2,
             "rarest_class_recall": 0.0, "synthetic_size": 0}]
    table = run_table(rows).splitlines()
    assert len(table) == 3 and table[2].startswith("| none | 0 | 0.2500 | 0.2000 | 0.5000 |")


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
    assert exit_code(main, [str(tmp_path / "nope")]) == 2


def _cfg(overrides: list[str]):
    from hydra import compose, initialize_config_dir

    from ganaug.cli.config import config_dir

    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        return compose("config", overrides=overrides)


def _stage_key(stage: type, overrides: list[str], root: Path, minority: list[int] | None = None) -> str:
    from ganaug.flow.context import Flow

    cfg = _cfg([*overrides, f"cache_dir={root}"])
    flow = Flow(cfg)
    if minority is not None:
        flow.prepared.minority = minority
    return flow.stage(stage).key()


def test_gan_key_ignores_what_does_not_change_the_generator(tmp_path: Path) -> None:
    from ganaug.flow.stages import GanStage

    def key(overrides: list[str], minority: list[int] | None = None) -> str:
        return _stage_key(GanStage, overrides, tmp_path, minority or [7, 8, 9])

    base = key([])
    for override in ("seed=5", "augment=gan", "gan.sample_seed=3", "gan.sample_every_n_steps=7",
                     "gan.gate.enabled=true", "gan.module.monitor.collapse_ratio=0.2", "classifier.epochs=3",
                     "imbalance.target.fill_fraction=0.3"):
        assert key([override]) == base, override
    assert key([], minority=[9]) == base  # conditioned on all classes: the minority list is not an input
    changing = ("gan.steps=10", "gan.seed=1", "gan.module.loss=wgan_gp", "imbalance.ratio=20", "data.split_seed=2")
    for override in changing:
        assert key([override]) != base, override
    assert key(["gan.condition_on=minority"], [9]) != key(["gan.condition_on=minority"], [8, 9])


def test_data_key_follows_the_profile_and_the_files(tmp_path: Path) -> None:
    from ganaug.flow.context import Flow
    from ganaug.flow.stages import DataStage

    def key(*overrides: str) -> str:
        return Flow(_cfg(list(overrides))).stage(DataStage).key()

    assert key("imbalance=none", "imbalance.seed=3") == key("imbalance=none")
    assert key("imbalance.step_fraction=0.3") == key()
    assert key("imbalance=step", "imbalance.step_fraction=0.3") != key("imbalance=step")
    data = tmp_path / "d.npz"
    data.write_bytes(b"one")
    first = key("data=npz", f"data.path={data}")
    data.write_bytes(b"two")
    assert key("data=npz", f"data.path={data}") != first


def test_source_fingerprint_follows_content_not_timestamps(tmp_path: Path) -> None:
    import shutil

    from ganaug.flow.cache import source_fingerprint

    root = tmp_path / "images"
    (root / "cat").mkdir(parents=True)
    image = root / "cat" / "a.png"
    image.write_bytes(b"one")
    first = source_fingerprint(root)
    os.utime(root, ns=(9, 9))
    os.utime(image, ns=(6, 6))
    assert source_fingerprint(root) == first  # touched, not changed
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)  # a fresh copy: new timestamps, the same files
    assert source_fingerprint(copy) == first
    image.write_bytes(b"two")  # rewritten in place, same size
    os.utime(image, ns=(6, 6))
    assert source_fingerprint(root) != first
    image.write_bytes(b"one")
    assert source_fingerprint(root) == first
    (root / "cat" / "a.png").rename(root / "cat" / "b.png")  # same bytes under another name
    assert source_fingerprint(root) != first
    (root / "cat" / "b.png").rename(root / "cat" / "a.png")
    (root / "cat" / "c.png").write_bytes(b"new")
    assert source_fingerprint(root) != first
    assert source_fingerprint(tmp_path / "missing") is None
