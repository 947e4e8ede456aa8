"""`auto`'s decision as tables: the race rung by rung, the final comparison, and what the search cost."""

from __future__ import annotations

import math

from ganaug.auto.decision import Decision
from ganaug.auto.race import Rung
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


def rungs_table(rungs: list[Rung]) -> str:
    """One line per candidate and rung: its balanced accuracy, gain over the rung's reference, and fate."""
    rows = []
    for rung in rungs:
        for name, scores in rung.scores.items():
            gain = rung.gains[name]
            unc = "inf" if math.isinf(gain.uncertainty) else f"{gain.uncertainty:.4f}"
            fate = "reference" if name == rung.reference else ("dropped" if name in rung.dropped else
                   ("promoted" if name in rung.promoted else ""))  # fmt: skip
            mean = sum(s.balanced_accuracy for s in scores) / len(scores)
            rows.append([rung.index + 1, rung.epochs, name, f"{mean:.4f}", f"{gain.mean:+.4f} ± {unc}", fate])
    return markdown_table(["rung", "epochs", "candidate", "balanced acc", "gain", ""], rows)


def decision_table(result: AutoResult, final_fit_seconds: float | None = None) -> str:
    """The search's cost (also in final trainings when `final_fit_seconds` is given), the race, the final
    comparison and the verdict."""
    decision = result.decision
    cost = f" = {result.seconds / final_fit_seconds:.1f} final trainings" if final_fit_seconds else ""
    where = "runs scored on the validation split" if result.holdout == "validation" else "folds"
    epochs = ", ".join(str(e) for e in result.candidate_epochs)
    header = (
        f"auto: {result.trainings} trainings in rungs of {epochs} epochs, the last one {decision.n_splits} {where}; "
        f"decided in {result.seconds:.1f} s{cost}"
    )
    return "\n".join([header, rungs_table(result.rungs), "", candidates_table(decision)])
