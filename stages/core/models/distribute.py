"""`train.distribute`: which tf.distribute strategy a variant trains under (none by default).

    train:
      distribute: {strategy: none | mirrored | multi_worker, devices: [/gpu:0, /gpu:1]}

- `none` (default): no strategy and no scope; training is exactly what it was before the
  key existed, so committed results do not move.
- `mirrored`: tf.distribute.MirroredStrategy over `devices` (default: every GPU, or the
  CPU). The model is built and compiled inside its scope; `train.batch_size` is the
  *global* batch, split evenly between the replicas.
- `multi_worker`: MultiWorkerMirroredStrategy, one process per machine, each configured by
  the TF_CONFIG environment variable. As Keras' convention has it, only the chief (task
  index 0) writes models/, metrics/train/ and checkpoints; the other workers train the same
  replicas in step but write to a temp dir that is deleted (`output_dirs`), since two
  machines writing one output would race. Keras 3's `fit` fails under this strategy
  (keras-team/keras#20585, seen with Keras 3.15 / TF 2.21) in two places, which
  `multi_worker_fixes` and `patch_keras_reduce` work around: its symbolic build reduces a
  PerReplica batch eagerly (we build from this worker's local batch instead), and its train
  step reduces the scalar loss with `axis=0` (we use `axis=None`: the mean over replicas).
  There is no resume after a kill: every worker must run the same epochs, so a multi-worker
  run clears its checkpoint and starts from epoch 0.

Stateful models (`model.stateful: true`, the sin->cos variant) cannot be distributed: their
layers carry state across a fixed batch, which replicas would split.
No TensorFlow at import: the checks run before any work.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from stages.core.io import StageError

STRATEGIES = ("none", "mirrored", "multi_worker")


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
    task = tf_config()["task"]
    patch_keras_reduce()
    workers = tf.distribute.MultiWorkerMirroredStrategy()
    print(
        f"{where}.distribute: multi_worker, {workers.num_replicas_in_sync} replicas, "
        f"this is worker {task['index']}{' (chief)' if is_chief() else ''}"
    )
    return workers


def is_chief() -> bool:
    """Whether this process writes the outputs: always without TF_CONFIG, else task index 0."""
    if not os.environ.get("TF_CONFIG"):
        return True
    task = tf_config()["task"]
    return task.get("type", "worker") == "chief" or int(task["index"]) == 0


def output_dirs(strategy, dirs: tuple[Path, ...]) -> tuple[tuple[Path, ...], Path | None]:
    """Where this process writes (models, curves, checkpoints), and a temp root to delete
    afterwards: a multi-worker non-chief writes to a temp dir, everyone else to `dirs`."""
    if strategy is None or not is_multi_worker(strategy) or is_chief():
        return dirs, None
    scratch = Path(tempfile.mkdtemp(prefix="rnn-worker-"))
    return tuple(scratch / f"{i}" for i in range(len(dirs))), scratch


def is_multi_worker(strategy) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def multi_worker_fixes(model, strategy):
    """Work around keras-team/keras#20585 on one model (no-op unless multi-worker): build
    it symbolically from this worker's first local batch instead of a reduced one."""
    if strategy is None or not is_multi_worker(strategy):
        return model
    import tensorflow as tf
    from keras import tree

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tree.map_structure(local, next(it))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build
    return model


def patch_keras_reduce() -> None:
    """Work around keras-team/keras#20585 in Keras' TF trainer: under a multi-worker
    strategy, a train step's scalar outputs (the loss) are averaged with axis=None; Keras
    asks for axis=0, which a scalar does not have. Other strategies are left as they are."""
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "multi_worker_fix", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        multi = trainer._collective_all_reduce_multi_worker(strategy)
        if not (multi and reduction in ("auto", "mean")):
            return original(values, strategy, reduction)
        return trainer.tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)

    reduce_per_replica.multi_worker_fix = True
    trainer.reduce_per_replica = reduce_per_replica
