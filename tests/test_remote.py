"""A shared DVC remote with the run-cache (#12 item 1), against a real S3 API on 127.0.0.1.

moto's S3 server stands in for a team's bucket; DVC talks to it through dvc-s3 exactly as
it would to AWS (endpoint URL and credentials are the only difference). One machine pushes
the smoke run (data, models, run-cache); a fresh clone pulls and `dvc repro` runs nothing.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.repo_copy import GIT, copy_smoke_run, dvc, sh, tree_digest

pytestmark = pytest.mark.pipeline  # copies of smoke_repo, moto_server, dvc push/pull

BUCKET = "rnn-study"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",  # moto accepts any; DVC reads them like real ones
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "NO_PROXY": "127.0.0.1",
}
OUTPUT_FOLDERS = ["data", "models", "metrics", "plots"]


def free_port() -> int:
    """A TCP port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    """Block until the server accepts connections; fail at once if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"moto_server exited with {server.returncode}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"moto_server did not listen on {port} within {timeout} s")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server as a subprocess on a free port, with an empty bucket; stopped
    (terminate, then kill) when the module's tests are done."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    server_bin = Path(sys.executable).parent / "moto_server"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(server_bin), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server)
        endpoint = f"http://127.0.0.1:{port}"
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def s3_client(endpoint: str):
    """boto3 (installed with moto) pointed at the local server."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )


def bucket_keys(endpoint: str) -> list[str]:
    """Every object key in the bucket."""
    pages = s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.fixture(scope="module")
def pushed(smoke_repo, s3_endpoint, tmp_path_factory) -> tuple[Path, dict, str]:
    """A copy of the smoke run with the S3 remote committed in .dvc/config (the team
    setup: everyone who clones gets it) and everything pushed, run-cache included.
    Returns (repo, env, push log)."""
    source, shared_env, _ = smoke_repo
    home = tmp_path_factory.mktemp("remote")
    env = {
        **shared_env,
        **CREDENTIALS,
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),  # no stray profile or region
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
    }
    repo = copy_smoke_run(source, home / "origin", env)
    dvc(["remote", "add", "-d", "team", f"s3://{BUCKET}/dvc"], repo, env)
    dvc(["remote", "modify", "team", "endpointurl", s3_endpoint], repo, env)
    sh([*GIT, "add", ".dvc/config"], repo, env)
    sh([*GIT, "commit", "-qm", "team remote"], repo, env)
    log = dvc(["push", "--run-cache"], repo, env)
    return repo, env, log


def fresh_clone(origin: Path, dest: Path, env: dict) -> Path:
    """`git clone` of the pushing repository: no DVC cache, no outputs but git's."""
    sh(["git", "clone", "-q", str(origin), str(dest)], dest.parent, env)
    assert not (dest / ".dvc" / "cache").exists() and not (dest / "models").exists()
    return dest


def test_push_sends_data_models_and_run_cache_to_the_bucket(pushed, s3_endpoint):
    repo, _, log = pushed
    keys = bucket_keys(s3_endpoint)
    assert any(key.startswith("dvc/files/md5/") for key in keys), log
    runs = [key for key in keys if key.startswith("dvc/runs/")]
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    trainings = [name for name in stages if name.startswith("train")]
    assert len(runs) >= len(trainings)  # every training run, the costly ones, is recorded


def test_a_fresh_clone_pulls_the_results_and_repro_runs_nothing(pushed, tmp_path):
    origin, env, _ = pushed
    clone = fresh_clone(origin, tmp_path / "clone", env)
    dvc(["pull", "--run-cache"], clone, env)
    out = dvc(["repro"], clone, env)
    assert "Running stage" not in out, out
    assert "up to date" in dvc(["status"], clone, env)
    assert tree_digest(clone, OUTPUT_FOLDERS) == tree_digest(origin, OUTPUT_FOLDERS)
    metrics = [json.loads(dvc(["metrics", "show", "--json"], r, env)) for r in (origin, clone)]
    assert metrics[0] == metrics[1] and metrics[0]


def test_the_run_cache_alone_restores_every_training(pushed, tmp_path):
    """No dvc.lock (results nobody committed, e.g. another machine's experiment): the
    pushed run-cache still serves every training, fetched with `repro --pull`. One task's
    chain (airline) keeps the test short; every stage kind is on it."""
    origin, env, _ = pushed
    clone = fresh_clone(origin, tmp_path / "clone", env)
    (clone / "dvc.lock").unlink()
    out = dvc(["repro", "--pull", "evaluate@airline"], clone, env, timeout=400)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    # DVC 3.67 records no run-cache entry for stages with uncached metrics outputs
    # (evaluate*, plots_text*, report): they re-run in seconds, byte for byte; no training does.
    assert not {name for name in ran if name.startswith("train")}, out
    stages = yaml.safe_load((origin / "dvc.lock").read_text())["stages"]
    chain = {name: stage for name, stage in stages.items() if name.endswith("@airline")
             or name.startswith("train@airline-")}  # fmt: skip
    trainings = [name for name in chain if name.startswith("train")]
    assert trainings
    assert out.count("is cached - skipping run, checking out outputs") >= len(trainings), out
    assert yaml.safe_load((clone / "dvc.lock").read_text())["stages"] == {
        name: stage for name, stage in chain.items() if not name.startswith("plots")
    }
    for folder in ("models/airline", "data/prepared/airline"):
        assert tree_digest(clone, [folder]) == tree_digest(origin, [folder]), folder
    assert (clone / "metrics/airline.json").read_bytes() == (
        origin / "metrics/airline.json"
    ).read_bytes()
