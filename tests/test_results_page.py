"""The results page (#12 item 5): from a fresh clone, with no DVC remote and none of the
cached outputs, one HTML page shows the results table and every task's figures.

The page is opened in headless Chromium (Debian's `chromium` and `chromium-driver`,
which `bash .ci/run` installs; a test dependency only, never a pipeline one) and every
image must have loaded. A missing browser fails the test with the install line: these
tests run anywhere the README's install was followed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stages import report
from stages.core.io import load_params
from stages.core.report import page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver  (bash .ci/run does it)"


def run(cmd: list[str], cwd: Path) -> str:
    """Run to the end (bounded), assert success, return stdout and stderr together."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out}"
    return out


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh `git clone` of the project: committed files only, no DVC cache."""
    repo = tmp_path_factory.mktemp("page") / "clone"
    run(["git", "clone", "-q", str(ROOT), str(repo)], ROOT)
    assert not (repo / "plots" / "imdb" / "data").exists()  # the cached output it lacks
    return repo


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through the system chromedriver, so Selenium Manager never
    tries to download a driver or a browser."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: {INSTALL}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)  # --no-sandbox: CI runs as root
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def images(driver) -> list[dict]:
    """Every <img> of the loaded page: its src and whether it decoded to a real image."""
    return driver.execute_script(
        "return Array.from(document.images).map(i => "
        "({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}));"
    )


def screenshot(driver, path: Path) -> None:
    """The whole page (window as tall as the document, within Chromium's limits)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height), 16000))
    assert driver.save_screenshot(str(path)), path


def all_figures(repo: Path) -> list[Path]:
    """Every figure the plots stages committed, for every task in params.yaml."""
    params = load_params(repo / "params.yaml")
    return [f for task in report.titles(params) for f in page.figures(task, repo / "plots")]


def test_markdown_subset_renders_tables_lists_code_and_underscored_names():
    text = (
        "Intro with `a_b` and **bold**.\n\n| A | B |\n| --- | --- |\n"
        "| _arima_2_1_2_ (baseline) | x < y |\n\n- **t**: said\n\n```text\n<b>\n```\n"
    )
    out = page.markdown_to_html(text).replace("\n", "")
    assert "<p>Intro with <code>a_b</code> and <strong>bold</strong>.</p>" in out
    assert "<th>A</th><th>B</th>" in out and "---" not in out
    assert "<td><em>arima_2_1_2</em> (baseline)</td><td>x &lt; y</td>" in out
    assert "<ul><li><strong>t</strong>: said</li></ul>" in out
    assert '<pre><code class="language-text">&lt;b&gt;</code></pre>' in out


def test_the_page_escapes_names_and_links_every_figure(tmp_path):
    (tmp_path / "plots" / "t<1>").mkdir(parents=True)
    (tmp_path / "plots" / "t<1>" / "forecast.png").write_bytes(b"png")
    out = page.page("| A |\n| --- |\n| x |\n", {"t<1>": "T & co"}, tmp_path / "plots", tmp_path)
    assert "<h3>T &amp; co</h3>" in out and 'id="figures-t&lt;1&gt;"' in out
    assert '<img src="plots/t&lt;1&gt;/forecast.png" alt="t&lt;1&gt;: forecast">' in out
    assert "<td>x</td>" in out and out.endswith("</html>\n")


def test_committed_results_html_matches_the_metrics_and_the_figures(monkeypatch):
    monkeypatch.chdir(ROOT)
    params = load_params()
    expected = report.html_page(params, report.render(params))
    assert (ROOT / "results.html").read_text(encoding="utf-8") == expected, (
        "results.html is stale: run `python -m stages.report` (or `dvc repro report`)"
    )


@pytest.mark.pipeline
def test_fresh_clone_page_has_every_figure_and_the_table_in_chromium(clone, browser, tmp_path):
    committed = (clone / "results.html").read_text(encoding="utf-8")
    run([sys.executable, "-m", "stages.report"], clone)  # no DVC, no cache: committed files
    assert (clone / "results.html").read_text(encoding="utf-8") == committed
    browser.get((clone / "results.html").as_uri())
    shown = images(browser)
    expected = {f.relative_to(clone).as_posix() for f in all_figures(clone)}
    assert {i["src"] for i in shown} == expected and len(expected) >= 20
    assert [i["src"] for i in shown if not i["ok"]] == []
    tables = browser.find_elements("css selector", "#results table")
    params = load_params(clone / "params.yaml")
    assert len(tables) == 1 + len(params["text_tasks"])
    first_column = {
        td.text for td in tables[0].find_elements("css selector", "tbody tr td:first-child")
    }
    assert set(params["tasks"]) <= first_column
    for cfg in params["text_tasks"].values():
        assert cfg["title"] in browser.find_element("id", "results").text
    targets = browser.find_elements("css selector", "#targets table:first-of-type tbody tr")
    assert len(targets) == len(params["targets"])  # the targets table, its own section
    backtests = browser.find_elements("css selector", "#targets table")[1:]
    assert len(backtests) == len(params["backtests"])  # then one backtest table per task
    screenshot(browser, tmp_path / "results.png")
    assert (tmp_path / "results.png").stat().st_size > 10_000


@pytest.mark.pipeline
def test_dvc_plots_show_writes_one_page_in_a_fresh_clone(clone, browser, tmp_path):
    """Every top-level and stage plot is a git-tracked PNG, so DVC draws them all."""
    out = tmp_path / "dvc_plots"
    log = run([sys.executable, "-m", "dvc", "plots", "show", "-o", str(out)], clone)
    assert "failed to load" not in log, log
    browser.get((out / "index.html").as_uri())
    shown = images(browser)
    assert len(shown) == len(all_figures(clone)), [i["src"] for i in shown]
    assert [i["src"] for i in shown if not i["ok"]] == []
    screenshot(browser, tmp_path / "dvc_plots.png")
