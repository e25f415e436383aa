"""#13 "Done when": a sentiment corpus with one folder per label and no train/test folders
trains through params only. A generated corpus goes through the real stage commands
(download, prepare_text, train_text, evaluate_text) in a throwaway copy of the project
whose params.yaml is composed from conf/ plus command-line overrides: no code, no conf edit.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.pipeline  # the text stages run as subprocesses

ROOT = Path(__file__).resolve().parents[1]
WORDS = {
    "pos": ["great", "lovely", "superb", "fun", "moving"],
    "neg": ["awful", "dull", "boring", "weak", "clumsy"],
}
COMMON = ["the", "film", "plot", "actor", "scene", "music", "story", "ending"]
OVERRIDES = [
    "+datasets.reviews={files:[{name:reviews.tar.gz,urls:[]}]}",
    "+text_tasks.reviews={title:Generated reviews,kind:sentiment,dataset:reviews,"
    "root:corpus,classes:{neg:0,pos:1},test_fraction:0.25,val_fraction:0.2,seeds:1,"
    "tfidf_baselines:[{name:tfidf_lr}]}",
    "+text_variants.reviews-lstm={task:reviews,inputs:{vocab_size:50,maxlen:12},"
    "model:{layers:[{type:embedding,output_dim:8},{type:lstm,units:4}],"
    "head:{units:1,activation:sigmoid}},train:{optimizer:adam,learning_rate:0.01,"
    "loss:binary_crossentropy,metrics:[accuracy],epochs:1,batch_size:16,steps_per_epoch:5}}",
]


def write_corpus(path: Path, per_class: int = 160) -> None:
    """corpus/pos/*.txt and corpus/neg/*.txt: short reviews, a few label words each."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        for label, words in WORDS.items():
            for i in range(per_class):
                text = " ".join(rng.choice(COMMON + words + words, size=10)).encode()
                info = tarfile.TarInfo(f"corpus/{label}/{i}.txt")
                info.size = len(text)
                tar.addfile(info, io.BytesIO(text))


def run(args: list[str], cwd: Path, env: dict) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_a_generated_flat_corpus_trains_through_params_only(tmp_path):
    repo = tmp_path / "repo"
    for name in ("stages", "conf", "hydra_plugins"):
        shutil.copytree(ROOT / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write_corpus(mirror / "reviews.tar.gz")
    env = {**os.environ, "RNN_DATA_MIRROR": str(mirror), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    run(["-m", "stages.profile", "default", *OVERRIDES], repo, env)
    run(["-m", "stages.download", "reviews"], repo, env)
    run(["-m", "stages.prepare_text", "reviews"], repo, env)
    meta = json.loads((repo / "data/prepared/reviews/meta.json").read_text())
    assert meta["reviews"] == {"train": 192, "val": 48, "test": 80}
    assert meta["positive_share"]["test"] == 0.5  # stratified: half of each label's 25 %
    run(["-m", "stages.train_text", "reviews-lstm-s42"], repo, env)
    run(["-m", "stages.evaluate_text", "reviews"], repo, env)
    metrics = json.loads((repo / "metrics/reviews.json").read_text())
    test = metrics["models"]["reviews-lstm"]["test"]
    assert test["count"] == 80 and math.isfinite(test["accuracy"])
    assert {"majority", "tfidf_lr"} <= set(metrics["baselines"])
    assert metrics["baselines"]["tfidf_lr"]["test"]["accuracy"] > 0.9  # the words separate
    headline = json.loads((repo / "metrics/headline/reviews.json").read_text())
    assert headline["net"] == "lstm" and headline["verdict"]  # the task prefix dropped
