"""The results page: results.md's markdown as HTML, and every task's committed figures.

The report stage writes it next to results.md so that a fresh clone, with no DVC remote
and none of the cached outputs, still has one page to open: the PNGs it shows are
git-tracked and referenced by relative path, and the page needs no network and no
JavaScript. Only the markdown that stages/report.py writes is understood (paragraphs,
pipe tables, `- ` lists, fenced code, **bold**, _italic_ and `code`), so the HTML table
is the markdown table, cell for cell, and cannot drift from it.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

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
ITALIC = re.compile(r"(?<!\w)_(\S(?:.*?\S)?)_(?!\w)")  # `_arima_2_1_2_`: inner _ stay
BOLD = re.compile(r"\*\*(.+?)\*\*")


def inline(text: str) -> str:
    """Escape, then render `code` (its content left literal), **bold** and _italic_."""
    parts = text.split("`")
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # between backticks
            out.append(f"<code>{html.escape(part)}</code>")
        else:
            escaped = BOLD.sub(r"<strong>\1</strong>", html.escape(part))
            out.append(ITALIC.sub(r"<em>\1</em>", escaped))
    return "".join(out)


def cells(line: str) -> list[str]:
    """The cells of one pipe-table row."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def table(rows: list[str]) -> str:
    """A pipe table (header, `---` separator, body) as an HTML table."""
    head, body = cells(rows[0]), [cells(r) for r in rows[2:]]
    lines = ["<table>", "<thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head)]
    lines.append("</tr></thead><tbody>")
    for row in body:
        lines.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>")
    return "\n".join([*lines, "</tbody></table>"])


def take(lines: list[str], start: int, keep) -> int:
    """The index after the run of lines from `start` for which keep(line) holds."""
    end = start
    while end < len(lines) and keep(lines[end]):
        end += 1
    return end


def markdown_to_html(text: str) -> str:
    """HTML for the markdown subset the report writes, block by block."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("```"):
            end = take(lines, i + 1, lambda s: s != "```")
            out.append(f"<pre><code>{html.escape(chr(10).join(lines[i + 1 : end]))}</code></pre>")
            i = end + 1
        elif line.startswith("|"):
            end = take(lines, i, lambda s: s.startswith("|"))
            out.append(table(lines[i:end]))
            i = end
        elif line.startswith("- "):
            end = take(lines, i, lambda s: s.startswith("- "))
            items = "".join(f"<li>{inline(s[2:])}</li>" for s in lines[i:end])
            out.append(f"<ul>{items}</ul>")
            i = end
        else:
            end = take(lines, i, lambda s: bool(s.strip()) and not s.startswith(("|", "```")))
            out.append(f"<p>{inline(' '.join(lines[i:end]))}</p>")
            i = end
    return "\n".join(out)


def figures(task: str, plots_dir: Path) -> list[Path]:
    """A task's committed figures: plots/<task>/*.png (forecasting tasks, `plots` stage)
    and plots/<task>/figures/*.png (text tasks, `plots_text` stage), sorted by name."""
    root = plots_dir / task
    return sorted(root.glob("*.png")) + sorted((root / "figures").glob("*.png"))


def figure_section(task: str, title: str, paths: list[Path], page_dir: Path) -> str:
    """One task's heading and its figures, each linked by a path relative to the page."""
    items = []
    for path in paths:
        src = Path(os.path.relpath(path, page_dir)).as_posix()
        alt = html.escape(f"{task}: {path.stem.replace('_', ' ')}", quote=True)
        items.append(
            f'<figure><a href="{html.escape(src)}"><img src="{html.escape(src)}" '
            f'alt="{alt}"></a><figcaption>{html.escape(src)}</figcaption></figure>'
        )
    body = "\n".join(items) or "<p>No figures yet: run <code>dvc repro</code>.</p>"
    return f'<section id="figures-{task}">\n<h3>{html.escape(title)}</h3>\n{body}\n</section>'


def page(
    markdown: str,
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
    links = " · ".join(f'<a href="#figures-{t}">{html.escape(t)}</a>' for t in tasks)
    sections = [
        figure_section(task, title, figures(task, plots_dir), page_dir)
        for task, title in tasks.items()
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            f"<title>{TITLE}</title>",
            f"<style>{STYLE}</style></head>",
            "<body>",
            f"<h1>{TITLE}</h1>",
            "<p>Written by the <code>report</code> stage (<code>stages/report.py</code>) from "
            "<code>metrics/</code>: the tables are <code>results.md</code>'s; the figures are "
            "the PNGs committed under <code>plots/</code>.</p>",
            f"<p>Figures: {links}</p>",
            '<section id="results">',
            "<h2>Results</h2>",
            markdown_to_html(markdown),
            "</section>",
            *(
                ['<section id="targets">', f"<h2>{html.escape(targets_title)}</h2>"]
                + [markdown_to_html(targets), "</section>"]
                if targets
                else []
            ),
            *(
                ['<section id="searches">', "<h2>Searches</h2>", markdown_to_html(searches)]
                + ["</section>"]
                if searches
                else []
            ),
            "<h2>Figures</h2>",
            *sections,
            "</body>",
            "</html>",
            "",
        ]
    )
