"""`python -m ganaug.cli.benchmark`: the multirun commands it plans, its bad inputs, and a real run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.cli import exit_code, run_cli

from ganaug.cli.benchmark import main, plan
from ganaug.cli.summarize import main as summarize_main
from ganaug.cli.sweeps import hydra_value, parse_ratios
from ganaug.errors import GanaugError


def _flat(argv: list[str]) -> str:
    return " ".join(argv)


def test_mnist_protocol_plan(tmp_path: Path) -> None:
    steps = plan([], data_root=str(tmp_path), out=tmp_path / "out", python="py")
    long_tail, upper = (_flat(s) for s in steps.sweeps)
    assert long_tail == (f"py -m ganaug -m experiment=mnist_lt data=mnist data.root={tmp_path} "
                         f"imbalance.ratio=100,10 augment=all seed=0,1,2,3,4 hydra.sweep.dir={tmp_path}/out/long_tail")
    assert upper == (f"py -m ganaug -m experiment=mnist_lt data=mnist data.root={tmp_path} imbalance=none "
                     f"augment=none seed=0,1,2,3,4 hydra.sweep.dir={tmp_path}/out/upper_bound")
    assert steps.report_dir == tmp_path / "out" / "report"
    with_auto = plan([], data_root=str(tmp_path), out=tmp_path / "out", python="py", with_auto=True)
    assert " augment=all+auto " in _flat(with_auto.sweeps[0]) and " augment=none " in _flat(with_auto.sweeps[1])
    with pytest.raises(GanaugError, match="--with-auto"):
        plan(["augment=gan"], out=tmp_path, with_auto=True)


def test_plan_on_other_data_keeps_user_choices(tmp_path: Path) -> None:
    steps = plan(["data=npz", "data.path=/d/x.npz", "augment=gan+classical", "imbalance.target.fill_fraction=0.3"],
                 seeds=2, ratios=["10"], out=tmp_path, python="py")
    long_tail, upper = (_flat(s) for s in steps.sweeps)
    assert "augment=all" not in long_tail and "augment=gan+classical" in long_tail
    assert "imbalance.ratio=10 " in long_tail and "seed=0,1 " in long_tail and "experiment" not in long_tail
    assert "data=npz data.path=/d/x.npz" in upper and "fill_fraction" not in upper and "gan+classical" not in upper
    as_given = plan(["data=npz", "data.path=/d/x.npz"], ratios=None, out=tmp_path, python="py")
    assert len(as_given.sweeps) == 1 and "imbalance=none augment=all" in _flat(as_given.sweeps[0])
    assert plan([], ratios=["10"], out=tmp_path, upper_bound=False).sweeps[0][-1].endswith("long_tail")
    assert len(plan([], ratios=["10"], out=tmp_path, upper_bound=False).sweeps) == 1


def test_values_needing_quotes_and_ratios() -> None:
    assert hydra_value("/a/b-c.d") == "/a/b-c.d"
    assert hydra_value("/my data/it's") == "'/my data/it\\'s'"
    assert parse_ratios(" 100, 10 ") == ["100", "10"] and parse_ratios("None") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ratios", "0.5"], "--ratios 0.5: give comma-separated numbers of at least 1"),
        (["--ratios", "a,b"], "--ratios a,b"),
        (["--seeds", "0"], "--seeds 0: give at least 1"),
        (["seed=3"], "use --seeds N instead"),
        (["imbalance.ratio=5"], "use --ratios R1,R2 instead"),
        (["hydra.sweep.dir=x"], "use --out DIR instead"),
        (["imbalance=none"], "use --ratios none"),
        (["oops"], "is not a Hydra override"),
        (["--data-root", "/no/such/folder"], "--data-root /no/such/folder: folder not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert exit_code(main, ["--dry-run", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ganaug: error: ") and err.count("\n") == 1 and message in err


def test_dry_run_prints_every_command(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--dry-run", "--out", str(tmp_path / "o"), "--seeds", "3", "experiment=quick"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{sys.executable} -m ganaug -m ") and "seed=0,1,2 experiment=quick" in lines[0]
    assert "imbalance=none augment=none" in lines[1]
    assert lines[2] == f"python -m ganaug.cli.report {tmp_path / 'o'} --out {tmp_path / 'o' / 'report'}"
    assert not (tmp_path / "o").exists()


def test_out_with_earlier_runs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "o" / "long_tail" / "0").mkdir(parents=True)
    (tmp_path / "o" / "long_tail" / "0" / "metrics.json").write_text("[]")
    assert exit_code(main, ["--out", str(tmp_path / "o"), "--no-figures"]) == 2
    assert "already holds runs" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_end_to_end_on_digits(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    proc = run_cli(["--seeds", "2", "--ratios", "10", "--out", str(out), "experiment=quick", "gan.steps=20",
                    "gan.sample_every_n_steps=10", "classifier.epochs=1", "classifier.batch_size=256",
                    "augment.strategies=[none,classical,gan+classical]"], tmp_path, module="ganaug.cli.benchmark")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list((out / "long_tail").glob("*/metrics.json"))) == 2
    assert len(list((out / "upper_bound").glob("*/metrics.json"))) == 2
    text = (out / "report" / "report.md").read_text()
    assert "## digits, exponential imbalance, ratio 10" in text and "## digits, no imbalance added" in text
    for strategy in ("none", "classical", "gan+classical"):
        assert f"| {strategy} | 2 |" in text
    assert "| none | 2 |" in text.split("## digits, no imbalance added")[1]
    assert "Gap closed: " in text and "(digits, no imbalance added)" in text, text
    assert "no upper-bound run" not in text
    assert any(f"{verb} the strongest non-GAN strategy by more than two standard deviations" in text
               for verb in ("beats", "does not beat", "is worse than"))
    assert (out / "report" / "recall-digits-exponential-imbalance-ratio-10.png").stat().st_size > 1000
    assert (out / "report" / "samples-digits-exponential-imbalance-ratio-10.png").stat().st_size > 1000
    assert summarize_main([str(out)]) == 0
