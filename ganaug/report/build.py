"""Building the benchmark report of a sweep folder: one section per configuration, figures beside it."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ganaug.auto.search import AUTO
from ganaug.classify.summary import summarize
from ganaug.data.imbalance import PROFILES
from ganaug.errors import GanaugError
from ganaug.fileio import atomic_path
from ganaug.report import artifacts, figures
from ganaug.report.compare import compare, upper_bound, uses_gan
from ganaug.report.markdown import GroupReport, render
from ganaug.report.runs import Configuration, Job, group_jobs, load_jobs

RAREST_SHOWN = 3
# the profiles that give higher class ids fewer images (every one that changes the data)
ORDERED_PROFILES = tuple(p for p, parameters in PROFILES.items() if parameters)


def _first_artifacts(jobs: Sequence[Job], key: str) -> dict:
    return next((j.artifacts for j in jobs if j.artifacts.get(key)), {})


def rarest_classes(counts: list[int] | None, rows: Sequence[dict], profile: str, num_classes: int) -> list[int]:
    """The classes with the fewest training images (ties: lowest id), at most RAREST_SHOWN of them.

    Without the counts (the prepared data was deleted), a long-tail or step profile's highest ids, else
    the rarest class each run reported.
    """
    k = min(RAREST_SHOWN, num_classes)
    if counts is not None:
        return sorted(range(len(counts)), key=lambda c: (counts[c], c))[:k]
    if profile in ORDERED_PROFILES:
        return list(range(num_classes - 1, num_classes - 1 - k, -1))
    return sorted({int(r["rarest_class"]) for r in rows if r.get("rarest_class") is not None})[:k]


QUALITY_SKIPPED = ("per_class", "bank", "classes", "extractor")  # per-class detail and provenance


def _numeric_leaves(tree: dict, prefix: str = "") -> dict[str, float]:
    """Every finite number in a nested dict, keyed by its dotted path (lists and text are left out)."""
    out: dict[str, float] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_numeric_leaves(value, f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[name] = float(value)
    return out


def quality_metrics(jobs: Sequence[Job]) -> list[dict]:
    """The distinct sample-quality results of the jobs' quality.json files, flattened to numbers.

    Keys are the dotted paths of every number outside the per-class detail and provenance sections,
    the `overall` section's without its prefix (e.g. `fid_kid.fid`, `memorisation.median_ratio`).
    """
    seen: dict[str, dict] = {}
    for job in jobs:
        if job.quality is None:
            continue
        overall = job.quality.get("overall")
        rest = {k: v for k, v in job.quality.items() if k not in (*QUALITY_SKIPPED, "overall")}
        flat = {**_numeric_leaves(overall if isinstance(overall, dict) else {}), **_numeric_leaves(rest)}
        if flat:
            seen.setdefault(json.dumps(flat, sort_keys=True), flat)
    return list(seen.values())


def _upper_for(config: Configuration, summaries: dict[Configuration, list[dict]]) -> Configuration | None:
    """The balanced reference of the same dataset (same other settings preferred) that ran strategy none."""
    if config.is_balanced_reference:
        return None
    candidates = [
        c for c, s in summaries.items()
        if c.is_balanced_reference and c.dataset == config.dataset and upper_bound(s) is not None
    ]
    same = [c for c in candidates if c.settings == config.settings]
    if same:
        return same[0]
    return candidates[0] if len(candidates) == 1 else None


def _class_labels(jobs: Sequence[Job], rows: Sequence[dict]) -> tuple[list[str], list[int] | None, list[str]]:
    notes: list[str] = []
    data = _first_artifacts(jobs, "data_dir")
    known = None
    if data:
        try:
            known = artifacts.train_counts(data)
        except GanaugError as exc:
            notes.append(str(exc))
        if known is None and not notes:
            notes.append(f"the prepared data ({data['data_dir']}) no longer exists: training counts unknown")
    else:
        notes.append("no artifacts.json in the job folders: training counts unknown, no sample grid or curves")
    if known is not None:
        names, counts = known
        return [f"{n} (n={k})" for n, k in zip(names, counts, strict=True)], counts, notes
    width = max((len(r.get("per_class_recall") or []) for r in rows), default=0)
    return [str(c) for c in range(width)], None, notes


def _sample_sources(gan: dict) -> tuple[artifacts.Images | None, artifacts.Images | Path | None, list[int]]:
    """Real training images, generated ones (the bank, else the GAN's final grid) and the classes shown."""
    real = artifacts.real_training_images(gan)
    bank = artifacts.generated_images(gan)
    if bank is not None:
        return real, bank, np.flatnonzero(np.bincount(bank.labels, minlength=len(bank.class_names))).tolist()
    classes = artifacts.trained_classes(gan) or list(range(len(real.class_names) if real else 0))
    return real, artifacts.final_samples_png(gan), classes


def _sample_figure(report: GroupReport, jobs: Sequence[Job], out_dir: Path) -> None:
    gan = _first_artifacts(jobs, "gan_dir")
    if not gan:
        return
    try:
        real, generated, classes = _sample_sources(gan)
    except GanaugError as exc:
        report.notes.append(f"no sample grid: {exc}")
        return
    if real is None or generated is None or not classes:
        report.notes.append(f"the GAN's files ({gan['gan_dir']}) or the prepared data are gone: no sample grid")
        return
    name = f"samples-{report.config.slug}.png"
    figures.samples_figure(out_dir / name, real, classes, generated, f"samples: {report.config.label}")
    report.figures["samples"] = name


def _curves_figure(report: GroupReport, jobs: Sequence[Job], out_dir: Path) -> None:
    gan = _first_artifacts(jobs, "gan_dir")
    if not gan:
        return
    logs = artifacts.training_logs(gan)
    if not logs:
        report.notes.append(f"no CSV training log under {gan['gan_dir']}/logs: no training curves")
        return
    try:
        curves = artifacts.read_curves(logs[-1])
    except GanaugError as exc:
        report.notes.append(f"no training curves: {exc}")
        return
    if not curves:
        report.notes.append(f"{logs[-1]}: no numeric column: no training curves")
        return
    name = f"curves-{report.config.slug}.png"
    figures.curves_figure(out_dir / name, curves, f"GAN training: {report.config.label}")
    report.figures["curves"] = name


def one_gan_note(jobs: Sequence[Job]) -> str | None:
    """A note when the GAN strategies' runs over several seeds all used one trained GAN: their standard
    deviation then measures the classifier's seed alone, and the verdict says nothing of the GAN's own
    training noise."""
    runs = [(j.artifacts.get("gan_dir"), r.get("seed"))
            for j in jobs for r in j.rows if uses_gan(r.get("strategy", ""))]
    gans = {gan for gan, _ in runs}
    if len(gans) != 1 or None in gans or len({seed for _, seed in runs}) < 2:
        return None
    return (f"every run of the GAN strategies used one trained GAN ({Path(str(gans.pop())).name}): their standard "
            "deviation is over the classifier's seeds, not over the GAN's training; a GAN trained with another "
            "`gan.seed` can score differently (run the sweep again with it to see by how much)")


def auto_decisions(jobs: Sequence[Job]) -> list[dict]:
    """Each auto run's decision, by seed: the reference, the chosen candidate, its GAN snapshot, synthetic
    count per class (class name -> count), decision seconds and cost in final trainings."""
    out = []
    for job in jobs:
        record = job.auto
        row = next((r for r in job.rows if r.get("strategy") == AUTO), None)
        if record is None or row is None:
            continue
        out.append({
            "seed": row.get("seed"),
            "reference": record.get("reference"),
            "chosen": record["chosen"],
            "snapshot": record.get("chosen_snapshot"),
            "per_class": {name: c["synthetic_count"] for name, c in record.get("per_class", {}).items()},
            "seconds": record["decision_seconds"],
            "cost": record.get("decision_cost_in_final_trainings"),
        })
    return sorted(out, key=lambda d: (d["seed"] is None, d["seed"]))


def _group_reports(groups: dict[Configuration, list[Job]]) -> list[GroupReport]:
    summaries = {c: summarize([r for j in jobs for r in j.rows]) for c, jobs in groups.items()}
    reports = []
    for config, jobs in groups.items():
        rows = [r for j in jobs for r in j.rows]
        upper_config = _upper_for(config, summaries)
        upper = upper_bound(summaries[upper_config]) if upper_config else None
        labels, counts, notes = _class_labels(jobs, rows)
        gan_note = one_gan_note(jobs)
        if gan_note is not None:
            notes.append(gan_note)
        reports.append(GroupReport(
            config=config,
            jobs=len(jobs),
            summary=summaries[config],
            comparison=compare(summaries[config], upper),
            auto=compare(summaries[config], upper, candidate=AUTO),
            upper_label=upper_config.label if upper_config else None,
            class_labels=labels,
            rarest=rarest_classes(counts, rows, config.profile, len(labels)),
            quality=quality_metrics(jobs),
            auto_decisions=auto_decisions(jobs),
            notes=notes,
        ))
    return reports


def build_report(sweep_dir: str | Path, out_dir: str | Path | None = None, with_figures: bool = True) -> Path:
    """Write `report.md` and its PNG figures for the sweep under `sweep_dir`; return the report's path.

    `out_dir` defaults to `sweep_dir/report`. Each file is written atomically; report.md comes last.
    """
    if with_figures:
        figures.require_matplotlib()
    groups = group_jobs(load_jobs(sweep_dir))
    out = Path(out_dir) if out_dir is not None else Path(sweep_dir) / "report"
    if out.exists() and not out.is_dir():
        raise GanaugError(f"--out {out}: exists and is not a folder; pass a folder for the report")
    reports = _group_reports(groups)
    if with_figures:
        for report, jobs in zip(reports, groups.values(), strict=True):
            name = f"recall-{report.config.slug}.png"
            figures.recall_figure(out / name, report.summary, report.class_labels,
                                  f"per-class test recall: {report.config.label}")
            report.figures["recall"] = name
            _sample_figure(report, jobs, out)
            _curves_figure(report, jobs, out)
    text = render(Path(sweep_dir), reports, sum(len(j) for j in groups.values()), with_figures)
    path = out / "report.md"
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
