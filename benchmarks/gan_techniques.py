"""What each GAN technique does to the downstream classifier, against today's recipe, on validation only.

    python benchmarks/gan_techniques.py time  --data-root DIR --out OUT     # seconds per GAN step, alone
    python benchmarks/gan_techniques.py run   --data-root DIR --out OUT [--techniques style,ada]
    python benchmarks/gan_techniques.py table --out OUT

A technique (TECHNIQUES) is the configured GAN, today's recipe, with its overrides. `time` trains each for
--timing-steps updates, one after another (--repeats rounds, the fastest kept), and writes timing.json with
the overrides: seconds per generator update, and the updates that cost what today's `gan.steps` cost. `run`
trains each technique's GAN through the run's cache (today's is the main job's own GAN, shared with a
benchmark of the same config) to both budgets, equal steps and equal wall-clock: one run with a snapshot at
the shorter budget, which is the first part of the longer run (constant learning rates), but two runs for
progressive growing, whose schedule spans the run. At each budget it scores --strategies on the validation
split for each --seeds (the classifier's seed; the GAN's is gan.seed), beside each strategy without its
`gan` part (the reference). A GAN run that the monitor stops (diverged, collapsed) is recorded as
OUT/jobs/TECHNIQUE/STEPS/stopped.json, shown in the table and not retried (delete it to retry), and the
run goes on to the next technique. A scored job is kept in OUT/jobs and skipped the next time, so a
stopped run resumes (a killed GAN run resumes from its checkpoint), and several `run`s with different
--techniques share the cores. An equal wall-clock budget within SAME_BUDGET of today's length is today's
length (one budget, "both"). `table` prints the tables and writes gan_techniques.md. Test metrics are never
read.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from ganaug.cli.runner import print_error
from ganaug.cli.sweeps import override_key
from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path, read_json, write_json
from ganaug.flow.context import Flow
from ganaug.flow.stages import BankStage, GanStage
from ganaug.gan.monitor import GanStopped
from ganaug.synth.bank import SyntheticBank

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_length import compose_config, parse_counts, reference_of, val_score  # noqa: E402
from throughput import StepTimer  # noqa: E402

TODAY = "today"
TECHNIQUES: dict[str, list[str]] = {
    TODAY: [],
    "style": ["gan.module.generator=style"],
    "progressive": ["gan.module.generator=style", "gan.progressive=true"],
    "multiscale": ["gan.module.discriminator=multiscale"],
    "ada": ["gan.module.ada=true"],
}
REFERENCES = "references"
SAME_BUDGET = 0.02  # budgets this close to today's length are one: timing rounds differ by more than this


def parse_names(text: str, known: Sequence[str], what: str) -> list[str]:
    """'style,ada' -> ['style', 'ada'], each one of `known`."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise GanaugError(f"{what} {text}: pick from {', '.join(known)}")
    return names


def seconds_per_step(cfg: DictConfig, warmup: int) -> float:
    """Wall-clock seconds per generator update of the GAN `cfg` describes, trained on the prepared data."""
    timer = StepTimer(warmup)
    with tempfile.TemporaryDirectory() as work:
        Flow(cfg).stage(GanStage).train(Path(work), [timer])
    return timer.seconds / (cfg.gan.steps - warmup)


def split_length(overrides: list[str], data_root: str | None) -> tuple[list[str], int]:
    """The overrides without `gan.steps`, and the length of today's run: that override, else the config's."""
    given = [o.split("=", 1)[1] for o in overrides if override_key(o) == "gan.steps"]
    rest = [o for o in overrides if override_key(o) != "gan.steps"]
    if not given:
        return rest, compose_config(rest, data_root, None).gan.steps
    if not given[-1].isdigit() or int(given[-1]) < 1:
        raise GanaugError(f"gan.steps={given[-1]}: give a whole number of at least 1")
    return rest, compose_config(rest, data_root, int(given[-1])).gan.steps


def measure(overrides: list[str], data_root: str | None, steps: int, warmup: int, repeats: int) -> dict:
    """timing.json's content: each technique's fastest seconds per update over `repeats` interleaved rounds,
    its ratio to today's, and the updates that cost what today's run costs (a `gan.steps` override sets
    today's length)."""
    overrides, length = split_length(overrides, data_root)
    rounds: dict[str, list[float]] = {name: [] for name in TECHNIQUES}
    for _ in range(repeats):
        for name, extra in TECHNIQUES.items():
            cfg = compose_config([*overrides, *extra, "gan.snapshots=[1.0]"], data_root, steps)
            rounds[name].append(seconds_per_step(cfg, warmup))
            print(f"  {name}: {rounds[name][-1]:.4f} s per update", flush=True)
    today = min(rounds[TODAY])
    rows = {
        name: {
            "seconds_per_step": min(times),
            "rounds": times,
            "ratio": min(times) / today,
            "equal_time_steps": max(1, round(length * today / min(times))),
        }
        for name, times in rounds.items()
    }
    return {"overrides": overrides, "data_root": data_root, "steps": length, "timing_steps": steps, "techniques": rows}


def equal_time_budget(length: int, equal_time: int) -> int:
    """The equal wall-clock budget trained: `equal_time`, or today's `length` when the two are within
    SAME_BUDGET of each other (a difference the timing cannot resolve is not worth a second GAN run)."""
    return length if abs(equal_time - length) <= SAME_BUDGET * length else equal_time


def gan_runs(name: str, length: int, equal_time: int) -> list[tuple[int, list[int]]]:
    """The GAN runs a technique needs, as (updates, snapshot steps): one run with the shorter budget as a
    snapshot, or (progressive growing, whose schedule spans the run) one run per budget."""
    budgets = sorted({length, equal_time_budget(length, equal_time)})
    if name == TODAY or len(budgets) == 1:
        return [(length, [length])]
    if "gan.progressive=true" in TECHNIQUES[name]:
        return [(b, [b]) for b in budgets]
    return [(budgets[-1], budgets)]


def run_config(timing: dict, name: str, steps: int, snapshots: list[int]) -> DictConfig:
    """The config of technique `name`'s GAN run of `steps` updates with snapshots at `snapshots`."""
    extra = list(TECHNIQUES[name])
    if name != TODAY:
        extra.append(f"gan.snapshots=[{','.join(repr(s / steps) for s in snapshots)}]")
    return compose_config([*timing["overrides"], *extra], timing["data_root"], steps)


def stopped_path(out: Path, technique: str, budget: int) -> Path:
    """Where a technique's GAN run that the monitor stopped (diverged, collapsed) is recorded, per budget."""
    return out / "jobs" / technique / str(budget) / "stopped.json"


def job(
    out: Path, flow: Flow, technique: str, steps: int, strategy: str, seed: int, bank: SyntheticBank | None
) -> None:
    """Score `strategy` with `seed` (and `bank`, from `technique`'s GAN at `steps` updates) on the validation
    split into OUT/jobs, unless it is there already."""
    path = out / "jobs" / technique / str(steps) / strategy / f"s{seed}.json"
    if path.is_file():
        return
    started = time.perf_counter()
    value = val_score(flow, strategy, seed, bank)
    write_json(path, {"technique": technique, "steps": steps, "strategy": strategy, "seed": seed,
                      "val_balanced_accuracy": value, "seconds": round(time.perf_counter() - started, 1)})  # fmt: skip
    print(f"  {technique} {steps} {strategy} seed {seed}: {value:.4f}", flush=True)


def run(out: Path, techniques: list[str], strategies: list[str], seeds: list[int]) -> None:
    """Train (or read from the cache) each technique's GANs and score every job not scored yet."""
    timing = read_json(out / "timing.json")
    length = timing["steps"]
    for name in techniques:
        if name == REFERENCES:
            flow = Flow(run_config(timing, TODAY, length, [length]))
            for strategy, seed in itertools.product(strategies, seeds):
                job(out, flow, REFERENCES, 0, reference_of(strategy), seed, None)
            continue
        for steps, snapshots in gan_runs(name, length, timing["techniques"][name]["equal_time_steps"]):
            if any(stopped_path(out, name, budget).is_file() for budget in snapshots):
                continue
            flow = Flow(run_config(timing, name, steps, snapshots))
            try:
                banks = [(budget, flow.output(BankStage, snapshot=budget)) for budget in snapshots]
            except GanStopped as exc:
                for budget in snapshots:
                    record = {"technique": name, "steps": steps, "strategies": strategies, "stopped": str(exc)}
                    write_json(stopped_path(out, name, budget), record)
                print(f"  {name} {steps}: the monitor stopped the GAN: {exc}", flush=True)
                continue
            for budget, bank in banks:
                for strategy, seed in itertools.product(strategies, seeds):
                    job(out, flow, name, budget, strategy, seed, bank)


def summary(values: list[float]) -> str:
    """'mean ± std' (std 0 for one value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.4f} ± {std:.4f}"


def table(out: Path) -> str:
    """The Markdown tables of the jobs scored so far: seconds per update, then validation balanced accuracy
    at equal steps and equal wall-clock with the paired gain over today's recipe (same strategy and seeds)."""
    timing = read_json(out / "timing.json")
    scores: dict[tuple[str, int, str], dict[int, float]] = {}
    for path in sorted((out / "jobs").glob("*/*/*/s*.json")):
        row = read_json(path)
        scores.setdefault((row["technique"], row["steps"], row["strategy"]), {})[row["seed"]] = row[
            "val_balanced_accuracy"
        ]
    length = timing["steps"]
    lines = [
        f"Seconds per generator update ({timing['timing_steps']} updates, fastest of its rounds) and the updates "
        f"that cost today's {length}:",
        "",
        "| technique | s per update | × today | equal wall-clock updates |",
        "| --- | --- | --- | --- |",
        *(
            f"| {name} | {row['seconds_per_step']:.4f} | {row['ratio']:.2f} | {row['equal_time_steps']} |"
            for name, row in timing["techniques"].items()
        ),
        "",
        "Validation balanced accuracy (mean ± std over seeds; gain: paired with today's recipe, same seeds):",
        "",
        "| strategy | technique | budget | updates | validation | gain over today |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    stopped = {path: read_json(path) for path in (out / "jobs").glob("*/*/stopped.json")}
    strategies = sorted(
        {s for (t, _, s) in scores if t != REFERENCES} | {s for r in stopped.values() for s in r["strategies"]}
    )
    for strategy in strategies:
        today = scores.get((TODAY, length, strategy), {})
        for name, row in timing["techniques"].items():
            equal = equal_time_budget(length, row["equal_time_steps"])
            budgets = [("equal steps", length), ("equal wall-clock", equal)] if equal != length else [("both", length)]
            for budget, steps in budgets:
                got = scores.get((name, steps, strategy))
                record = stopped.get(stopped_path(out, name, steps))
                if not got and record is not None:
                    lines.append(f"| {strategy} | {name} | {budget} | {steps} | GAN stopped: {record['stopped']} | |")
                if not got:
                    continue
                paired = [got[s] - today[s] for s in got if s in today]
                gain = summary(paired) if paired and name != TODAY else ""
                lines.append(f"| {strategy} | {name} | {budget} | {steps} | {summary(list(got.values()))} | {gain} |")
        ref = scores.get((REFERENCES, 0, reference_of(strategy)))
        if ref:
            lines.append(f"| {reference_of(strategy)} (reference, no GAN) | | | | {summary(list(ref.values()))} | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`time`, `run` or `table`; bad input is one line and exit code 2."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["time", "run", "table"])
    parser.add_argument("--out", required=True, help="folder of timing.json, jobs/ and gan_techniques.md")
    parser.add_argument("--data-root", help="MNIST IDX folder: experiment=mnist_lt data=mnist data.root=DIR")
    parser.add_argument("--timing-steps", type=int, default=200, help="updates timed per technique (time)")
    parser.add_argument("--warmup", type=int, default=10, help="updates before the clock starts (time)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved timing rounds (time)")
    parser.add_argument("--techniques", default=",".join([REFERENCES, *TECHNIQUES]), help="what to run (run)")
    parser.add_argument("--strategies", default="gan+classical", help="GAN strategies scored (run)")
    parser.add_argument("--seeds", default="0,1", help="classifier seeds (run; default 0,1)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the composed config (time)")
    args = parser.parse_intermixed_args(argv)
    out = Path(args.out)
    try:
        if args.command == "time":
            if (out / "timing.json").exists():
                raise GanaugError(f"--out {out}: has a timing.json already; its runs follow it, pass a new folder")
            if not 0 <= args.warmup < args.timing_steps or args.repeats < 1:
                raise GanaugError("--timing-steps must exceed --warmup >= 0, and --repeats be at least 1")
            write_json(out / "timing.json", measure(args.overrides, args.data_root, args.timing_steps,
                                                    args.warmup, args.repeats))  # fmt: skip
        elif args.command == "run":
            if args.overrides or args.data_root:
                raise GanaugError("run takes its overrides from timing.json; give them to `time`")
            strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
            for strategy in strategies:
                reference_of(strategy, "--strategies")
            names = parse_names(args.techniques, [REFERENCES, *TECHNIQUES], "--techniques")
            run(out, names, strategies, parse_counts(args.seeds, "--seeds"))
        text = table(out)
    except (GanaugError, HydraException, OmegaConfBaseException) as exc:
        print_error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return 2
    with atomic_path(out / "gan_techniques.md") as tmp:
        tmp.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
