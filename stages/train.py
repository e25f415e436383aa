"""Stage `train@<variant>-s<seed>`: fit one forecasting variant with one seed and save it.

Writes models/<task>/<variant>/s<seed>/: model.keras, weights.npz (plain arrays, for the
numpy reference check), predictions.npz (model-space predictions for every split) and
variant.json (what was trained). Per-epoch curves go to metrics/train/<task>/<variant>/
s<seed>/ through DVCLive. Reads `runs.<run>` (variant, task, seed; a hybrid's classical
entry; a multi-step task's `horizon`, which sets the head's units), `variants.<variant>`
and the task's `window` params; the fit itself (determinism,
early stopping, resume after a kill) is stages/core/models/fit.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stages.core.config.entry import checked, stage_cli
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
    unavailable,
    write_json,
)


def train(
    run: str,
    entry: dict[str, Any],
    params: dict,
    prepared: Path = PREPARED_DIR,
    models: Path = MODELS_DIR,
    live_root: Path = LIVE_DIR,
    **dirs,
) -> dict[str, Any]:
    """Train one (variant, seed) run end to end and write all of its outputs."""
    name, seed = (
        require(entry, "variant", f"runs.{run}"),
        int(require(entry, "seed", f"runs.{run}")),
    )
    variant = checked(params, "variants", name)  # the schema's check, before any work
    task = require(variant, "task", f"variants.{name}")
    reason = unavailable(prepared / task)
    if reason:  # before importing TensorFlow: a skipped study should cost nothing
        skip_variant(
            model_dir(task, name, seed, models), live_dir(task, name, seed, live_root), reason
        )
        print(f"train {run}: skipped, data for task {task} unavailable")
        return {"seconds": 0.0}
    from stages.core.models.fit import train_variant
    from stages.core.models.layouts import forecast_feeds

    window = require(section(params, "tasks", task), "window", f"tasks.{task}")
    outputs = int(entry.get("horizon") or 1)  # a direct multi-step network: H outputs
    if outputs > 1:
        head = {**variant["model"]["head"], "units": outputs}
        variant = {**variant, "model": {**variant["model"], "head": head}}
    feeds = forecast_feeds(task, window, variant, seed, prepared, outputs)
    if variant.get("hybrid"):  # a network on a classical model's residuals
        from stages.core.models.hybrid import residual_feeds

        feeds = residual_feeds(
            feeds, task, window, entry.get("classical"), variant, f"variants.{name}", prepared
        )
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
    stage_cli("train", "runs", train)
