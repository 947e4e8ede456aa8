"""The GAN-length benchmark: one training, a generator per length, validation scores only (tiny sizes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganaug.flow.context import Flow
from ganaug.flow.stages import GanStage

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gan_length  # noqa: E402

TINY = ["experiment=quick", "classifier.epochs=1", "trainer.enable_progress_bar=false"]


def test_one_training_scores_every_length(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, cache = tmp_path / "out", f"cache_dir={tmp_path / 'cache'}"
    assert gan_length.main(["--steps", "6,3", "--seeds", "0,1", "--out", str(out), *TINY, cache]) == 0
    result = json.loads((out / "gan_length.json").read_text())
    assert [r["steps"] for r in result["lengths"]] == [3, 6] and result["seeds"] == [0, 1]
    assert result["strategy"] == "gan+classical" and result["reference"]["strategy"] == "classical"
    for row in result["lengths"]:
        assert len(row["scores"]) == 2 and all(0.0 <= s <= 1.0 for s in row["scores"])
        assert row["gain"]["mean"] == pytest.approx(row["mean"] - result["reference"]["mean"])
    # one GAN run (the cache's), a snapshot at each length; a run of 3 steps is the first 3 steps of the 6-step run
    run = Flow(gan_length.length_config([*TINY, cache], None, [3, 6])).stage(GanStage)
    assert str(run.flow.output(GanStage)) == result["gan_dir"]
    weights = [load_file(run.generator_dir(s) / "generator.safetensors") for s in (3, 6)]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    cfg = gan_length.compose_config([*TINY, cache], None, 3)
    alone = load_file(Flow(cfg).output(GanStage) / "generator" / "generator.safetensors")
    assert alone.keys() == weights[0].keys() and all(torch.equal(alone[k], weights[0][k]) for k in alone)
    printed = capsys.readouterr().out
    assert "| 3 |" in printed and "| 6 |" in printed and "classical (reference)" in printed


def test_the_configured_snapshots_and_any_gan_strategy(tmp_path: Path) -> None:
    out = tmp_path / "out"
    configured = [*TINY, f"cache_dir={tmp_path / 'cache'}", "gan.steps=4", "gan.snapshots=[0.5,1.0]"]
    args = ["--strategy", "gan+la+classical", "--seeds", "0", "--out", str(out), *configured]
    assert gan_length.main(args) == 0
    result = json.loads((out / "gan_length.json").read_text())
    assert [r["steps"] for r in result["lengths"]] == [2, 4]
    assert result["strategy"] == "gan+la+classical" and result["reference"]["strategy"] == "la+classical"
    # the main job's run of the same config: the cache's GAN, not a second training
    assert result["gan_dir"] == str(Flow(gan_length.compose_config(configured, None, None)).output(GanStage))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--steps", "0,5"], "--steps 0,5"),
        (["--steps", "5", "--seeds", "a"], "--seeds a"),
        (["--steps", "5", "gan.steps=3"], "gan.steps is set by --steps"),
        (["--steps", "5", "gan.snapshots=[1.0]"], "gan.snapshots is set by --steps"),
        (["--strategy", "la+classical"], "not a GAN strategy"),
        (["--strategy", "gan+oversample+la"], "oversample"),
        (["--steps", "5", "gan.nope=1"], "gan.nope"),
        (["--steps", "5", "data.val_fraction=2"], "data.val_fraction"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str):
    assert gan_length.main([*args, "--out", str(tmp_path / "out"), "experiment=quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganaug: error:") and needle in err[0]
    assert not (tmp_path / "out").exists()
