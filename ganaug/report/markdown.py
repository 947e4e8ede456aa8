"""The report's Markdown: the rule, the verdicts, and per configuration its tables and figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganaug.auto.search import AUTO
from ganaug.classify.summary import mean_std
from ganaug.report.compare import Comparison
from ganaug.report.runs import Configuration
from ganaug.report.table import format_mean_std, markdown_table, summary_table

MIN_SEEDS = 5
STRONGEST = "the strongest non-GAN strategy"
RULE = (
    "Metrics are measured on the test split; tables give the mean ± standard deviation over seeds. "
    "The headline is balanced accuracy (mean per-class recall). The best GAN strategy (the best of the "
    f"strategies with generated data, by mean balanced accuracy) *beats* {STRONGEST} (the best of those "
    "without) when its mean is higher by more than two standard deviations, taking the larger of the two "
    "strategies' standard deviations over seeds. Gap closed = (best GAN strategy − strongest non-GAN) / "
    "(upper bound − strongest non-GAN), where the upper bound is strategy `none` trained on the source's "
    "balanced training split (`imbalance=none`) of the same dataset."
)


@dataclass
class GroupReport:
    """Everything the report says about one configuration."""

    config: Configuration
    jobs: int
    summary: list[dict]
    comparison: Comparison | None
    upper_label: str | None
    class_labels: list[str]
    rarest: list[int]
    quality: list[dict] = field(default_factory=list)
    auto: Comparison | None = None
    auto_decisions: list[dict] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _pm(mean: float | None, std: float | None) -> str:
    return format_mean_std(mean, std)


def verdict_sentence(c: Comparison | None) -> str:
    """The comparison of one group in one honest sentence."""
    if c is None:
        return "no comparison: no GAN strategy, or no strategy without generated data, in this configuration."
    head = (
        f"`{c.name}` {_pm(c.candidate, c.candidate_std)} (best GAN strategy) vs `{c.best}` "
        f"{_pm(c.best_mean, c.best_std)} ({STRONGEST}): difference {c.difference:+.4f}, two standard deviations "
        f"{c.threshold:.4f}. "
    )
    tail = {
        "beats": f"**`{c.name}` beats {STRONGEST} by more than two standard deviations.**",
        "worse": f"**`{c.name}` is worse than {STRONGEST} by more than two standard deviations.**",
        "within": f"**`{c.name}` does not beat {STRONGEST} by more than two standard deviations** "
        f"({'higher' if c.difference > 0 else 'not higher'}, within the noise).",
        "untested": "**Significance not tested**: a strategy has fewer than two seeds, so no standard "
        "deviation; run more seeds.",
    }[c.verdict]
    return head + tail


def auto_sentence(c: Comparison, gan: Comparison | None = None) -> str:
    """`auto` against the strongest non-GAN strategy: is it ever below it by more than one standard
    deviation, and is it above it where the best GAN strategy (`gan`) beats it?"""
    head = (
        f"`{AUTO}` {_pm(c.candidate, c.candidate_std)} vs `{c.best}` {_pm(c.best_mean, c.best_std)} "
        f"({STRONGEST}): difference {c.difference:+.4f}, one standard deviation "
        f"{max(c.candidate_std, c.best_std):.4f}. "
    )
    if c.never_worse is None:
        return head + "**Not tested**: fewer than two seeds."
    if c.never_worse:
        head += f"`{AUTO}` is not below {STRONGEST} by more than one standard deviation."
    else:
        head += f"**`{AUTO}` is below {STRONGEST} by more than one standard deviation.**"
    follows = c.follows(gan)
    if follows is None or gan is None:
        return head
    where = f" `{gan.name}` beats {STRONGEST} here, and `{AUTO}`"
    return head + where + (" is above it too." if follows else " **is not above it**.")


def auto_decisions_table(decisions: Sequence[dict]) -> str:
    """One line per auto run: what it chose, how many synthetic samples per class, and what deciding cost."""
    rows = []
    for d in decisions:
        counts = ", ".join(f"{name}: {n}" for name, n in d["per_class"].items()) or "none"
        cost = "n/a" if d["cost"] is None else f"{d['cost']:.1f}"
        snapshot = "n/a" if d.get("snapshot") is None else f"{d['snapshot']} steps"
        reference = d.get("reference") or "n/a"
        rows.append([d["seed"], reference, d["chosen"], snapshot, counts, f"{d['seconds']:.0f}", cost])
    header = ["seed", "reference", "chosen", "GAN snapshot", "synthetic per class", "decision s"]
    header.append("cost (final trainings)")
    return markdown_table(header, rows)


def gap_sentence(c: Comparison | None, upper_label: str | None) -> str:
    """The gap closed, or why it cannot be computed."""
    if c is None:
        return "Gap closed: not computed (no comparison)."
    if c.upper is None:
        return ("Gap closed: not computed; there is no upper-bound run (`imbalance=none`, strategy `none`) "
                "of this dataset in the sweep.")
    if c.gap_closed is None:
        return (f"Gap closed: undefined; the upper bound {_pm(c.upper, c.upper_std)} ({upper_label}) does not "
                f"exceed {STRONGEST}.")
    return (f"Gap closed: **{c.gap_closed:.1%}** of the {c.room:.4f} between {STRONGEST} and "
            f"the upper bound {_pm(c.upper, c.upper_std)} ({upper_label}).")


def rarest_table(summary: Sequence[dict], rarest: Sequence[int], class_labels: Sequence[str]) -> str:
    """Mean ± std test recall of the rarest classes per strategy."""
    names = [class_labels[c] if c < len(class_labels) else str(c) for c in rarest]
    rows = []
    for s in summary:
        means, stds = s["per_class_recall"], s["per_class_recall_std"]
        rows.append([s["strategy"], *(_pm(means[c], stds[c]) if c < len(means) else "n/a" for c in rarest)])
    return markdown_table(["strategy", *(f"class {n}" for n in names)], rows)


def quality_table(quality: Sequence[dict]) -> str:
    """Mean ± std over the distinct generated sets of every overall sample-quality metric."""
    rows = []
    for key in sorted({k for q in quality for k in q}):
        mean, std, n = mean_std([q.get(key) for q in quality])
        rows.append([key, _pm(mean, std), n])
    return markdown_table(["metric", "mean ± std", "sets"], rows)


def _seeds_line(report: GroupReport) -> str:
    seeds = sorted({k for s in report.summary for k in s["seeds"]})
    line = f"{report.jobs} job folder(s); seeds {', '.join(map(str, seeds)) or 'unknown'}."
    fewest = min((s["runs"] for s in report.summary), default=0)
    if fewest < MIN_SEEDS:
        line += (
            f" Fewer than {MIN_SEEDS} runs for some strategy: the protocol (docs/benchmark.md) asks for at least "
            f"{MIN_SEEDS} seeds."
        )
    return line


def _figure(report: GroupReport, kind: str, alt: str) -> list[str]:
    return [f"![{alt}]({report.figures[kind]})", ""] if kind in report.figures else []


def _section(report: GroupReport) -> list[str]:
    out = [f"## {report.config.label}", "", _seeds_line(report), "", "### Test metrics", "",
           summary_table(report.summary), ""]
    if not report.config.is_balanced_reference or report.comparison is not None:
        out += [f"### The best GAN strategy against {STRONGEST}", "",
                verdict_sentence(report.comparison), "", gap_sentence(report.comparison, report.upper_label), ""]
    if report.auto is not None:
        out += [f"### auto against {STRONGEST}", "", auto_sentence(report.auto, report.comparison), ""]
    if report.auto_decisions:
        out += ["What `auto` decided on each seed (from `auto.json`; cost = decision time over the final training's):",
                "", auto_decisions_table(report.auto_decisions), ""]
    if report.rarest:
        out += ["### Recall of the rarest classes", "",
                rarest_table(report.summary, report.rarest, report.class_labels), ""]
    out += _figure(report, "recall", "per-class recall by strategy")
    if report.quality:
        out += ["### Sample quality", "", quality_table(report.quality), ""]
    if "samples" in report.figures or "curves" in report.figures:
        out += ["### Generated samples and GAN training", ""]
        out += _figure(report, "samples", "generated samples next to real training images")
        out += _figure(report, "curves", "GAN training curves")
    if report.notes:
        out += ["Notes:", "", *[f"- {n}" for n in report.notes], ""]
    return out


def render(sweep_dir: Path, reports: Sequence[GroupReport], jobs: int, with_figures: bool = True) -> str:
    """The whole report.md text."""
    runs = sum(s["runs"] for r in reports for s in r.summary)
    out = ["# ganaug benchmark report", "", f"Sweep `{sweep_dir.name}`: {jobs} job folder(s), {runs} runs "
           f"(strategy × seed) in {len(reports)} configuration(s).", "", RULE, ""]
    if not with_figures:
        out += ["Figures were not drawn (--no-figures).", ""]
    compared = [r for r in reports if r.comparison is not None]
    out += ["## Verdict", ""]
    if not compared:
        out += ["No configuration holds both a GAN strategy and one without generated data: nothing to compare.", ""]
    for r in compared:
        out += [f"- **{r.config.label}**: {verdict_sentence(r.comparison)} {gap_sentence(r.comparison, r.upper_label)}"]
        if r.auto is not None:
            out += [f"  {auto_sentence(r.auto, r.comparison)}"]
    out.append("")
    for r in reports:
        out += _section(r)
    return "\n".join(out).rstrip() + "\n"
