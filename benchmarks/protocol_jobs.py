"""The MNIST-LT protocol (docs/benchmark.md) as one `python -m ganaug` process per job: resumable, and shared
by as many lanes as there are cores to give.

    python benchmarks/protocol_jobs.py run    --data-root DIR --out OUT [--ratios 100,10] [--seeds 5] [overrides]
    python benchmarks/protocol_jobs.py status --data-root DIR --out OUT [--ratios 100,10] [--seeds 5] [overrides]
    python -m ganaug.cli.report OUT --out OUT/report

A job is one strategy (--strategies; default: those of `augment=all+auto`, auto included) at one imbalance
ratio and one classifier seed, run as `python -m ganaug experiment=mnist_lt data=mnist data.root=DIR
imbalance.ratio=R seed=S augment=X` into OUT/rR/sS/X, or the balanced upper bound (`imbalance=none
augment=none`) into OUT/upper/sS. A job is done when its folder holds metrics.json, and `run` skips done jobs,
so a stopped benchmark resumes where it stopped (a killed GAN resumes from its checkpoint) and job folders
copied from another machine count as done. Several `run`s on one OUT share the work: each claims a job before
running it (a claim left by a process that is gone is taken over), so start one `run` per core with `--threads
1`, as this machine's figures were measured. Jobs go in an order that keeps every lane busy: first one GAN job
per ratio (each trains its ratio's GAN; every other job of that ratio reuses it through the cache), then the
upper bound, the strategies without a GAN, those with one, and auto last. A failed job is reported and left
for the next `run`. Every job writes its output to job.log in its folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ganaug.auto.search import AUTO
from ganaug.classify.parts import is_synthetic, parse_strategy
from ganaug.cli.runner import print_error
from ganaug.cli.sweeps import (
    check_overrides,
    data_root_overrides,
    hydra_value,
    override_key,
    parse_ratios,
    seed_range,
)
from ganaug.errors import GanaugError

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_length import compose_config  # noqa: E402

# Overrides the command sets itself from its options, and the option to use instead.
_OWNED = {"seed": "--seeds N", "imbalance.ratio": "--ratios R1,R2", "augment": "--strategies A,B",
          "augment.strategies": "--strategies A,B", "hydra.run.dir": "--out DIR"}  # fmt: skip
UPPER = "upper"


@dataclass(frozen=True)
class Job:
    """One run of the main job: where it goes (relative to OUT), its overrides, and its place in the order."""

    folder: str
    overrides: tuple[str, ...]
    phase: int

    def done(self, out: Path) -> bool:
        """Whether the job's metrics are written."""
        return (out / self.folder / "metrics.json").is_file()


def _phase(strategy: str, seed: int, first_gan: str) -> int:
    """0: the GAN-building job of a ratio; 2: without a GAN; 3: with one; 4: auto (1 is the upper bound)."""
    if strategy == AUTO:
        return 4
    if not is_synthetic(strategy):
        return 2
    return 0 if (strategy, seed) == (first_gan, 0) else 3


def plan(strategies: Sequence[str], ratios: Sequence[str], seeds: int, upper_bound: bool = True) -> list[Job]:
    """Every job of the protocol, in the order lanes take them (module docstring)."""
    seed_ids = seed_range(seeds)
    gan = [s for s in strategies if s != AUTO and is_synthetic(s)]
    jobs = [
        Job(f"r{ratio}/s{seed}/{strategy}", (f"imbalance.ratio={ratio}", f"seed={seed}", f"augment={strategy}"),
            _phase(strategy, seed, gan[0] if gan else ""))
        for seed in seed_ids for ratio in ratios for strategy in strategies
    ]  # fmt: skip
    if upper_bound:
        jobs += [Job(f"{UPPER}/s{s}", ("imbalance=none", "augment=none", f"seed={s}"), 1) for s in seed_ids]
    return sorted(jobs, key=lambda j: j.phase)  # stable: seeds, then ratios, then strategies within a phase


def parse_strategies(text: str) -> list[str]:
    """'none,gan+classical,auto' -> the strategies, each a known one."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise GanaugError(f"--strategies {text!r}: give comma-separated strategies (e.g. classical,gan+classical)")
    for name in names:
        if name != AUTO:
            parse_strategy(name)
    return names


def _boot_id() -> str:
    path = Path("/proc/sys/kernel/random/boot_id")
    return path.read_text().strip() if path.exists() else "unknown"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Claims:
    """Which lane runs which job: a file per job under OUT/.claims holding the claiming process; a claim
    whose process is gone (or was on another boot) is stale and may be taken over."""

    def __init__(self, out: Path) -> None:
        self.folder = out / ".claims"
        self.me = {"boot": _boot_id(), "pid": os.getpid()}

    def _path(self, job: Job) -> Path:
        return self.folder / (job.folder.replace("/", "__") + ".json")

    def held(self, job: Job) -> bool:
        """Whether a live process other than this one claims `job`."""
        try:
            owner = json.loads(self._path(job).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return False
        if owner == self.me:
            return False
        return owner.get("boot") == self.me["boot"] and _alive(int(owner.get("pid", -1)))

    def take(self, job: Job) -> bool:
        """Claim `job` unless a live process holds it; True when this process now holds it."""
        if self.held(job):
            return False
        path = self._path(job)
        self.folder.mkdir(parents=True, exist_ok=True)
        mine = self.folder / f".{path.name}.{os.getpid()}"
        mine.write_text(json.dumps(self.me))
        try:
            os.link(mine, path)  # atomic: fails if someone else's claim is there
        except FileExistsError:
            if self.held(job):
                return False
            os.replace(mine, path)  # a stale claim: take it over
        finally:
            mine.unlink(missing_ok=True)
        return json.loads(path.read_text()) == self.me

    def release(self, job: Job) -> None:
        """Drop this process's claim on `job`."""
        self._path(job).unlink(missing_ok=True)


def job_command(job: Job, base: Sequence[str], out: Path, python: str = sys.executable) -> list[str]:
    """The command line of one job."""
    run_dir = hydra_value(str((out / job.folder).resolve()))
    return [python, "-m", "ganaug", *base, *job.overrides, f"hydra.run.dir={run_dir}"]


def run(jobs: Sequence[Job], base: Sequence[str], out: Path, threads: int) -> list[str]:
    """Run every job that is neither done nor claimed by a live lane, in order; the failed jobs' folders."""
    claims = Claims(out)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    failed = []
    for job in jobs:
        if job.done(out) or not claims.take(job):
            continue
        try:
            folder = out / job.folder
            folder.mkdir(parents=True, exist_ok=True)
            print(f"protocol_jobs: {job.folder}", flush=True)
            with open(folder / "job.log", "w") as log:
                code = subprocess.run(job_command(job, base, out), stdout=log, stderr=subprocess.STDOUT, env=env,
                                      check=False).returncode  # fmt: skip
            if code != 0:
                failed.append(job.folder)
                print(f"protocol_jobs: {job.folder} failed with exit code {code}; see {folder / 'job.log'}", flush=True)
        finally:
            claims.release(job)
    return failed


def status(jobs: Sequence[Job], out: Path) -> str:
    """Counts of done, running (claimed by a live lane) and waiting jobs, and the waiting ones' folders."""
    claims = Claims(out)
    done = {j for j in jobs if j.done(out)}
    running = [j for j in jobs if j not in done and claims.held(j)]
    waiting = [j.folder for j in jobs if j not in done and j not in running]
    lines = [f"{len(done)} done, {len(running)} running, {len(waiting)} waiting, of {len(jobs)} jobs"]
    lines += [f"running: {j.folder}" for j in running] + [f"waiting: {w}" for w in waiting]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`run` or `status`; bad input is one line and exit code 2, a failed job exit code 1."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run", "status"])
    parser.add_argument("--out", required=True, help="folder of the job folders")
    parser.add_argument("--data-root", help="MNIST IDX folder: experiment=mnist_lt data=mnist data.root=DIR")
    parser.add_argument("--ratios", default="100,10", help="imbalance ratios (default 100,10)")
    parser.add_argument("--seeds", type=int, default=5, help="classifier seeds 0..N-1 (default 5)")
    parser.add_argument("--strategies", help="comma-separated strategies (default: augment=all+auto's)")
    parser.add_argument("--threads", type=int, default=1, help="threads of each job (default 1)")
    parser.add_argument("--no-upper-bound", action="store_true", help="skip the balanced upper-bound jobs")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every job")
    args = parser.parse_intermixed_args(argv)
    out = Path(args.out)
    try:
        check_overrides(args.overrides, _OWNED)
        if args.threads < 1:
            raise GanaugError(f"--threads {args.threads}: give at least 1")
        ratios = parse_ratios(args.ratios)
        if ratios is None:
            raise GanaugError("--ratios none: this protocol makes the long tail; give ratios such as 100,10")
        strategies = parse_strategies(args.strategies) if args.strategies else list(
            compose_config(["augment=all+auto", *args.overrides], args.data_root, None).augment.strategies
        )
        jobs = plan(strategies, ratios, args.seeds, upper_bound=not args.no_upper_bound)
        keys = {override_key(o) for o in args.overrides}
        base = [*data_root_overrides(args.data_root, keys), "trainer.enable_progress_bar=false", *args.overrides]
        if args.command == "status":
            print(status(jobs, out))
            return 0
        failed = run(jobs, base, out, args.threads)
    except GanaugError as exc:
        print_error(str(exc))
        return 2
    print(status(jobs, out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
