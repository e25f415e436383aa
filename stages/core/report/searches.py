"""The searches tables: every committed search (experiments/<search>.json, written by
`python -m stages.search export`), one row per grid point, the validation winner in bold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.core.report.cells import fmt

EXPERIMENTS = Path("experiments")  # experiments/<search>.json: stages/search.py export


def short_names(keys: list[str]) -> list[str]:
    """Each dotted grid key cut to its shortest ending that still tells it from the others
    (variants.x.train.learning_rate -> learning_rate), for table headers."""
    for depth in range(1, max((k.count(".") + 1 for k in keys), default=1) + 1):
        names = [".".join(k.split(".")[-depth:]) for k in keys]
        if len(set(names)) == len(names):
            return names
    return keys


def cell(value: Any) -> str:
    """A grid value in a table cell: floats to four digits, the rest as JSON would."""
    if isinstance(value, float):
        return fmt(value)
    return value if isinstance(value, str) else json.dumps(value)


def search_table(doc: dict[str, Any]) -> list[str]:
    """One search: what it searched, one row per grid point (the winner in bold), and which
    validation number chose the winner."""
    keys, select = list(doc["grid"]), doc["select"]
    metric = select["key"].rsplit(".", 1)[-1]
    profiles = sorted({str(r.get("profile")) for r in doc["rows"] if r.get("profile")})
    where = f"profile `{', '.join(profiles)}`; " if profiles else ""
    lines = [
        "",
        f"**{doc['search']}**: {doc['about']} ({where}targets "
        f"{', '.join(f'`{t}`' for t in doc['targets'])}).",
        "",
        "| " + " | ".join(short_names(keys)) + f" | Validation {metric} | Status | Experiment |",
        "| --- " * (len(keys) + 3) + "|",
    ]
    for i, row in enumerate(doc["rows"]):
        cells = [cell(row["params"][k]) for k in keys] + [fmt(row["metric"])]
        if i == doc["winner"]:
            cells = [f"**{c}**" for c in cells]
        lines.append(f"| {' | '.join(cells)} | {row['status']} | {row['experiment'] or ''} |")
    goal = "lowest" if select["goal"] == "min" else "highest"
    lines += [
        "",
        f"Winner (bold): the {goal} `{select['key']}` in `{select['file']}`, a validation "
        "number; the test split chose nothing.",
    ]
    return lines


def render_searches(exp_dir: Path = EXPERIMENTS) -> str:
    """Every committed search (experiments/*.json, by name) as a table."""
    lines = []
    for path in sorted(exp_dir.glob("*.json")):
        lines += search_table(json.loads(path.read_text(encoding="utf-8")))
    if not lines:
        return (
            "No search has been committed yet: `python -m stages.search run <name>` "
            "writes `experiments/<name>.json`.\n"
        )
    return "\n".join(lines[1:]) + "\n"
