"""`python -m ganaug.cli.tune` and ganaug.report.selection: settings chosen on validation scores only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from helpers.cli import exit_code, run_cli

from ganaug.cli.tune import main, plan
from ganaug.errors import GanaugError
from ganaug.report.runs import load_jobs
from ganaug.report.selection import select_settings, selection_table

_CONFIG = {
    "data": {"_target_": "ganaug.data.sources.load_digits"},
    "imbalance": {"profile": "exponential", "ratio": 10},
}


def _job(root: Path, name: str, overrides: list[str], rows: list[tuple[str, int, float, float]]) -> None:
    """A job folder: rows of (strategy, seed, validation balanced accuracy, test balanced accuracy)."""
    folder = root / name
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(_CONFIG))
    metrics = [
        {"strategy": s, "seed": seed, "val_balanced_accuracy": val, "balanced_accuracy": test}
        for s, seed, val, test in rows
    ]
    (folder / "metrics.json").write_text(json.dumps(metrics))


def _sweep(root: Path) -> Path:
    """Three amounts on two seeds, and a reference sweep of classical strategies.

    fill 0.3 is best on validation; fill 1.0 is best on the test split and must not be chosen.
    """
    scores = {"0.1": (0.80, 0.82, 0.90), "0.3": (0.88, 0.86, 0.80), "1.0": (0.70, 0.72, 0.99)}
    for fill, (v0, v1, test) in scores.items():
        for seed, val in ((0, v0), (1, v1)):
            _job(root / "candidates", f"{fill}-{seed}", [f"imbalance.target.fill_fraction={fill}", f"seed={seed}"],
                 [("gan+classical", seed, val, test)])
    for seed in (0, 1):
        _job(root / "reference", f"r{seed}", [f"seed={seed}"],
             [("classical", seed, 0.83, 0.95), ("oversample", seed, 0.78, 0.99)])
    return root


def test_chosen_on_validation_never_on_test(tmp_path: Path) -> None:
    (selection,) = select_settings(load_jobs(_sweep(tmp_path)))
    assert [c.settings for c in selection.candidates] == [
        ("imbalance.target.fill_fraction=0.3",),
        ("imbalance.target.fill_fraction=0.1",),
        ("imbalance.target.fill_fraction=1.0",),
    ]
    best = selection.best
    assert best.score.mean == pytest.approx(0.87) and best.score.seeds == (0, 1)
    assert best.score.std == pytest.approx(0.0141421, abs=1e-6)
    # the reference is the best classical strategy on validation (classical), not on test (oversample)
    assert best.reference is not None and best.reference.strategy == "classical"
    assert best.gain == pytest.approx(0.04)
    assert selection.candidates[-1].gain == pytest.approx(-0.12)
    table = selection_table(selection)
    assert (
        "| imbalance.target.fill_fraction=0.3 (chosen) | 0,1 | 0.8700 ± 0.0141 | classical 0.8300 ± 0.0000 | +0.0400 |"
        in table
    )
    record = selection.to_json()
    assert record["chosen_overrides"] == ["imbalance.target.fill_fraction=0.3"]
    assert record["metric"] == "val_balanced_accuracy" and len(record["candidates"]) == 3


def test_reference_from_the_group_sharing_most_settings(tmp_path: Path) -> None:
    for width, ref in (("8", 0.5), ("16", 0.6)):
        _job(tmp_path, f"c{width}", [f"classifier.width={width}", "gan.steps=10"], [("gan+classical", 0, 0.7, 0.0)])
        _job(tmp_path, f"r{width}", [f"classifier.width={width}"], [("classical", 0, ref, 0.0)])
    (selection,) = select_settings(load_jobs(tmp_path))
    refs = {c.settings: c.reference.mean for c in selection.candidates if c.reference is not None}
    assert refs == {("classifier.width=16", "gan.steps=10"): 0.6, ("classifier.width=8", "gan.steps=10"): 0.5}


def test_no_validation_scores_is_a_clear_error(tmp_path: Path) -> None:
    _job(tmp_path, "a", ["seed=0"], [("classical", 0, 0.8, 0.8)])
    with pytest.raises(GanaugError, match="no run of strategy 'gan\\+classical' has a validation score"):
        select_settings(load_jobs(tmp_path))


def test_plan_sweeps_candidates_and_reference(tmp_path: Path) -> None:
    steps = plan(["imbalance.target.fill_fraction=0.1,0.3", "gan.steps=100", "classifier.width=8,16",
                  "augment.classical.max_rotation=10"], data_root=str(tmp_path), out=tmp_path / "o", python="py")
    candidates, reference = (" ".join(s) for s in steps.sweeps)
    assert candidates == (
        f"py -m ganaug -m experiment=mnist_lt data=mnist data.root={tmp_path} imbalance.ratio=100 seed=0,1 "
        "augment.strategies=[gan+classical] imbalance.target.fill_fraction=0.1,0.3 gan.steps=100 "
        f"classifier.width=8,16 augment.classical.max_rotation=10 hydra.sweep.dir={tmp_path}/o/candidates"
    )
    assert reference == (
        f"py -m ganaug -m experiment=mnist_lt data=mnist data.root={tmp_path} imbalance.ratio=100 seed=0,1 "
        f"augment.strategies=[classical] classifier.width=8,16 augment.classical.max_rotation=10 "
        f"hydra.sweep.dir={tmp_path}/o/reference"
    )
    assert len(plan([], out=tmp_path, reference=[]).sweeps) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "classical"], "--strategy classical: tune one of gan, gan+classical"),
        (["--reference", "gan"], "--reference gan: give classical strategies among"),
        (["augment=gan"], "use --strategy NAME instead"),
        (["seed=1"], "use --seeds N instead"),
        (["--seeds", "0"], "--seeds 0: give at least 1"),
        (["--from", "/no/such/sweep"], "/no/such/sweep: folder not found"),
        (["--from", "/tmp", "gan.steps=1"], "--from reads a finished sweep; drop the overrides"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert exit_code(main, ["--dry-run", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganaug: error: ") and err.count("\n") == 1 and message in err


def test_from_a_finished_sweep_writes_the_choice(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--from", str(_sweep(tmp_path))]) == 0
    assert "Chosen: `imbalance.target.fill_fraction=0.3`" in capsys.readouterr().out
    assert "fill_fraction=0.3 (chosen)" in (tmp_path / "tuning.md").read_text()
    assert json.loads((tmp_path / "tuning.json").read_text())[0]["chosen_overrides"] == [
        "imbalance.target.fill_fraction=0.3"
    ]


def test_dry_run_runs_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--dry-run", "--out", str(tmp_path / "o"), "gan.steps=10,20"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{sys.executable} -m ganaug -m ")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_tune_end_to_end_on_digits(tmp_path: Path) -> None:
    out = tmp_path / "tune"
    proc = run_cli(["--seeds", "1", "--ratios", "10", "--out", str(out), "experiment=quick", "gan.steps=20",
                    "gan.sample_every_n_steps=10", "classifier.epochs=1", "imbalance.target.fill_fraction=0.3,1.0"],
                   tmp_path, module="ganaug.cli.tune")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list((out / "candidates").glob("*/metrics.json"))) == 2
    assert len(list((out / "reference").glob("*/metrics.json"))) == 1
    (record,) = json.loads((out / "tuning.json").read_text())
    # the GAN overrides the reference runs leave out are part of what distinguishes a candidate
    fills = {c["overrides"][-1] for c in record["candidates"]}
    assert fills == {"imbalance.target.fill_fraction=0.3", "imbalance.target.fill_fraction=1.0"}
    assert record["chosen_overrides"][-1] in fills and "gan.steps=20" in record["chosen_overrides"]
    assert all(c["reference"]["strategy"] == "classical" for c in record["candidates"])
    assert "(chosen)" in proc.stdout
