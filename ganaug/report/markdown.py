"""The report's Markdown: the rule, the verdicts, and per configuration its tables and figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ganaug.auto.search import AUTO
from ganaug.classify.parts import CLASSICAL_STRATEGIES
from ganaug.classify.summary import mean_std
from ganaug.report.compare import CANDIDATE, Comparison
from ganaug.report.runs import Configuration
from ganaug.report.table import format_mean_std, markdown_table, summary_table

MIN_SEEDS = 5
RULE = (
    f"Metrics are measured on the test split; tables give the mean ± standard deviation over seeds. "
    f"The headline is balanced accuracy (mean per-class recall). `{CANDIDATE}` *beats* the best classical "
    f"strategy (the best of {', '.join(f'`{s}`' for s in CLASSICAL_STRATEGIES)} by mean balanced accuracy) when its "
    "mean is higher by more than two standard deviations, taking the larger of the two strategies' "
    "standard deviations over seeds. Gap closed = (gan+classical − best classical) / (upper bound − best "
    "classical), where the upper bound is strategy `none` trained on the source's balanced training split "
    "(`imbalance=none`) of the same dataset."
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
        return f"no comparison: `{CANDIDATE}` or every classical strategy is missing from this configuration."
    head = (
        f"`{CANDIDATE}` {_pm(c.candidate, c.candidate_std)} vs `{c.best}` {_pm(c.best_mean, c.best_std)} "
        f"(best classical): difference {c.difference:+.4f}, two standard deviations {c.threshold:.4f}. "
    )
    tail = {
        "beats": f"**`{CANDIDATE}` beats the best classical strategy by more than two standard deviations.**",
        "worse": f"**`{CANDIDATE}` is worse than the best classical strategy by more than two standard "
                 "deviations.**",
        "within": f"**`{CANDIDATE}` does not beat the best classical strategy by more than two standard "
                  f"deviations** ({'higher' if c.difference > 0 else 'not higher'}, within the noise).",
        "untested": "**Significance not tested**: a strategy has fewer than two seeds, so no standard "
                    "deviation; run more seeds.",
    }[c.verdict]
    return head + tail


def auto_sentence(c: Comparison, gan: Comparison | None = None) -> str:
    """`auto` against the best classical strategy: is it ever below it by more than one standard deviation,
    and is it above it where `gan` (gan+classical's comparison) beats it?"""
    head = (
        f"`{AUTO}` {_pm(c.candidate, c.candidate_std)} vs `{c.best}` {_pm(c.best_mean, c.best_std)} "
        f"(best classical): difference {c.difference:+.4f}, one standard deviation "
        f"{max(c.candidate_std, c.best_std):.4f}. "
    )
    if c.never_worse is None:
        return head + "**Not tested**: fewer than two seeds."
    if c.never_worse:
        head += f"`{AUTO}` is not below the best classical strategy by more than one standard deviation."
    else:
        head += f"**`{AUTO}` is below the best classical strategy by more than one standard deviation.**"
    follows = c.follows(gan)
    if follows is None:
        return head
    where = f" `{CANDIDATE}` beats the best classical strategy here, and `{AUTO}`"
    return head + where + (" is above it too." if follows else " **is not above it**.")


def auto_decisions_table(decisions: Sequence[dict]) -> str:
    """One line per auto run: what it chose, how many synthetic samples per class, and what deciding cost."""
    rows = []
    for d in decisions:
        counts = ", ".join(f"{name}: {n}" for name, n in d["per_class"].items()) or "none"
        proxy = {True: "used", False: "not trusted", None: "none"}[d["proxy_trusted"]]
        cost = "n/a" if d["cost"] is None else f"{d['cost']:.1f}"
        rows.append([d["seed"], d["chosen"], counts, proxy, f"{d['seconds']:.0f}", cost])
    header = ["seed", "chosen", "synthetic per class", "proxy", "decision s", "cost (final trainings)"]
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
                "exceed the best classical strategy.")
    return (f"Gap closed: **{c.gap_closed:.1%}** of the {c.room:.4f} between the best classical strategy and "
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
        out += ["### gan+classical against the best classical strategy", "",
                verdict_sentence(report.comparison), "", gap_sentence(report.comparison, report.upper_label), ""]
    if report.auto is not None:
        out += ["### auto against the best classical strategy", "", auto_sentence(report.auto, report.comparison), ""]
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
        out += [f"No configuration holds both `{CANDIDATE}` and a classical strategy: nothing to compare.", ""]
    for r in compared:
        out += [f"- **{r.config.label}**: {verdict_sentence(r.comparison)} {gap_sentence(r.comparison, r.upper_label)}"]
        if r.auto is not None:
            out += [f"  {auto_sentence(r.auto, r.comparison)}"]
    out.append("")
    for r in reports:
        out += _section(r)
    return "\n".join(out).rstrip() + "\n"
