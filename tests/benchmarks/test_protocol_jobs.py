"""The protocol's job runner: the order lanes take jobs in, claims between lanes, and a tiny run that resumes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import protocol_jobs  # noqa: E402

TINY = ["experiment=quick", "classifier.epochs=1", "gan.steps=8", "logger=none"]


def test_plan_builds_each_gan_first_then_the_upper_bound_baselines_gan_strategies_and_auto():
    jobs = protocol_jobs.plan(["none", "gan", "classical", "gan+classical", "auto"], ["100", "10"], seeds=2)
    assert [j.folder for j in jobs] == [
        "r100/s0/gan", "r10/s0/gan",
        "upper/s0", "upper/s1",
        "r100/s0/none", "r100/s0/classical", "r10/s0/none", "r10/s0/classical",
        "r100/s1/none", "r100/s1/classical", "r10/s1/none", "r10/s1/classical",
        "r100/s0/gan+classical", "r10/s0/gan+classical",
        "r100/s1/gan", "r100/s1/gan+classical", "r10/s1/gan", "r10/s1/gan+classical",
        "r100/s0/auto", "r10/s0/auto", "r100/s1/auto", "r10/s1/auto",
    ]  # fmt: skip
    assert jobs[0].overrides == ("imbalance.ratio=100", "seed=0", "augment=gan")
    assert jobs[2].overrides == ("imbalance=none", "augment=none", "seed=0")
    assert [j.folder for j in protocol_jobs.plan(["none"], ["10"], 1, upper_bound=False)] == ["r10/s0/none"]


def test_a_live_lanes_claim_holds_and_a_dead_or_other_boots_claim_is_taken_over(tmp_path: Path):
    job = protocol_jobs.Job("r10/s0/none", (), 2)
    claims = protocol_jobs.Claims(tmp_path)
    path = claims.folder / "r10__s0__none.json"
    claims.folder.mkdir()  # as another lane's first claim made it
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path.write_text(json.dumps({**claims.me, "pid": other.pid}))
        assert claims.held(job) and not claims.take(job)
    finally:
        other.kill()
        other.wait()
    assert not claims.held(job) and claims.take(job)  # its process is gone: taken over
    assert json.loads(path.read_text()) == claims.me and not claims.held(job)  # our own claim does not block us
    path.write_text(json.dumps({"boot": "another boot", "pid": 1}))
    assert claims.take(job)
    claims.release(job)
    assert not path.exists()


def test_run_resumes_and_status_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--out", str(tmp_path / "out"), "--strategies", "none,gan", "--ratios", "10", "--seeds", "1",
            *TINY, f"cache_dir={tmp_path / 'cache'}"]  # fmt: skip
    assert protocol_jobs.main(["run", *args]) == 0
    out = tmp_path / "out"
    for folder in ("r10/s0/gan", "upper/s0", "r10/s0/none"):
        rows = json.loads((out / folder / "metrics.json").read_text())
        assert 0.0 <= rows[0]["balanced_accuracy"] <= 1.0 and (out / folder / "job.log").is_file()
    assert json.loads((out / "r10/s0/gan/metrics.json").read_text())[0]["strategy"] == "gan"
    assert "3 done, 0 running, 0 waiting, of 3 jobs" in capsys.readouterr().out
    stamp = (out / "r10/s0/none/metrics.json").stat().st_mtime_ns
    (out / "upper/s0/metrics.json").unlink()
    assert protocol_jobs.main(["status", *args]) == 0
    assert "2 done, 0 running, 1 waiting, of 3 jobs\nwaiting: upper/s0" in capsys.readouterr().out
    assert protocol_jobs.main(["run", *args]) == 0  # only the missing job runs again
    assert (out / "upper/s0/metrics.json").is_file()
    assert (out / "r10/s0/none/metrics.json").stat().st_mtime_ns == stamp
    assert not list((out / ".claims").glob("*"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--out", "o", "seed=3"], "the command sets seed itself; use --seeds N instead"),
        (["run", "--out", "o", "augment=gan"], "use --strategies A,B instead"),
        (["run", "--out", "o", "--strategies", "gan+teleport"], "unknown strategy 'gan+teleport'"),
        (["run", "--out", "o", "--strategies", "oversample+la"], "oversample"),
        (["run", "--out", "o", "--ratios", "none"], "this protocol makes the long tail"),
        (["run", "--out", "o", "--threads", "0"], "--threads 0: give at least 1"),
        (["run", "--out", "o", "--seeds", "0", "--strategies", "none"], "--seeds 0: give at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert protocol_jobs.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()
