"""The flow's cache: keys, entries built once (also by parallel jobs), failed builds removed, interrupted
resumable builds kept for the next run to resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganaug.errors import GanaugError
from ganaug.flow.cache import cache_key, cached_stage


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


_JOB = """
import sys, time
from pathlib import Path
from ganaug.flow.cache import cached_stage
root = Path(sys.argv[1])
def build(folder):
    with (root / "builds.txt").open("a") as file:
        file.write("built\\n")
    time.sleep(1.5)
    folder.mkdir()
    (folder / "out.txt").write_text("done")
print(cached_stage(root, "gan", {"x": 1}, build))
"""


def test_parallel_jobs_build_an_entry_once(tmp_path: Path) -> None:
    jobs = [subprocess.Popen([sys.executable, "-c", _JOB, str(tmp_path)], stdout=subprocess.PIPE, text=True)
            for _ in range(3)]  # fmt: skip
    paths = {job.communicate(timeout=120)[0].strip() for job in jobs}
    assert all(job.returncode == 0 for job in jobs)
    assert len(paths) == 1 and (Path(paths.pop()) / "out.txt").read_text() == "done"
    assert (tmp_path / "builds.txt").read_text() == "built\n"


def _failing(exc: BaseException):
    def build(folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        (folder / "partial.txt").write_text("half")
        raise exc

    return build


@pytest.mark.parametrize("resumable", [False, True])
def test_a_failed_build_leaves_nothing(tmp_path: Path, resumable: bool) -> None:
    with pytest.raises(GanaugError):
        cached_stage(tmp_path, "gan", {"x": 1}, _failing(GanaugError("bad setting")), resumable=resumable)
    with pytest.raises(RuntimeError):
        cached_stage(tmp_path, "bank", {"x": 1}, _failing(RuntimeError("lost device")))
    assert not [p for p in tmp_path.iterdir() if p.suffix != ".lock"]


def test_an_interrupted_resumable_build_is_resumed(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        cached_stage(tmp_path, "gan", {"x": 1}, _failing(KeyboardInterrupt()), resumable=True)
    seen = []

    def resume(folder: Path) -> None:
        seen.append((folder / "partial.txt").read_text())

    path = cached_stage(tmp_path, "gan", {"x": 1}, resume, resumable=True)
    assert seen == ["half"] and (path / "partial.txt").is_file()
    with pytest.raises(KeyboardInterrupt):
        cached_stage(tmp_path, "bank", {"x": 1}, _failing(KeyboardInterrupt()))
    fresh = cached_stage(tmp_path, "bank", {"x": 1}, lambda folder: folder.mkdir())
    assert not (fresh / "partial.txt").exists()


def test_other_ranks_wait_for_rank_zero_and_resume_from_its_state(tmp_path, monkeypatch) -> None:
    """A rank other than zero builds a distributed stage privately (from a copy of what rank zero resumes from)
    and uses rank zero's entry; a stage rank zero alone builds must be there when it looks."""
    from ganaug.flow.cache import entry_path

    monkeypatch.setenv("RANK", "1")
    payload = {"x": 1}
    path = entry_path(tmp_path, "gan", payload)
    building = path.with_name(f".{path.name}.building")
    (building / "checkpoints").mkdir(parents=True)
    (building / "checkpoints" / "last.ckpt").write_text("step 500")
    seen = []

    def build(folder):
        seen.append((folder.name, (folder / "checkpoints" / "last.ckpt").read_text()))
        path.mkdir()  # stands for rank zero finishing its build meanwhile

    assert cached_stage(tmp_path, "gan", payload, build, resumable=True, distributed=True) == path
    assert seen == [(seen[0][0], "step 500")] and seen[0][0].endswith(".partial")
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.partial"))
    with pytest.raises(GanaugError, match="missing after rank zero's build"):
        cached_stage(tmp_path, "bank", payload, lambda folder: None)
