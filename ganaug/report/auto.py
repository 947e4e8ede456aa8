"""`auto`'s decision as tables: every candidate's score and gain, the search's cost and its proxy check."""

from __future__ import annotations

from ganaug.auto.decision import Decision
from ganaug.auto.search import AutoResult
from ganaug.report.table import format_mean_std, markdown_table


def candidates_table(decision: Decision) -> str:
    """Every candidate's mean ± std balanced accuracy and paired gain over the reference, then the verdict."""
    rows = []
    for name, r in decision.results.items():
        mark = "chosen" if r.chosen else ("reference" if name == decision.reference else "")
        gain = "" if name == decision.reference else str(r.gain)
        rows.append([name, format_mean_std(r.mean, r.std), gain, mark])
    table = markdown_table(["candidate", "balanced acc", f"gain vs {decision.reference}", ""], rows)
    return f"{table}\n{decision.verdict}"


def decision_table(result: AutoResult, final_fit_seconds: float | None = None) -> str:
    """The search's cost (also in final trainings when `final_fit_seconds` is given), then candidates_table."""
    decision = result.decision
    cost = f" = {result.seconds / final_fit_seconds:.1f} final trainings" if final_fit_seconds else ""
    where = "trainings scored on the validation split" if result.holdout == "validation" else "folds"
    header = (
        f"auto: {len(decision.results)} candidates x {decision.n_splits} {where}, "
        f"{result.candidate_epochs} epochs each, decided in {result.seconds:.1f} s{cost}"
    )
    check = result.proxy_check
    if check is not None:
        used = "used" if check.trusted else f"not used, candidates train {check.full_epochs} epochs"
        probe = ""
        if check.probe is not None:
            p = check.probe
            probe = (
                f"; {p.probe} gains {p.probe_gain_proxy:+.4f} ({check.proxy_epochs} epochs) and "
                f"{p.probe_gain_full:+.4f} ± {p.probe_uncertainty_full:.4f} ({check.full_epochs})"
            )
        header += (
            f"\nproxy check: {check.proxy_epochs} epochs rank the baselines {', '.join(check.proxy_ranking)}; "
            f"{check.full_epochs} epochs {', '.join(check.full_ranking)} (Kendall tau {check.kendall_tau:.2f})"
            f"{probe}: proxy {used}"
        )
    return header + "\n" + candidates_table(decision)
