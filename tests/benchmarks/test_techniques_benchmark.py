"""The GAN-techniques benchmark: timing, both budgets per technique, validation scores only (tiny sizes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gan_techniques  # noqa: E402

TINY = ["experiment=quick", "classifier.epochs=1", "trainer.enable_progress_bar=false", "gan.steps=8"]


def test_budgets_make_the_fewest_gan_runs():
    assert gan_techniques.gan_runs("today", 7500, 7500) == [(7500, [7500])]
    assert gan_techniques.gan_runs("style", 7500, 3400) == [(7500, [3400, 7500])]
    assert gan_techniques.gan_runs("ada", 7500, 8100) == [(8100, [7500, 8100])]
    assert gan_techniques.gan_runs("multiscale", 7500, 7500) == [(7500, [7500])]
    assert gan_techniques.gan_runs("progressive", 7500, 3400) == [(3400, [3400]), (7500, [7500])]


def test_a_budget_within_the_timing_resolution_is_todays():
    assert gan_techniques.gan_runs("progressive", 7500, 7444) == [(7500, [7500])]
    assert gan_techniques.gan_runs("style", 7500, 7600) == [(7500, [7500])]
    assert gan_techniques.gan_runs("ada", 7500, 7300) == [(7500, [7300, 7500])]


def test_reference_drops_the_gan_part():
    assert gan_techniques.reference_of("gan+la+classical") == "la+classical"
    assert gan_techniques.reference_of("gan") == "none"
    with pytest.raises(gan_techniques.GanaugError, match="not a GAN strategy"):
        gan_techniques.reference_of("classical")


def test_time_run_table_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out, cache = tmp_path / "out", f"cache_dir={tmp_path / 'cache'}"
    timing_args = ["time", "--out", str(out), "--timing-steps", "6", "--warmup", "1", "--repeats", "1"]
    assert gan_techniques.main([*timing_args, *TINY, cache]) == 0
    timing = json.loads((out / "timing.json").read_text())
    assert timing["steps"] == 8 and set(timing["techniques"]) == set(gan_techniques.TECHNIQUES)
    today = timing["techniques"]["today"]["seconds_per_step"]
    for row in timing["techniques"].values():
        assert row["ratio"] == pytest.approx(row["seconds_per_step"] / today)
        assert row["equal_time_steps"] == max(1, round(8 / row["ratio"]))
    run = ["run", "--out", str(out), "--techniques", "references,today,progressive", "--seeds", "0,1"]
    assert gan_techniques.main(run) == 0
    jobs = sorted(p.relative_to(out / "jobs").as_posix() for p in (out / "jobs").rglob("*.json"))
    progressive = timing["techniques"]["progressive"]["equal_time_steps"]
    budgets = sorted({8, progressive})
    expected = [f"references/0/classical/s{s}.json" for s in (0, 1)]
    expected += [f"progressive/{b}/gan+classical/s{s}.json" for b in budgets for s in (0, 1)]
    expected += [f"today/8/gan+classical/s{s}.json" for s in (0, 1)]
    assert jobs == sorted(expected)
    for path in (out / "jobs").rglob("*.json"):
        assert 0.0 <= json.loads(path.read_text())["val_balanced_accuracy"] <= 1.0
    printed = capsys.readouterr().out
    assert "| gan+classical | today | both | 8 |" in printed and "classical (reference, no GAN)" in printed
    assert (out / "gan_techniques.md").read_text().strip() in printed
    stamps = {p: p.stat().st_mtime_ns for p in (out / "jobs").rglob("*.json")}
    assert gan_techniques.main(run) == 0  # every job scored already: nothing is trained or rewritten
    assert {p: p.stat().st_mtime_ns for p in (out / "jobs").rglob("*.json")} == stamps
    assert "seed 0:" not in capsys.readouterr().out
    assert gan_techniques.main([*timing_args, *TINY, cache]) == 2  # new timings would orphan the scored jobs
    assert "has a timing.json already" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "out"]  # no curves in the working directory


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "--techniques", "nope"], "--techniques nope"),
        (["run", "--strategies", "classical"], "--strategies classical: not a GAN strategy"),
        (["run", "gan.steps=3"], "run takes its overrides from timing.json"),
        (["run"], "timing.json"),
        (["table"], "timing.json"),
        (["time", "--timing-steps", "2", "--warmup", "2"], "--timing-steps must exceed --warmup"),
        (["time", "gan.nope=1"], "gan.nope"),
        (["time", "gan.steps=x"], "gan.steps=x: give a whole number of at least 1"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str):
    out = tmp_path / "out"
    assert gan_techniques.main([*args, "--out", str(out)] + (["experiment=quick"] if args[0] == "time" else [])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ganaug: error:") and needle in err[0]
    assert not out.exists()


def test_a_gan_the_monitor_stops_is_recorded_and_the_run_goes_on(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    timing = {"overrides": [*TINY[:-1], f"cache_dir={tmp_path / 'cache'}"], "data_root": None, "steps": 8,
              "timing_steps": 6, "techniques": {name: {"seconds_per_step": 1.0, "ratio": 1.0, "equal_time_steps": 8}
                                                 for name in gan_techniques.TECHNIQUES}}  # fmt: skip
    timing["techniques"]["style"]["equal_time_steps"] = 4
    gan_techniques.write_json(out / "timing.json", timing)
    built: list[tuple[str, str]] = []

    class Collapsing:
        def __init__(self, cfg) -> None:
            built.append((cfg.gan.module.generator, cfg.gan.module.discriminator))

        def output(self, stage, snapshot):
            raise gan_techniques.GanStopped("GAN samples of class '3' collapsed to near-copies at generator step 4")

    monkeypatch.setattr(gan_techniques, "Flow", Collapsing)
    gan_techniques.run(out, ["style", "multiscale"], ["gan+classical"], [0])
    assert [b[0] for b in built][:1] == ["style"] and built[1][1] == "multiscale"  # the run went on
    for budget in (4, 8):
        assert "collapsed" in json.loads((out / "jobs" / "style" / str(budget) / "stopped.json").read_text())["stopped"]
    gan_techniques.run(out, ["style"], ["gan+classical"], [0])
    assert len(built) == 2  # recorded: not retried
    text = gan_techniques.table(out)
    assert "| gan+classical | style | equal wall-clock | 4 | GAN stopped: GAN samples of class '3' collapsed" in text
    assert "| gan+classical | style | equal steps | 8 | GAN stopped:" in text
