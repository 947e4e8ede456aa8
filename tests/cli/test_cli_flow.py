"""The command-line contract, end to end: real Hydra runs of the whole flow in subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cli import read_metrics, run_cli

REQUIRED = {"strategy", "seed", "accuracy", "balanced_accuracy", "macro_f1", "per_class_recall", "rarest_class_recall"}
ALL = ["none", "oversample", "reweight", "classical", "la+classical", "ldam+drw+classical", "mixup+drw+classical",
       "gan", "gan+classical", "gan+la+classical", "gan+ldam+drw+classical", "gan+mixup+drw+classical", "auto"]

pytestmark = pytest.mark.slow


def _check_rows(rows: list[dict], strategies: list[str], seed: int, num_classes: int) -> None:
    assert [r["strategy"] for r in rows] == strategies
    for row in rows:
        assert REQUIRED <= set(row)
        assert row["seed"] == seed
        assert len(row["per_class_recall"]) == num_classes
        for key in ("accuracy", "balanced_accuracy", "macro_f1", "rarest_class_recall"):
            assert 0.0 <= row[key] <= 1.0


def test_main_job_runs_every_strategy_and_writes_metrics(tmp_path: Path) -> None:
    proc = run_cli(["experiment=quick", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_metrics(tmp_path / "run")
    _check_rows(rows, ALL, seed=0, num_classes=10)
    assert "| strategy |" in proc.stdout and "gan+classical" in proc.stdout
    gan_rows = [r for r in rows if r["strategy"].startswith("gan")]
    assert all(r["synthetic_size"] > 0 for r in gan_rows)
    assert all(r["synthetic_size"] == 0 for r in rows if not r["strategy"].startswith(("gan", "auto")))
    verdict = json.loads((tmp_path / "run" / "auto.json").read_text())["verdict"]
    assert proc.stdout.strip().splitlines()[-1] == f"auto: {verdict}"  # the run ends with auto's verdict
    cache = tmp_path / "cache"
    gan_dirs = [p for p in cache.glob("gan-*") if p.is_dir()]
    assert len(gan_dirs) == 1
    artifacts = json.loads((tmp_path / "run" / "artifacts.json").read_text())
    assert Path(artifacts["gan_dir"]) == gan_dirs[0]
    assert (Path(artifacts["bank_dir"]) / "images.npy").is_file() and Path(artifacts["data_dir"]).is_dir()
    assert (gan_dirs[0] / "generator" / "generator.safetensors").is_file()
    assert list((gan_dirs[0] / "samples").glob("*.png"))
    assert not list(cache.glob(".*tmp*")), "no temporary folder may be left behind"


def test_same_seed_gives_same_metrics(tmp_path: Path) -> None:
    runs = []
    for i in range(2):
        run_dir = tmp_path / f"run{i}"
        # a separate cache each time, so the GAN is trained twice too
        proc = run_cli(
            [
                "experiment=quick",
                "augment=gan+classical",
                "seed=3",
                f"hydra.run.dir={run_dir}",
                f"cache_dir={tmp_path / f'cache{i}'}",
            ],
            tmp_path,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(read_metrics(run_dir))
    _check_rows(runs[0], ["gan+classical"], seed=3, num_classes=10)
    assert runs[0] == [{**r, "fit_seconds": runs[0][i]["fit_seconds"]} for i, r in enumerate(runs[1])]


def test_multirun_trains_the_gan_once(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    proc = run_cli(
        ["-m", "experiment=quick", "augment=none,classical,gan", "seed=0,1", f"hydra.sweep.dir={sweep}"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = sorted(sweep.rglob("metrics.json"))
    assert len(metrics) == 6
    combos = {(r["strategy"], r["seed"]) for m in metrics for r in read_metrics(m.parent)}
    assert combos == {(s, k) for s in ("none", "classical", "gan") for k in (0, 1)}
    assert len([p for p in (tmp_path / "cache").glob("gan-*") if p.is_dir()]) == 1
    log = "".join(p.read_text() for p in sweep.rglob("*.log"))
    assert log.count("gan: building") == 1
    assert log.count("gan: reusing") == 1  # the second seed's gan job


def test_stages_run_alone_and_feed_each_other(tmp_path: Path) -> None:
    for module, output in (
        ("ganaug.cli.prepare", "prepare.json"),
        ("ganaug.cli.train_gan", "train_gan.json"),
        ("ganaug.cli.generate", "generate.json"),
    ):
        run_dir = tmp_path / module
        proc = run_cli(["experiment=quick", f"hydra.run.dir={run_dir}"], tmp_path, module=module)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert (run_dir / output).is_file()
    proc = run_cli(["experiment=quick", "augment=gan", f"hydra.run.dir={tmp_path / 'main'}"], tmp_path)
    assert proc.returncode == 0
    assert "gan: building" not in proc.stdout + proc.stderr + (tmp_path / "main" / "main.log").read_text()


def test_flow_runs_on_reference_mnist(tmp_path: Path, mnist_dir: Path) -> None:
    proc = run_cli(
        [
            "experiment=quick",
            "data=mnist",
            f"data.root={mnist_dir}",
            "augment=gan+classical",
            "augment.synthetic_share=0.5",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_rows(read_metrics(tmp_path / "run"), ["gan+classical"], seed=0, num_classes=10)


def test_quality_gate_and_report(tmp_path: Path) -> None:
    proc = run_cli(
        [
            "experiment=quick",
            "augment=gan",
            "gan.gate.enabled=true",
            "gan.gate.min_confidence=0.05",
            "quality.enabled=true",
            "quality.cas_steps=2",
            "quality.extractor.epochs=2",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    quality = json.loads((tmp_path / "run" / "quality.json").read_text())
    assert {"overall", "per_class", "memorisation", "cas"} <= set(quality)
    assert quality["overall"]["fid_kid"]["fid"] >= 0
    bank_dir = Path(json.loads((tmp_path / "run" / "artifacts.json").read_text())["bank_dir"])
    gate = json.loads((bank_dir / "gate.json").read_text())
    totals = gate["totals"]
    assert totals["kept"] == read_metrics(tmp_path / "run")[0]["synthetic_size"]
    assert {"dropped_low_confidence", "dropped_near_copy"} <= set(totals)
    assert list((tmp_path / "cache").glob("extractor-*"))


@pytest.mark.parametrize("holdout", ["validation", "folds"])
def test_auto_decides_and_writes_its_decision(tmp_path: Path, holdout: str) -> None:
    proc = run_cli(
        [
            "experiment=quick",
            "augment=auto",
            f"augment.auto.holdout={holdout}",
            "augment.auto.folds=2",
            "augment.auto.baselines=[oversample,classical]",
            "augment.auto.synthetic_shares=[0.25]",
            "augment.auto.min_confidences=[0.2]",
            "quality.extractor.epochs=2",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_metrics(tmp_path / "run")
    _check_rows(rows, ["auto"], seed=0, num_classes=10)
    decision = json.loads((tmp_path / "run" / "auto.json").read_text())
    assert rows[0]["auto"]["chosen"] == decision["chosen"] and decision["reference"] in ("oversample", "classical")
    assert decision["holdout"] == holdout and decision["snapshots"] == [30, 60]  # gan.snapshots [0.5, 1] of 60
    first, last = decision["rungs"]
    reference = first["reference"]
    gan = f"gan+{reference}"
    assert set(first["candidates"]) >= {"oversample", "classical", f"{gan} 100% 30 steps", f"{gan} 100% 60 steps"}
    variants = [n for n in first["candidates"] if n.endswith(("share 0.25", "gate 0.2"))]
    assert len(variants) == 2  # the best GAN candidate's share and gate variants join the first rung
    assert decision["candidate_epochs"] == [1, 2]  # rungs [0.13, 1] of experiment=quick's 2 epochs
    assert len(last["candidates"]) <= 2 and reference in first["candidates"]
    assert decision["verdict"] in proc.stdout and decision["trainings"] > 0 and decision["decision_seconds"] > 0
    used = decision["chosen_settings"]
    if used["strategy"].startswith("gan"):  # the quick GAN's bank holds every count asked for (no gate here)
        assert used["min_confidence"] is not None or rows[0]["synthetic_size"] == sum(used["synthetic_counts"].values())
    else:
        assert rows[0]["synthetic_size"] == 0


def test_the_gan_techniques_run_from_the_command_line(tmp_path: Path) -> None:
    techniques = ["gan.module.generator=style", "+gan.module.generator_kwargs.mixing=0.5", "gan.progressive=true",
                  "gan.module.discriminator=multiscale", "+gan.module.discriminator_kwargs.scales=3",
                  "gan.module.ada=true", "gan.module.diffaugment='translation,cutout'"]  # fmt: skip
    run = tmp_path / "run"
    proc = run_cli(["experiment=quick", "augment=gan+classical", *techniques, f"hydra.run.dir={run}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert read_metrics(run)[0]["synthetic_size"] > 0
    meta = json.loads(next((tmp_path / "cache").glob("gan-*/generator/generator.json")).read_text())
    assert meta["architecture"] == "style" and meta["kwargs"]["mixing"] == 0.5
    assert meta["training"]["progressive"]["levels"] == 2  # 8x8 digits: grown from 4 to 8 pixels
    assert meta["training"]["discriminator"] == "multiscale"
    assert meta["training"]["ada"] is True
    curves = next((tmp_path / "cache").glob("gan-*/logs/metrics.csv")).read_text().splitlines()
    assert "ada_p" in curves[0].split(",")  # the augmentation probability is logged with the losses
