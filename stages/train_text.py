"""Stage `train_text@<variant>-s<seed>`: fit one text variant (IMDB sentiment or War and
Peace characters) with one seed.

Writes models/<task>/<variant>/s<seed>/ as the forecasting train stage does (model.keras,
weights.npz, predictions.npz, variant.json), plus samples.json for character models:
generated text at each `sample.temperatures`, as structured data the report renders.
The fit (determinism, early stopping, resume after a kill) is stages/core/models/fit.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from stages.core.config.entry import checked, stage_cli
from stages.core.io import (
    PREPARED_DIR,
    StageError,
    load_npz,
    read_json,
    require,
)


def complete_arch(arch: dict, meta: dict, variant: dict, where: str) -> dict:
    """Fill the sizes that come from the data: embedding rows and the softmax width."""
    arch = copy.deepcopy(arch)
    charlm = meta["kind"] == "charlm"
    vocab = (
        len(meta["alphabet"])
        if charlm
        else int(require(variant.get("inputs", {}), "vocab_size", f"{where}.inputs"))
    )
    for spec in arch.get("layers", []):
        if spec.get("type") == "embedding" and not spec.get("input_dim"):
            spec["input_dim"] = vocab
    if charlm and not arch.setdefault("head", {}).get("units"):
        arch["head"]["units"] = vocab
    return arch


def char_sampler(alphabet: list[str], arch: dict, seq_length: int, seed_text: str, seed: int):
    """Text from a fixed seed string; temperature 0 is the seed's greedy argmax.

    Each step feeds the last `seq_length` characters, as the seed does, through the numpy
    forward pass of stages/core/scoring/reference.py with the model's current weights: Keras
    would trace one graph per context length (seconds each; a single graph with an
    unknown length gave wrong probabilities with TF 2.21 / Keras 3.15).
    """
    from stages.core.scoring.reference import forward

    index = {ch: i for i, ch in enumerate(alphabet)}
    unknown = [ch for ch in seed_text if ch not in index]
    if unknown:
        raise StageError(
            f"params.yaml: sample.seed_text has characters outside the book: {unknown}. "
            "Use characters of the training text."
        )

    def sample(model, temperature: float, length: int) -> str:
        rng = np.random.default_rng(seed)
        weights = [w.astype(np.float64) for w in model.get_weights()]
        ids = [index[ch] for ch in seed_text]
        for _ in range(length):
            context = np.array([ids[-seq_length:]])
            probs = forward(arch, iter(weights), context, {})[0, -1]
            if temperature <= 0:
                nxt = int(np.argmax(probs))
            else:
                logits = np.log(np.maximum(probs, 1e-12)) / temperature
                p = np.exp(logits - logits.max())
                nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
        return "".join(alphabet[i] for i in ids)

    return sample


def sampling_hooks(meta: dict, variant: dict, arch: dict, seed: int):
    """(after each epoch: print a sample, at the end: samples.json) for character models."""
    cfg = variant.get("sample", {})
    seq_length = int(variant["inputs"]["seq_length"])
    seed_text = cfg.get("seed_text", "the ")
    sampler = char_sampler(meta["alphabet"], arch, seq_length, seed_text, seed)
    every = int(variant["train"].get("sample_every", 0))

    def on_epoch(model, epoch: int) -> None:
        if every and (epoch + 1) % every == 0:
            print(f"epoch {epoch + 1} sample (temperature 0.5): {sampler(model, 0.5, 200)!r}")

    def extras(model) -> dict[str, Any]:
        length = int(cfg.get("length", 500))
        temperatures = cfg.get("temperatures", [0, 0.2, 0.5, 1.0])
        samples = [
            {"temperature": float(t), "text": sampler(model, float(t), length)}
            for t in temperatures
        ]
        return {"samples.json": {"seed_text": cfg.get("seed_text", "the "), "samples": samples}}

    return on_epoch, extras


def train(
    run: str, entry: dict[str, Any], params: dict, prepared: Path = PREPARED_DIR, **dirs
) -> dict[str, Any]:
    """Train one text (variant, seed) run end to end and write all of its outputs."""
    from stages.core.models.fit import train_variant
    from stages.core.models.layouts import charlm_feeds, sentiment_feeds

    name = require(entry, "variant", f"text_runs.{run}")
    seed = int(require(entry, "seed", f"text_runs.{run}"))
    variant = checked(params, "text_variants", name)  # the schema's check, before any work
    where = f"text_variants.{name}"
    task = require(variant, "task", where)
    meta = read_json(prepared / task / "meta.json", f"prepare_text@{task}")
    ids = load_npz(prepared / task / "ids.npz")
    arch = complete_arch(require(variant, "model", where), meta, variant, where)
    on_epoch = extras = None
    if meta["kind"] == "charlm":
        feeds = charlm_feeds(ids, variant, where, arch)
        on_epoch, extras = sampling_hooks(meta, variant, arch, seed)
    else:
        feeds = sentiment_feeds(ids, variant, where)
    return train_variant(
        name, variant, where, feeds, seed, prepared / task, arch=arch,
        on_epoch=on_epoch, extras=extras, **dirs,
    )  # fmt: skip


if __name__ == "__main__":
    stage_cli("train_text", "text_runs", train)
