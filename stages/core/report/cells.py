"""Table cells of the results, targets and searches tables: numbers to four significant
digits, confidence intervals, p-values, and the verdict against the strongest baseline in
words (one wording for every table)."""

from __future__ import annotations


def fmt(value: float | None) -> str:
    """Four significant digits; an empty cell when the metric does not exist."""
    return "" if value is None else f"{value:.4g}"


def with_ci(entry: dict, metric: str) -> str:
    """`mean ± half-width` of the 95 % CI over seeds (the CI is symmetric: Student t), or
    the single number when there is one seed or it is a baseline."""
    value, ci = entry.get(metric), entry.get(f"{metric}_ci95")
    if value is None or not ci:
        return fmt(value)
    return f"{value:.4g} ± {(ci[1] - ci[0]) / 2:.2g}"


def n_seeds(entry: dict) -> str:
    return str(len(entry.get("seeds", {}))) if "seeds" in entry else ""


def fmt_p(p: float | None) -> str:
    """A p-value as people write it: two digits, and a bound below 0.0001."""
    if p is None:
        return "not tested"
    return "p < 0.0001" if p < 1e-4 else f"p {p:.2g}"


def verdict_words(versus: dict | None, bold: bool = False) -> str:
    """The significance test against the strongest baseline in words, with its p-value:
    `better than ngram (p 0.0005)`, `no difference from arima_aic (p 0.73)`; "better"
    in bold for the results table."""
    if not versus:
        return ""
    verdict, p = versus["verdict"], fmt_p(versus["p_value"])
    if verdict in ("better", "worse"):
        word = f"**{verdict}**" if bold and verdict == "better" else verdict
        return f"{word} than {versus['baseline']} ({p})"
    return f"no difference from {versus['baseline']} ({p})"


def verdict_cell(entry: dict) -> str:
    """The results table's last-but-one column."""
    return verdict_words(entry.get("vs_best_baseline"), bold=True)


def model_label(name: str, splits: dict) -> str:
    """A model's name, with "(hybrid: <baseline>)" when a classical model or a baseline
    does part of its work (stages/core/models/hybrid.py, stages/core/scoring/interpolation.py)."""
    hybrid = next((s["hybrid"] for s in splits.values() if s.get("hybrid")), None)
    return f"{name} (hybrid: {hybrid})" if hybrid else name
