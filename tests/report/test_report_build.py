"""The report of a synthetic sweep with known numbers: tables, verdicts, gap closed, figures, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers.cli import exit_code
from helpers.sweeps import row, write_artifacts, write_job, write_sweep
from PIL import Image

from ganaug.cli.report import main
from ganaug.cli.summarize import main as summarize_main
from ganaug.errors import GanaugError
from ganaug.report.build import build_report
from ganaug.report.runs import group_jobs, load_jobs


def _valid_png(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def test_groups_by_dataset_and_imbalance(tmp_path: Path) -> None:
    groups = group_jobs(load_jobs(write_sweep(tmp_path)))
    labels = [c.label for c in groups]
    assert labels == ["digits, exponential imbalance, ratio 100", "digits, exponential imbalance, ratio 10",
                      "digits, no imbalance added"]
    assert [len(j) for j in groups.values()] == [5, 5, 5]


def test_report_tables_verdicts_and_gap_closed(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    text = build_report(sweep, with_figures=False).read_text()
    ratio100, ratio10 = text.split("## digits, exponential imbalance, ratio 100")[1].split(
        "## digits, exponential imbalance, ratio 10")
    assert "| classical | 5 | 0.9200 ± 0.0158 |" in ratio100
    assert "| gan+classical | 5 | 0.9600 ± 0.0071 |" in ratio100
    assert "difference +0.0400, two standard deviations 0.0316" in ratio100
    assert "beats the strongest non-GAN strategy by more than two standard deviations" in ratio100
    assert "Gap closed: **66.7%** of the 0.0600" in ratio100
    assert "0.9800 ± 0.0000 (digits, no imbalance added)" in ratio100
    assert "does not beat the strongest non-GAN strategy by more than two standard deviations" in ratio10
    assert "beats the best" not in ratio10.replace("does not beat the best", "")
    assert "Gap closed: **16.7%**" in ratio10
    verdict = text.split("## Verdict")[1].split("## digits")[0]
    assert verdict.count("\n- **") == 2
    # rarest classes (counts unknown: the highest ids of a long tail), per strategy
    assert "| strategy | class 3 | class 2 | class 1 |" in ratio100
    assert "| none | 0.8000 ± 0.0000 | 0.8000 ± 0.0000 | 0.8000 ± 0.0000 |" in ratio100
    assert "no artifacts.json in the job folders" in ratio100
    assert not list((sweep / "report").glob("*.png"))


def test_report_without_upper_bound_or_candidate_says_so(tmp_path: Path) -> None:
    write_job(tmp_path / "a", [row("classical", 0, 0.9), row("gan+classical", 0, 0.95)])
    write_job(tmp_path / "b", [row("none", 1, 0.9)], ratio=10.0)
    text = build_report(tmp_path, tmp_path / "out", with_figures=False).read_text()
    assert "Significance not tested" in text
    assert "there is no upper-bound run" in text
    assert "no comparison: no GAN strategy, or no strategy without generated data" in text


def test_unmeasured_metrics_show_as_na(tmp_path: Path) -> None:
    rows = [row("none", 0, 0.5, [0.5, None, 0.5, None], rarest_recall=None),
            row("gan+classical", 0, 0.6, [0.5, None, 0.7, None], rarest_recall=None)]
    write_job(tmp_path / "0", rows)
    text = build_report(tmp_path, with_figures=False).read_text()
    assert "| none | 1 | 0.5000 ± 0.0000 | 0.5000 ± 0.0000 | 0.5000 ± 0.0000 | n/a |" in text
    assert "| gan+classical | n/a | 0.7000 ± 0.0000 | n/a |" in text


def test_figures_quality_and_artifacts(tmp_path: Path) -> None:
    quality = {"overall": {"fid_kid": {"fid": 3.25}, "prdc": {"coverage": 0.5}}, "per_class": {"two": {"fid": 9.0}}}
    sweep = write_sweep(tmp_path / "sweep", artifacts=write_artifacts(tmp_path / "cache"), quality=quality)
    assert main([str(sweep), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    text = (out / "report.md").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(
        f"{kind}-digits-{slug}.png" for kind, slug in
        [("recall", "exponential-imbalance-ratio-100"), ("recall", "exponential-imbalance-ratio-10"),
         ("recall", "no-imbalance-added"), ("samples", "exponential-imbalance-ratio-100"),
         ("samples", "exponential-imbalance-ratio-10"), ("curves", "exponential-imbalance-ratio-100"),
         ("curves", "exponential-imbalance-ratio-10")]
    )
    for name in pngs:
        width, height = _valid_png(out / name)
        assert width > 100 and height > 50
        assert f"]({name})" in text
    assert "| prdc.coverage | 0.5000 ± 0.0000 | 1 |" in text and "| fid_kid.fid | 3.2500 ± 0.0000 | 1 |" in text
    assert "9.0000" not in text
    # counts come from the prepared data: class three (2 images) is the rarest
    assert "| strategy | class three (n=2) | class two (n=5) | class one (n=8) |" in text
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary file may be left"


def test_sample_grid_falls_back_to_final_png_and_notes_missing_log(tmp_path: Path) -> None:
    artifacts = write_artifacts(tmp_path / "cache", with_bank=False, with_log=False)
    write_job(tmp_path / "sweep" / "0", [row("classical", 0, 0.9), row("gan+classical", 0, 0.9)], artifacts=artifacts)
    text = build_report(tmp_path / "sweep").read_text()
    assert "samples-" in text and "curves-" not in text
    assert "no CSV training log" in text


def test_missing_matplotlib_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(GanaugError, match=r"pip install ganaug\[plot\]"):
        build_report(sweep)
    assert exit_code(main, [str(sweep)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install ganaug[plot]" in err
    assert not (sweep / "report" / "report.md").exists()
    assert main([str(sweep), "--no-figures"]) == 0
    assert (sweep / "report" / "report.md").is_file()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: None, "folder not found"),
        (lambda d: d.mkdir(), "no metrics.json below it"),
        (lambda d: (d / "0").mkdir(parents=True) or (d / "0" / "metrics.json").write_text("{oops"), "not valid JSON"),
        (lambda d: (d / "0").mkdir(parents=True) or (d / "0" / "metrics.json").write_text('{"a": 1}'),
         "not a list of metrics rows"),
    ],
)
def test_bad_folder_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture, make, message: str) -> None:
    sweep = tmp_path / "sweep"
    make(sweep)
    with pytest.raises(GanaugError, match=message):
        build_report(sweep)
    assert exit_code(main, [str(sweep)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganaug: error: ") and err.count("\n") == 1 and message in err


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    (tmp_path / "file").write_text("x")
    with pytest.raises(GanaugError, match="is not a folder"):
        build_report(sweep, tmp_path / "file", with_figures=False)


def test_corrupt_hydra_config_is_named(tmp_path: Path) -> None:
    job = write_job(tmp_path / "0", [row("none", 0, 0.5)])
    (job / ".hydra" / "config.yaml").write_text("a: [unclosed\n")
    with pytest.raises(GanaugError, match=r"config.yaml: not readable YAML"):
        build_report(tmp_path, with_figures=False)
    assert json.loads((job / "metrics.json").read_text())[0]["strategy"] == "none"


def test_summarize_prints_a_table_per_configuration(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert summarize_main([str(write_sweep(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.count("| strategy | runs |") == 3
    assert "digits, exponential imbalance, ratio 100\n" in out and "| gan+classical | 5 |" in out


def test_gap_is_undefined_when_the_upper_bound_is_no_better(tmp_path: Path) -> None:
    for seed in range(2):
        write_job(tmp_path / f"lt{seed}", [row("classical", seed, 0.9), row("gan+classical", seed, 0.95)])
        write_job(tmp_path / f"ub{seed}", [row("none", seed, 0.85)], profile="none")
    text = build_report(tmp_path, with_figures=False).read_text()
    assert "Gap closed: undefined; the upper bound 0.8500 ± 0.0000 (digits, no imbalance added) does not exceed" in text


def test_corrupt_cached_files_become_notes(tmp_path: Path) -> None:
    artifacts = write_artifacts(tmp_path / "cache")
    (Path(artifacts["bank_dir"]) / "bank.json").write_text("{broken")
    write_job(tmp_path / "sweep" / "0", [row("classical", 0, 0.9)], artifacts=artifacts)
    text = build_report(tmp_path / "sweep").read_text()
    assert "no sample grid:" in text and "bank.json: not valid JSON" in text
    assert "curves-" in text


def test_auto_rows_get_their_own_verdict(tmp_path: Path) -> None:
    for seed in range(3):
        rows = [row("classical", seed, [0.90, 0.92, 0.94][seed]), row("gan+classical", seed, 0.93),
                row("auto", seed, [0.91, 0.92, 0.93][seed])]
        write_job(tmp_path / "sweep" / str(seed), rows, overrides=[f"seed={seed}"])
    text = build_report(tmp_path / "sweep", with_figures=False).read_text()
    assert "### auto against the strongest non-GAN strategy" in text
    expected = (
        "`auto` 0.9200 ± 0.0100 vs `classical` 0.9200 ± 0.0200 (the strongest non-GAN strategy): difference +0.0000"
    )
    assert expected in text
    assert "is not below the strongest non-GAN strategy by more than one standard deviation" in text
    assert "What `auto` decided" not in text  # no auto.json in these job folders


def test_auto_decisions_are_tabled_per_seed(tmp_path: Path) -> None:
    for seed in range(2):
        rows = [row("classical", seed, 0.92), row("gan+classical", seed, 0.96), row("auto", seed, 0.95 + seed / 100)]
        folder = write_job(tmp_path / "sweep" / str(seed), rows, overrides=[f"seed={seed}"])
        record = {
            "reference": "classical",
            "chosen": "gan+classical 30% 5000 steps" if seed else "classical",
            "chosen_snapshot": 5000 if seed else None,
            "per_class": {"class2": {"class_id": 2, "synthetic_count": 12 * seed}, "class3": {"class_id": 3,
                                                                                          "synthetic_count": 30}},
            "decision_seconds": 120.4,
            "decision_cost_in_final_trainings": 5.05,
        }
        (folder / "auto.json").write_text(json.dumps(record))
    text = build_report(tmp_path / "sweep", with_figures=False).read_text()
    assert "| 0 | classical | classical | n/a | class2: 0, class3: 30 | 120 | 5.0 |" in text
    assert "| 1 | classical | gan+classical 30% 5000 steps | 5000 steps | class2: 12, class3: 30 | 120 | 5.0 |" in text
    assert "`gan+classical` beats the strongest non-GAN strategy here, and `auto` is above it too." in text


@pytest.mark.parametrize(("gans", "noted"), [
    (["gan-a", "gan-a", "gan-a"], True),  # one GAN behind every seed: its training noise is not measured
    (["gan-a", "gan-b", "gan-a"], False),  # a GAN per run: the spread covers them
    (["gan-a"], False),  # one seed: no spread to qualify
])
def test_one_gan_behind_every_seed_is_noted(tmp_path: Path, gans: list[str], noted: bool) -> None:
    for seed, gan in enumerate(gans):
        rows = [row("classical", seed, 0.90 + seed / 100), row("gan+classical", seed, 0.93)]
        write_job(tmp_path / "sweep" / str(seed), rows, overrides=[f"seed={seed}"],
                  artifacts={"gan_dir": str(tmp_path / "cache" / gan)})
    text = build_report(tmp_path / "sweep", with_figures=False).read_text()
    note = "every run of the GAN strategies used one trained GAN (gan-a): their standard deviation is over the"
    assert (note in text) is noted
