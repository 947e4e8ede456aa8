"""The `auto` decision as a result: a JSON record for the run folder, a short table and a one-line verdict."""

from __future__ import annotations

import math

from ganaug.auto.decision import CandidateResult, Decision
from ganaug.auto.search import AutoResult


def _gain(result: CandidateResult) -> str:
    unc = result.gain.uncertainty
    return f"{result.gain.mean:+.4f} ± {'inf' if math.isinf(unc) else f'{unc:.4f}'}"


def verdict(decision: Decision) -> str:
    """One line saying what was chosen and why."""
    ref = decision.reference
    if decision.improved:
        won = decision.results[decision.chosen]
        return (
            f"GAN augmentation helped on held-back training data: '{decision.chosen}' beat '{ref}' by {_gain(won)} "
            "balanced accuracy and is used."
        )
    others = [r for name, r in decision.results.items() if name not in decision.baselines and r.gain.n > 0]
    best = max(others, key=lambda r: r.gain.mean, default=None)
    closest = f" (closest: '{best.name}', {_gain(best)})" if best is not None else ""
    return (
        f"GAN augmentation did not help on this data: no candidate beat the best baseline '{ref}' by more than "
        f"its uncertainty{closest}; '{ref}' is used instead."
    )


def candidates_table(decision: Decision) -> str:
    """Every candidate's mean ± std balanced accuracy and paired gain over the reference, then the verdict."""
    lines = [f"{'candidate':<44} {'balanced acc':>16} {'gain vs ' + decision.reference:>26}"]
    for name, r in decision.results.items():
        mark = " <- chosen" if r.chosen else (" (reference)" if name == decision.reference else "")
        gain = "" if name == decision.reference else _gain(r)
        lines.append(f"{name:<44} {r.mean:>8.4f} ± {r.std:.4f} {gain:>26}{mark}")
    lines.append(verdict(decision))
    return "\n".join(lines)


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
        used = "used" if check["trusted"] else f"not used, candidates train {check['full_epochs']} epochs"
        proxy_rank, full_rank = ", ".join(check["proxy_ranking"]), ", ".join(check["full_ranking"])
        probe = ""
        if "probe" in check:
            probe = (
                f"; {check['probe']} gains {check['probe_gain_proxy']:+.4f} ({check['proxy_epochs']} epochs) and "
                f"{check['probe_gain_full']:+.4f} ± {check['probe_uncertainty_full']:.4f} ({check['full_epochs']})"
            )
        header += (
            f"\nproxy check: {check['proxy_epochs']} epochs rank the baselines {proxy_rank}; {check['full_epochs']} "
            f"epochs {full_rank} (Kendall tau {check['kendall_tau']:.2f}){probe}: proxy {used}"
        )
    return header + "\n" + candidates_table(decision)


def decision_record(result: AutoResult, class_names: list[str], final_fit_seconds: float | None = None) -> dict:
    """The decision as JSON: chosen settings per class, every candidate's score with its uncertainty, the cost."""
    decision = result.decision
    chosen = decision.chosen_candidate
    per_class = {
        class_names[c]: {
            "class_id": c,
            "synthetic_count": chosen.synthetic_counts.get(c, 0),
            "amount_from_per_class_search": result.per_class.get(c),
        }
        for c in sorted(set(chosen.synthetic_counts) | set(result.per_class))
    }
    return {
        "reference": decision.reference,
        "chosen": decision.chosen,
        "improved": decision.improved,
        "verdict": verdict(decision),
        "margin_in_standard_errors": decision.margin,
        "chosen_settings": chosen.to_json(),
        "per_class": per_class,
        "candidates": [
            {**r.to_json(), "settings": decision.candidates[name].to_json()} for name, r in decision.results.items()
        ],
        "holdout": result.holdout,
        "splits": decision.n_splits,
        "candidate_epochs": result.candidate_epochs,
        "proxy_check": result.proxy_check,
        "trainings": result.trainings,
        "decision_seconds": round(result.seconds, 3),
        "final_fit_seconds": final_fit_seconds,
        "decision_cost_in_final_trainings": round(result.seconds / final_fit_seconds, 2) if final_fit_seconds else None,
    }
