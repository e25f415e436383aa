"""`train.distribute`: which tf.distribute strategy a variant trains under (none by default).

    train:
      distribute: {strategy: none | mirrored | multi_worker, devices: [/gpu:0, /gpu:1]}

- `none` (default): no strategy and no scope; training is exactly what it was before the
  key existed, so committed results do not move.
- `mirrored`: tf.distribute.MirroredStrategy over `devices` (default: every GPU, or the
  CPU). The model is built and compiled inside its scope; `train.batch_size` is the
  *global* batch, split evenly between the replicas.
- `multi_worker`: MultiWorkerMirroredStrategy, one process per machine, each configured by
  the TF_CONFIG environment variable. The convention would be that only the chief (task
  index 0) writes models/, metrics/train/ and checkpoints, the other workers a temp dir.
  It is refused for now: Keras 3's `fit` fails under this strategy (keras-team/keras#20585:
  its symbolic build reduces PerReplica batches eagerly, and its train step reduces scalar
  losses with `axis=0`; seen with Keras 3.15 / TF 2.21), so TF_CONFIG is checked, then a
  StageError says why.

Stateful models (`model.stateful: true`, the sin->cos variant) cannot be distributed: their
layers carry state across a fixed batch, which replicas would split.
No TensorFlow at import: the checks run before any work.
"""

from __future__ import annotations

import json
import os
from typing import Any

from stages.core.io import StageError

STRATEGIES = ("none", "mirrored", "multi_worker")
UPSTREAM_BUG = "https://github.com/keras-team/keras/issues/20585"


def spec(cfg: dict, where: str) -> tuple[str, list[str] | None]:
    """(strategy, devices) from a `train:` block; ('none', None) when the key is absent."""
    block = cfg.get("distribute") or {}
    strategy = block.get("strategy", "none")
    devices = block.get("devices")
    if strategy not in STRATEGIES:
        raise StageError(
            f"params.yaml: {where}.distribute.strategy {strategy!r} is unknown; "
            f"use one of {', '.join(STRATEGIES)}."
        )
    if devices and strategy != "mirrored":
        raise StageError(
            f"params.yaml: {where}.distribute.devices only applies to strategy mirrored; "
            "remove it or set strategy: mirrored."
        )
    return strategy, devices


def check(cfg: dict, arch: dict, where: str) -> str:
    """The strategy name after refusing what cannot be distributed (before TF starts)."""
    strategy, _ = spec(cfg, where)
    if strategy != "none" and arch.get("stateful"):
        raise StageError(
            f"params.yaml: {where}.distribute.strategy {strategy} cannot train a stateful "
            "model (model.stateful: true carries state across a fixed batch that replicas "
            "would split); set strategy: none."
        )
    if strategy == "multi_worker":
        tf_config()
        raise StageError(
            f"params.yaml: {where}.distribute.strategy multi_worker is not supported: Keras 3's "
            f"fit fails under MultiWorkerMirroredStrategy ({UPSTREAM_BUG}); use mirrored "
            "(several devices of one machine) or none."
        )
    return strategy


def tf_config() -> dict[str, Any]:
    """TF_CONFIG parsed and checked: a cluster with workers and this process's task."""
    fix = (
        'set it on each machine, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
        '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\' (index 0 is the chief).'
    )
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise StageError(f"train.distribute.strategy multi_worker needs TF_CONFIG: {fix}")
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        index = int(config["task"]["index"])
        ok = isinstance(workers, list) and workers and 0 <= index < len(workers)
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise StageError(f"TF_CONFIG is malformed (train.distribute multi_worker): {fix}")
    return config


def make_strategy(cfg: dict, where: str):
    """The tf.distribute strategy of a `train:` block, or None for strategy none."""
    strategy, devices = spec(cfg, where)
    if strategy == "none":
        return None
    import tensorflow as tf

    if strategy == "mirrored":
        mirrored = tf.distribute.MirroredStrategy(devices=devices)
        print(f"{where}.distribute: mirrored, {mirrored.num_replicas_in_sync} replicas")
        return mirrored
    raise StageError(f"params.yaml: {where}.distribute.strategy {strategy} is not supported.")
