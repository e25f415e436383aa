"""The fast loop stays fast: every test that starts a process is marked `pipeline`.

`python -m pytest -m "not pipeline"` is the fast loop (pyproject.toml registers the
marker): at most 2 minutes on 2 cores, nothing in it starting DVC, a stage, a training run
or a browser. Read from the source with `ast`, nothing run: a test starts a process when
it reaches `subprocess` through its own body, a function or class of its module that it
calls, a fixture it takes (its module's or tests/conftest.py's, such as `smoke_repo`), or a
name it imports from another tests module (tests/repo_copy.py's `sh`, `dvc`, ...). Such a
test carries `@pytest.mark.pipeline`, or its module's `pytestmark` does, unless QUICK
names it: a quick tool, not the project's pipeline.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# test -> the process it starts; each well under a second, none DVC, a stage or training
QUICK = {
    "test_schema.py::test_schema_does_not_import_tensorflow": "python -c 'import ...schema'",
    "test_workflow.py::test_every_workflow_passes_actionlint": "actionlint",
    "test_workflow.py::test_actionlint_rejects_a_broken_workflow": "actionlint",
}
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def marks(expr: ast.expr) -> set[str]:
    """X for each `pytest.mark.X` or `pytest.mark.X(...)` in a decorator or `pytestmark`
    (alone, or in a list or tuple)."""
    names = set()
    for item in expr.elts if isinstance(expr, ast.List | ast.Tuple) else [expr]:
        item = item.func if isinstance(item, ast.Call) else item
        if isinstance(item, ast.Attribute) and ast.unparse(item.value) == "pytest.mark":
            names.add(item.attr)
    return names


def used(node: ast.AST) -> set[str]:
    """The names a definition refers to, its parameters included (fixtures by name)."""
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        names |= {a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs}
    return names


def starters(tree: ast.Module, fixtures: frozenset[str] = frozenset()) -> set[str]:
    """The names in a module that start a process when used: `subprocess`, what it imports
    from `subprocess` or from tests modules that start one, the given shared `fixtures`,
    and its own top-level functions and classes that reach any of these."""
    found = {"subprocess", *fixtures}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "subprocess":
            found |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests."):
            theirs = module_starters(node.module.removeprefix("tests."))
            found |= {alias.asname or alias.name for alias in node.names if alias.name in theirs}
    definitions = [node for node in tree.body if isinstance(node, DEFINITIONS)]
    grew = True
    while grew:
        new = {node.name for node in definitions if node.name not in found and used(node) & found}
        found |= new
        grew = bool(new)
    return found


@functools.cache
def module_starters(name: str) -> frozenset[str]:
    path = TESTS / f"{name}.py"
    return frozenset(starters(ast.parse(path.read_text()))) if path.is_file() else frozenset()


@functools.cache
def conftest_fixtures() -> frozenset[str]:
    """tests/conftest.py's top-level definitions that start a process (its fixtures)."""
    tree = ast.parse((TESTS / "conftest.py").read_text())
    own = {node.name for node in tree.body if isinstance(node, DEFINITIONS)}
    return frozenset(own & module_starters("conftest"))


def process_tests(source: str) -> dict[str, bool]:
    """Each top-level test of a module that starts a process -> whether it is `pipeline`."""
    tree = ast.parse(source)
    module_marks = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and "pytestmark" in {ast.unparse(t) for t in node.targets}:
            module_marks |= marks(node.value)
    found = starters(tree, conftest_fixtures())
    return {
        node.name: "pipeline" in module_marks | set().union(*map(marks, node.decorator_list))
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
        and used(node) & found
    }


def every_process_test() -> dict[str, bool]:
    return {
        f"{path.name}::{test}": marked
        for path in sorted(TESTS.glob("test_*.py"))
        for test, marked in process_tests(path.read_text()).items()
    }


def test_every_test_that_starts_a_process_is_marked_pipeline():
    found = every_process_test()
    unmarked = sorted(test for test, marked in found.items() if not marked and test not in QUICK)
    assert not unmarked, (
        "these tests start a process but are not marked `pipeline`, so the fast loop "
        '(python -m pytest -m "not pipeline") would run them: add @pytest.mark.pipeline '
        "(or `pytestmark = pytest.mark.pipeline` for a whole module), or, for a quick tool "
        f"that is not the pipeline, an entry in tests/test_markers.py's QUICK:\n{unmarked}"
    )
    stale = sorted(test for test in QUICK if found.get(test, True))
    assert not stale, f"QUICK names tests that start no process or are marked anyway: {stale}"


SAMPLE = '''
import subprocess

import pytest

from tests.repo_copy import dvc

pytestmark = pytest.mark.skipif(False, reason="")


def helper():
    subprocess.run(["true"])


@pytest.fixture
def repo(tmp_path):
    helper()
    return tmp_path


def test_direct():
    subprocess.run(["true"])


def test_through_a_fixture(repo): ...


def test_through_an_import(tmp_path):
    dvc(["status"], tmp_path, {})


def test_through_the_smoke_run(smoke_repo): ...


@pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.pipeline)])
def test_one_marked_case_is_not_enough(x):
    helper()


@pytest.mark.pipeline
def test_marked(repo): ...


def test_in_process(tmp_path):
    assert tmp_path
'''


def test_the_check_follows_helpers_fixtures_imports_and_the_smoke_run():
    assert process_tests(SAMPLE) == {
        "test_direct": False,
        "test_through_a_fixture": False,
        "test_through_an_import": False,
        "test_through_the_smoke_run": False,
        "test_one_marked_case_is_not_enough": False,
        "test_marked": True,
    }
    skip = 'pytest.mark.skipif(False, reason="")'
    module = SAMPLE.replace(skip, f"[pytest.mark.pipeline, {skip}]")
    assert set(process_tests(module).values()) == {True}
