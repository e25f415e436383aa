"""The cache never lies: every stage's deps in dvc.yaml cover the local code its command runs.

Each stage command is `python -m stages.<module> ...`; its import graph is resolved with
`ast` (imports inside functions included, since they run too), and every project file in
it must be a declared dep (the file itself or a folder above it). A second test removes
one dep from a copy of dvc.yaml and checks that the first would fail.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of a project module, or None for third-party and standard modules."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path, module: str) -> set[str]:
    """Every module name an import statement in `path` may load (absolute and relative)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    # a package's __init__ runs when any of its modules is imported
    for name in list(names):
        parts = name.split(".")
        names.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return names


def code_files(module: str, root: Path = ROOT) -> set[str]:
    """Project files (relative paths) that `python -m <module>` imports, transitively."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = module_file(name, root)
        if path is None or name in seen:
            continue
        seen[name] = path
        todo.extend(imported_modules(path, name))
    return {
        str(p.relative_to(root))
        for p in seen.values()
        if not (p.name == "__init__.py" and p.stat().st_size == 0)  # empty: no code
    }


def stage_gaps(dvc: dict, root: Path = ROOT) -> dict[str, list[str]]:
    """Per stage, the imported project files that its deps do not cover."""
    gaps = {}
    for name, stage in dvc["stages"].items():
        body = stage.get("do", stage)
        words = body["cmd"].split()
        if "-m" not in words:
            continue
        deps = [str(d).rstrip("/") for d in body.get("deps", []) if isinstance(d, str)]
        files = code_files(words[words.index("-m") + 1], root)
        missing = sorted(f for f in files if not any(f == d or f.startswith(d + "/") for d in deps))
        if missing:
            gaps[name] = missing
    return gaps


def load_dvc() -> dict:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))


def test_every_stage_declares_the_code_it_imports():
    assert stage_gaps(load_dvc()) == {}


def test_the_check_fails_when_one_dep_is_removed():
    broken = copy.deepcopy(load_dvc())
    deps = broken["stages"]["train"]["do"]["deps"]
    deps.remove("stages/core/models")  # a folder dep covers every module in it
    gaps = stage_gaps(broken)["train"]
    assert "stages/core/models/fit.py" in gaps and "stages/core/models/zoo.py" in gaps


def test_training_does_not_depend_on_plumbing():
    """An edit to plots, report or evaluation helpers must never force retraining."""
    for module in ("stages.train", "stages.train_text"):
        files = code_files(module)
        assert not {f for f in files if "plots" in f or "report" in f or "figures" in f}
        assert "stages/core/scoring/metrics.py" not in files
        assert not any(f.startswith("stages/datasets/") for f in files), files


def test_every_declared_code_dep_exists():
    for name, stage in load_dvc()["stages"].items():
        body = stage.get("do", stage)
        for dep in body.get("deps", []):
            if isinstance(dep, str) and dep.startswith("stages/"):
                assert (ROOT / dep).exists(), f"{name}: {dep} does not exist"
