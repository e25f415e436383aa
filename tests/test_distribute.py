"""`train.distribute` (stages/core/models/distribute.py): mirrored training follows the same loss
curve as no strategy, and what cannot be distributed fails before any work with one line.

Mirrored runs in a subprocess: the two logical CPU devices it trains on must be configured
before TensorFlow initialises, which the pytest process may already have done.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stages.core.config.schema import check_entry
from stages.core.io import StageError
from stages.core.models.distribute import check

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
ENV.pop("TF_CONFIG", None)
# Two replicas each average the loss over half of a batch and their gradients are summed:
# the same mean as one device up to float32 rounding in another summation order, which
# grows a little over the epochs (observed: 1e-7 relative after 4 epochs, Keras 3.15 / TF 2.21).
RTOL = 1e-4

ARCH = {"layers": [{"type": "gru", "units": 8}], "head": {"units": 1}}

# Runs in the child: a small forecasting variant (tiny generated sine windows) through the
# real train_variant/fit, once per strategy; prints {strategy: [train loss per epoch]}.
CHILD = """
import json, sys
from pathlib import Path
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from stages.core.models.fit import train_variant
from stages.core.models.layouts import ArrayFeeds

out, arch = Path(sys.argv[1]), json.loads(sys.argv[2])
t = np.arange(220, dtype=np.float32) / 7
series = np.sin(t) + 0.1 * np.cos(3 * t)
x = np.stack([series[i : i + 12] for i in range(200)])[..., None]
y = series[12:212, None]
curves = {}
for strategy in ("none", "mirrored"):
    distribute = {"strategy": strategy}
    if strategy == "mirrored":
        distribute["devices"] = ["/cpu:0", "/cpu:1"]
    train = {"epochs": 4, "batch_size": 32, "checkpoint_every": 0, "distribute": distribute}
    variant = {"task": "toy", "model": arch, "train": train}
    cfg = {"batch_size": 32, "shuffle": True}
    feeds = ArrayFeeds((x[:160], y[:160]), (x[160:], y[160:]), {"test": x[160:]}, cfg)
    root = out / strategy
    data = root / "data"
    data.mkdir(parents=True)
    train_variant(
        "toy-gru", variant, "variants.toy-gru", feeds, 7, data,
        models=root / "models", live_root=root / "live", checkpoints=root / "ckpt",
    )
    tsv = root / "live/toy/toy-gru/s7/plots/metrics/train/loss.tsv"
    curves[strategy] = [float(line.split()[-1]) for line in tsv.read_text().splitlines()[1:]]
    assert (root / "models/toy/toy-gru/s7/model.keras").exists()
print("CURVES " + json.dumps(curves))
"""

# Runs in each worker: the same variant under multi_worker, all workers writing to one root
# (as a shared file system would); prints the curve this worker saw.
WORKER = """
import json, sys
from pathlib import Path
import numpy as np
from stages.core.models.fit import train_variant
from stages.core.models.layouts import ArrayFeeds

root, arch = Path(sys.argv[1]), json.loads(sys.argv[2])
t = np.arange(220, dtype=np.float32) / 7
series = np.sin(t) + 0.1 * np.cos(3 * t)
x = np.stack([series[i : i + 12] for i in range(200)])[..., None]
y = series[12:212, None]
train = {"epochs": 3, "batch_size": 32, "checkpoint_every": 0,
         "distribute": {"strategy": "multi_worker"}}
variant = {"task": "toy", "model": arch, "train": train}
feeds = ArrayFeeds((x[:160], y[:160]), (x[160:], y[160:]), {"test": x[160:]}, {"batch_size": 32})
(root / "data").mkdir(parents=True, exist_ok=True)
train_variant(
    "toy-gru", variant, "variants.toy-gru", feeds, 7, root / "data",
    models=root / "models", live_root=root / "live", checkpoints=root / "ckpt",
)
print("DONE")
"""


@pytest.mark.pipeline
def test_mirrored_on_two_cpu_devices_follows_the_loss_curve_of_none(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), json.dumps(ARCH)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "variants.toy-gru.train.distribute: mirrored, 2 replicas" in done.stdout
    line = next(s for s in done.stdout.splitlines() if s.startswith("CURVES "))
    curves = json.loads(line.removeprefix("CURVES "))
    assert len(curves["none"]) == 4
    assert curves["mirrored"] == pytest.approx(curves["none"], rel=RTOL)
    assert curves["none"][-1] < curves["none"][0]  # it did learn


def free_ports(count: int) -> list[int]:
    """Ports nobody listens on now (bound together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.pipeline
def test_multi_worker_two_processes_train_and_only_the_chief_writes(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        log = open(tmp_path / f"worker{index}.log", "w")  # noqa: SIM115 (closed below)
        procs.append((log, subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path / "out"), json.dumps(ARCH)],
            cwd=ROOT, env={**ENV, "TF_CONFIG": json.dumps(config)},
            stdout=log, stderr=subprocess.STDOUT,
        )))  # fmt: skip
    try:
        codes = [proc.wait(timeout=240) for _, proc in procs]
    finally:
        for log, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], "\n".join(text[-3000:] for text in logs)
    assert "DONE" in logs[0] and "DONE" in logs[1]
    assert "multi_worker, 2 replicas, this is worker 0 (chief)" in logs[0]
    written = list((tmp_path / "out").rglob("model.keras"))
    assert written == [tmp_path / "out/models/toy/toy-gru/s7/model.keras"]
    curve = (tmp_path / "out/live/toy/toy-gru/s7/plots/metrics/train/loss.tsv").read_text()
    assert len(curve.splitlines()) == 1 + 3


def train_cfg(strategy: str, **extra) -> dict:
    return {"epochs": 1, "distribute": {"strategy": strategy, **extra}}


@pytest.mark.parametrize("tf_config", [None, "", "{not json", '{"cluster": {}}'])
def test_multi_worker_without_a_valid_tf_config_names_it(tf_config, monkeypatch):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(StageError, match="TF_CONFIG") as caught:
        check(train_cfg("multi_worker"), ARCH, "variants.toy.train")
    assert "\n" not in str(caught.value) and '"task"' in str(caught.value)


def test_a_valid_tf_config_is_accepted(monkeypatch):
    cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}}
    monkeypatch.setenv("TF_CONFIG", json.dumps({**cluster, "task": {"type": "worker", "index": 1}}))
    assert check(train_cfg("multi_worker"), ARCH, "variants.toy.train") == "multi_worker"


@pytest.mark.parametrize("strategy", ["mirrored", "multi_worker"])
def test_a_stateful_model_cannot_be_distributed(strategy):
    with pytest.raises(StageError, match="stateful.*set strategy: none") as caught:
        check(train_cfg(strategy), {**ARCH, "stateful": True}, "variants.sincos.train")
    assert "variants.sincos.train.distribute.strategy" in str(caught.value)


def test_devices_only_apply_to_mirrored():
    with pytest.raises(StageError, match="devices only applies to strategy mirrored"):
        check(train_cfg("none", devices=["/gpu:0"]), ARCH, "variants.toy.train")
    assert check(train_cfg("mirrored", devices=["/gpu:0"]), ARCH, "v.train") == "mirrored"
    assert check({"epochs": 1}, {**ARCH, "stateful": True}, "v.train") == "none"


def test_the_schema_accepts_the_key_and_names_a_bad_strategy():
    variant = {"task": "toy", "model": ARCH, "train": train_cfg("mirrored", devices=["/cpu:0"])}
    check_entry("variants", "toy", variant)
    variant["train"]["distribute"]["strategy"] = "horovod"
    with pytest.raises(StageError, match=r"variants\.toy\.train\.distribute\.strategy"):
        check_entry("variants", "toy", variant)
