"""`python -m ganaug`: the whole flow, from a dataset to metrics.json and a comparison table."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ganaug.classify.summary import optimized_value
from ganaug.cli.runner import CONFIG_PATH, VERSION_BASE, hydra_entry, run_task
from ganaug.fileio import write_json
from ganaug.flow.run import run_flow
from ganaug.lightning import is_rank_zero
from ganaug.report.auto import decision_table
from ganaug.report.table import run_table

log = logging.getLogger("ganaug")


def flow(cfg: DictConfig, run_dir: Path) -> float:
    """Run every stage, write metrics.json, artifacts.json (quality.json, auto.json) in the run folder, print tables.

    Returns `optimized_metric` (a validation metric) of `optimized_strategy` (default: the last strategy), for
    a Hydra sweeper to optimise: never a test metric.
    """
    result = run_flow(cfg)
    rows = result.evaluation.rows
    if not is_rank_zero():  # a distributed run's other ranks trained beside rank zero, which writes and prints
        return optimized_value(rows, cfg.optimized_metric, cfg.optimized_strategy)
    write_json(run_dir / "artifacts.json", result.artifacts)
    if result.quality is not None:
        write_json(run_dir / "quality.json", result.quality)
    auto = result.evaluation.auto
    if auto is not None:
        write_json(run_dir / "auto.json", auto.record)
        print(decision_table(auto.result, auto.final_fit_seconds))
    write_json(run_dir / "metrics.json", rows)
    print(f"strategies compared on classifier {', '.join(dict.fromkeys(r['classifier'] for r in rows))}")
    print(run_table(rows))
    log.info("metrics written to %s", run_dir / "metrics.json")
    if auto is not None:
        print(f"auto: {auto.result.decision.verdict}")
    return optimized_value(rows, cfg.optimized_metric, cfg.optimized_strategy)


@hydra.main(version_base=VERSION_BASE, config_path=CONFIG_PATH, config_name="config")
def main(cfg: DictConfig) -> float:
    """Hydra entry point of the whole flow."""
    return run_task(cfg, flow)


if __name__ == "__main__":
    hydra_entry(main)
