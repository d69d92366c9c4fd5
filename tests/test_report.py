"""`snakemake --report`: every figure with its caption and measured numbers, the summary table; rendered in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from slurm.workflow import snakemake

pytestmark = pytest.mark.slow

FIGURES = ["fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Appended to a copy of the report: shows every PNG result in the report's own
# image view (the React app's `app.setView`), waits for the <img> to load and
# writes each figure's decoded size into <pre id="figure-check">.
CHECK_SCRIPT = """
<script>
window.addEventListener("load", async () => {
  const sizes = {};
  for (let i = 0; i < 400 && !(typeof app !== "undefined" && app); i++) await new Promise(r => setTimeout(r, 25));
  for (const [path, entry] of Object.entries(results)) {
    if (!path.endsWith(".png")) continue;
    app.setView({content: "img", contentPath: entry.data_uri});
    let img = null;
    for (let i = 0; i < 200; i++) {
      img = document.querySelector("#app img[src^='data:image/png']");
      if (img && img.getAttribute("src") === entry.data_uri && img.complete) break;
      await new Promise(r => setTimeout(r, 25));
    }
    sizes[path] = img && img.getAttribute("src") === entry.data_uri ? [img.naturalWidth, img.naturalHeight] : [0, 0];
  }
  const out = document.createElement("pre");
  out.id = "figure-check";
  out.textContent = JSON.stringify(sizes);
  document.body.appendChild(out);
});
</script>
"""


def report_results(html: str) -> dict:
    """The report's embedded `results` object: path -> entry (caption, labels, data_uri, ...)."""
    match = re.search(r'<script id="results">\s*var results = (.*?);\s*</script>', html, re.S)
    assert match, "no results in the report"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def report(small_digits_run) -> Path:
    workdir = small_digits_run.parent
    out = snakemake(workdir, "--report", "results/report.html")
    assert out.returncode == 0, out.stderr[-3000:]
    return small_digits_run / "report.html"


def test_report_holds_every_figure_with_caption_and_measured_numbers(report):
    results = report_results(report.read_text())
    for fig in FIGURES:
        entry = results.get(f"results/{fig}_digits.png")
        assert entry is not None, f"{fig} missing from the report"
        assert "Paper:" in entry["caption"] and "This run:" in entry["caption"], fig
        assert entry["labels"]["dataset"] == "digits"
    fig5 = results["results/fig5_digits.png"]["labels"]
    assert re.fullmatch(r"\d+ \(\d\.\d{3}\)", fig5["fitted K (RMSE)"])  # this run's fitted K and its RMSE
    assert "random 0.20" in fig5["CNN test accuracy (mean over seeds)"]
    summary = results["results/summary_digits.csv"]
    assert summary["data_uri"].startswith("data:text/csv")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium) for the render check")
def test_every_figure_renders_in_headless_chromium(report, tmp_path):
    page = tmp_path / "report_check.html"
    html = report.read_text()
    end = html.rindex("</body>")  # the last one: embedded libraries contain the string too
    page.write_text(html[:end] + CHECK_SCRIPT + html[end:])
    out = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=60000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    match = re.search(r'<pre id="figure-check">(.*?)</pre>', out.stdout, re.S)
    assert match, out.stderr[-3000:]
    sizes = json.loads(match.group(1).replace("&quot;", '"'))
    assert {f"results/{fig}_digits.png" for fig in FIGURES} <= set(sizes)
    assert all(width > 100 and height > 100 for width, height in sizes.values()), sizes


ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--virtual-time-budget=20000", *args],
        capture_output=True, text=True, timeout=180,
    )


def test_the_report_opens_on_what_the_run_is(report):
    """The landing page (rule run_description): data and split sizes, nets, seeds, levels, the resolved config."""
    html = report.read_text()
    for text in ("This run of the labelnoise workflow", "arXiv:1803.11410", "1,258 for training",
                 "269 clean validation", "270 test", "paper_cnn at width 0.25, fc 128", "1 network per noise level",
                 "random 0.20; flip 0.40; confusion 0.20; concentrated 5", "Not like for like",
                 "Resolved configuration", "targets: [digits]"):
        assert text in html, text
    summary = report_results(html)["results/summary_digits.html"]
    assert summary["data_uri"].startswith("data:text/html")  # shown as a table, not only offered as a download


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium) for the screenshot")
def test_a_screenshot_of_the_reports_first_page_shows_the_run(report, tmp_path):
    """The first page in headless Chromium: kept as tests/artifacts/report_first_page.png, its text checked."""
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report_first_page.png"
    shot = chromium("--window-size=1280,1400", f"--screenshot={screenshot}", report.as_uri(), profile=tmp_path / "a")
    assert screenshot.exists() and screenshot.stat().st_size > 20_000, shot.stderr[-2000:]
    dom = chromium("--window-size=1280,1400", "--dump-dom", report.as_uri(), profile=tmp_path / "b").stdout
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))
    for text in ("This run of the labelnoise workflow", "1,258 for training", "Resolved configuration"):
        assert text in shown, text
