"""docs/params.md is generated from the schema (stages/params_reference.py): it must match
what the schema gives now, and every key must carry a meaning."""

from __future__ import annotations

import ast
from pathlib import Path

from stages import params_reference as ref
from stages.core.config.schema import Params

ROOT = Path(__file__).resolve().parents[1]
STALE = "docs/params.md is out of date: run `python -m stages.params_reference` and commit it"


def test_docs_match_the_schema():
    """A schema or description change without regenerating the page fails here."""
    assert ref.OUTPUT == ROOT / "docs" / "params.md"
    assert ref.OUTPUT.read_text(encoding="utf-8") == ref.render(), STALE


def test_render_is_byte_stable():
    assert ref.render() == ref.render()


def test_every_field_has_a_description():
    models = ref.all_models(Params)
    names = {m.__name__ for m in models}
    # the walk reaches nested models, lists and mappings of them and every tagged union
    for expected in (
        "Task", "IndexedWindow", "StatefulWindow", "SearchRanges", "Ets", "Zoom",
        "PoolLayer", "LrSchedule", "Distribute", "CharLM", "Significance", "Nbsvm",
        "TextHybrid", "Sample", "Select", "Target", "Run", "FileSpec", "Missing",
    ):  # fmt: skip
        assert expected in names, f"the walk from Params misses {expected}"
    missing = [
        f"{model.__module__}.{model.__name__}.{name}"
        for model in models
        for name, info in model.model_fields.items()
        if not (info.description or "").strip()
    ]
    assert not missing, "fields without a description (add an attribute docstring):\n" + (
        "\n".join(missing)
    )


def test_every_field_has_a_row():
    """Each field of each model reached from Params appears as a row of its table."""
    text = ref.render()
    keys = {
        line.split("`")[1].rsplit(".", 1)[-1]
        for line in text.splitlines()
        if line.startswith("| `")
    }
    for model in ref.all_models(Params):
        for name in model.model_fields:
            assert name in keys, f"{model.__name__}.{name} has no row in docs/params.md"


def test_spot_check_rows():
    rows = {}
    for line in ref.render().splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows.setdefault(cells[0].strip("`"), []).append(cells)
    lookback = rows["tasks.<task>.window.lookback"]
    assert ["int >= 1", "required"] in [cells[1:3] for cells in lookback]
    assert "Past time steps" in lookback[0][3]
    (rate,) = rows["variants.<name>.train.learning_rate"]
    assert rate[1:3] == ["float > 0", "`0.001`"]
    (split,) = rows["tasks.<task>.split.val"]
    assert split[1:3] == ["float in (0, 1)", "required"]
    (scaler,) = rows["tasks.<task>.transform.scaler"]
    assert scaler[1] == r"one of: minmax \| standard \| none"
    assert "text_tasks.<task>.ngram_orders" in rows and "searches.<name>.select.goal" in rows


def test_check_mode(tmp_path, capsys):
    page = tmp_path / "params.md"
    assert ref.main(["--out", str(page)]) == 0
    assert ref.main(["--check", "--out", str(page)]) == 0
    page.write_text(page.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert ref.main(["--check", "--out", str(page)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "python -m stages.params_reference" in err[0]


def test_no_tensorflow():
    """The generator and the stages modules it imports load no TensorFlow or Keras."""
    todo, seen = ["stages.params_reference"], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.exists():
            path = path.with_suffix("") / "__init__.py"
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # top level only
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for imported in names:
                assert imported.split(".")[0] not in ("tensorflow", "keras"), f"{name}: {imported}"
                if imported.startswith("stages."):
                    todo.append(imported)
    assert "stages.core.config.schema" in seen
