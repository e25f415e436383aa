"""Stage `train@<variant>`: fit one forecasting variant and save it with its predictions.

Writes models/<task>/<variant>/: model.keras, weights.npz (plain arrays, for the numpy
reference check), predictions.npz (model-space predictions for every split) and
variant.json (what was trained). Per-epoch curves go to metrics/train/<task>/<variant>/
through DVCLive. Reads `variants.<variant>`, `seed` and the task's `window` params; the
fit itself (determinism, early stopping, resume after a kill) is stages/core/fit.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.core.io import (
    LIVE_DIR,
    MODELS_DIR,
    PREPARED_DIR,
    SKIPPED,
    atomic_path,
    live_dir,
    mark_unavailable,
    model_dir,
    require,
    section,
    stage_cli,
    unavailable,
    write_json,
)


def train(
    name: str,
    variant: dict[str, Any],
    params: dict,
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    live_root: Path = LIVE_DIR,
    **dirs,
) -> dict[str, Any]:
    """Train one variant end to end and write all of its outputs."""
    task = require(variant, "task", f"variants.{name}")
    reason = unavailable(prepared / task)
    if reason:  # before importing TensorFlow: a skipped study should cost nothing
        skip_variant(model_dir(task, name, models), live_dir(task, name, live_root), reason)
        print(f"train {name}: skipped, data for task {task} unavailable")
        return {"seconds": 0.0}
    from stages.core.fit import train_variant
    from stages.core.layouts import forecast_feeds

    window = require(section(params, "tasks", task), "window", f"tasks.{task}")
    seed = int(params.get("seed", 0))
    feeds = forecast_feeds(task, window, variant, seed, prepared)
    return train_variant(
        name, variant, f"variants.{name}", feeds, seed, prepared / task,
        models=models, live_root=live_root, **dirs,
    )  # fmt: skip


def skip_variant(out: Path, live: Path, reason: str) -> None:
    """Outputs of a variant whose data is unavailable: markers and empty curves, no numbers."""
    mark_unavailable(out, reason)
    write_json(live / "metrics.json", {"unavailable": SKIPPED})  # short: dvc metrics shows it
    for split in ("train", "eval"):
        with atomic_path(live / "plots" / "metrics" / split / "loss.tsv") as tmp:
            tmp.write_text("step\tloss\n", encoding="utf-8")


if __name__ == "__main__":
    stage_cli("train", "variants", train)
