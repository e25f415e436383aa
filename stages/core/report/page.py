"""The results page: results.md's markdown as HTML, and every task's committed figures.

The report stage writes it next to results.md so that a fresh clone, with no DVC remote
and none of the cached outputs, still has one page to open: the PNGs it shows are
git-tracked and referenced by relative path, and the page needs no network and no
JavaScript. The tables are results.md's own markdown rendered by Python-Markdown (the
`tables` and `fenced_code` extensions), so the HTML table is the markdown table, cell for
cell, and cannot drift from it; the page around them is one Jinja2 template.
"""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import markdown

TITLE = "Recurrent-network studies: results"
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; }
th { background: #eee; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.8em; color: #555; }
"""
TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8">
<title>{{ title }}</title>
<style>{{ style }}</style></head>
<body>
<h1>{{ title }}</h1>
<p>Written by the <code>report</code> stage (<code>stages/report.py</code>) from \
<code>metrics/</code>: the tables are <code>results.md</code>'s; the figures are the PNGs \
committed under <code>plots/</code>.</p>
<p>Figures: {% for task in tasks %}<a href="#figures-{{ task }}">{{ task }}</a>\
{{ " · " if not loop.last }}{% endfor %}</p>
{% for id, heading, body in sections %}<section id="{{ id }}">
<h2>{{ heading }}</h2>
{{ body }}
</section>
{% endfor %}<h2>Figures</h2>
{% for task, title, items in figures %}<section id="figures-{{ task }}">
<h3>{{ title }}</h3>
{% for src, alt in items %}<figure><a href="{{ src }}"><img src="{{ src }}" alt="{{ alt }}">\
</a><figcaption>{{ src }}</figcaption></figure>
{% else %}<p>No figures yet: run <code>dvc repro</code>.</p>
{% endfor %}</section>
{% endfor %}</body>
</html>
"""


def markdown_to_html(text: str) -> str:
    """HTML for the markdown the report writes: paragraphs, pipe tables, lists, fenced code,
    **bold**, _italic_ (not inside a word: `_arima_2_1_2_` keeps its underscores) and `code`."""
    return markdown.markdown(text, extensions=["tables", "fenced_code"])


def figures(task: str, plots_dir: Path) -> list[Path]:
    """A task's committed figures: plots/<task>/*.png (forecasting tasks, `plots` stage)
    and plots/<task>/figures/*.png (text tasks, `plots_text` stage), sorted by name."""
    root = plots_dir / task
    return sorted(root.glob("*.png")) + sorted((root / "figures").glob("*.png"))


def figure_items(task: str, paths: list[Path], page_dir: Path) -> list[tuple[str, str]]:
    """(src relative to the page, alt text) for each of a task's figures."""
    return [
        (Path(os.path.relpath(path, page_dir)).as_posix(), f"{task}: {path.stem.replace('_', ' ')}")
        for path in paths
    ]


def page(
    markdown_text: str,
    tasks: dict[str, str],
    plots_dir: Path,
    page_dir: Path,
    searches: str = "",
    targets: str = "",
    targets_title: str = "Targets",
) -> str:
    """The whole page: the results (markdown rendered), the targets and the searches
    (markdown, each when given), then every task's figures. `tasks` maps each task to its
    title, in order."""
    sections = [("results", "Results", markdown_to_html(markdown_text))]
    if targets:
        sections.append(("targets", targets_title, markdown_to_html(targets)))
    if searches:
        sections.append(("searches", "Searches", markdown_to_html(searches)))
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    return env.from_string(TEMPLATE).render(
        title=TITLE,
        style=jinja2.filters.Markup(STYLE),
        tasks=list(tasks),
        sections=[(i, h, jinja2.filters.Markup(body)) for i, h, body in sections],
        figures=[
            (task, title, figure_items(task, figures(task, plots_dir), page_dir))
            for task, title in tasks.items()
        ],
    )
