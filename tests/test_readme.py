"""The documentation: README.md and docs/**/*.md write their result tables from committed reference files, never by
hand; their links resolve; the layout page points at real code; the README stays a front door."""

import re
from pathlib import Path

import pandas as pd
import pytest

from labelnoise.reference import MARKER, RESULTS_PAGES, documentation_pages, main, page_title, render_readme, render_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = documentation_pages(ROOT)


def _specs(page: Path) -> list[str]:
    return [m["spec"] for m in MARKER.finditer(page.read_text())]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_page_s_tables_are_those_of_the_reference_files(page):
    text = page.read_text()
    assert render_readme(text, ROOT, page) == text, f"{page} differs from docs/reference: run python -m labelnoise.reference readme"


def test_each_run_s_tables_are_on_its_results_page_and_the_readme_shows_the_default():
    readme = _specs(README)
    assert any(s.startswith("docs/reference/mnist5k ") for s in readme), "the default run's table must come from its reference"
    assert any(s.startswith("runs ") for s in readme), "the other runs' times must come from their run.csv"
    runs = sorted(path.name for path in (ROOT / "docs" / "reference").iterdir() if path.is_dir())
    assert {"cifar10_cpu", "gpu", "mnist5k", "mnist_full"} <= set(runs)
    for run in runs:  # every reference run has a results page, docs/results/<run>.md, whose tables are its own
        specs = _specs(ROOT / RESULTS_PAGES / f"{run}.md")
        assert specs and all(s.startswith(f"docs/reference/{run}") or s.startswith("docs/reference/bench_") for s in specs), run


def test_each_results_page_title_names_its_run_s_config():
    """The README's list of runs shows each page's title: it names the config file the run used."""
    for run_file in sorted((ROOT / "docs" / "reference").glob("*/run.csv")):
        config = pd.read_csv(run_file)["config"].iloc[0]
        assert f"`{config}`" in page_title(ROOT / RESULTS_PAGES / f"{run_file.parent.name}.md"), run_file


def test_check_mode_fails_on_a_hand_edited_number(tmp_path, capsys):
    text = README.read_text()
    block = next(MARKER.finditer(text))
    body = block["body"]
    first_number = next(tok for tok in body.split() if tok.replace(".", "").isdigit() and "." in tok)
    edited = text.replace(body, body.replace(first_number, "0.123", 1))
    (tmp_path / "README.md").write_text(edited)
    (tmp_path / "docs").symlink_to(ROOT / "docs")  # the reference files the blocks name
    assert main(["readme", "--readme", str(tmp_path / "README.md"), "--check"]) == 1
    assert "differ" in capsys.readouterr().err
    assert main(["readme", "--readme", str(tmp_path / "README.md")]) == 0
    assert (tmp_path / "README.md").read_text() == text


def _reference(folder: Path, best_k: int) -> None:
    folder.mkdir(parents=True)
    rows = []
    for noise, level, gamma in (("random", "0.00", 0.0), ("random", "0.80", 0.8), ("flip", "0.40", 0.4), ("concentrated", "5", 0.2)):
        rows.append(dict(dataset="d", noise=noise, level=level, nominal_gamma=gamma, corrupted_fraction=gamma,
                         realised_gamma=gamma * (0.9 if noise == "random" else 1.0), n_seeds=2, cnn_acc_mean=0.9 - gamma / 2,
                         cnn_acc_std=0.01, fitted_K=best_k if noise != "concentrated" else None,
                         analytic_acc_fitted_K=0.95 - gamma / 2 if noise != "concentrated" else None,
                         knn_K=11, knn_acc=0.85 - gamma / 2, paper_claim=""))
    pd.DataFrame(rows).to_csv(folder / "summary.csv", index=False)
    for noise in ("random", "flip", "confusion"):
        pd.DataFrame({"K": [1, 11, 101], "rmse": [0.3, 0.1, 0.2], "best": [k == best_k for k in (1, 11, 101)]}).to_csv(
            folder / f"fit_{noise}.csv", index=False)
    pd.DataFrame([{"median_chi2": 0.01, "median_preferred_K": 10, "fraction_tied": 0.5}]).to_csv(folder / "appendix_a.csv", index=False)
    pd.DataFrame([{"config": "c.yaml", "command": "snakemake", "jobs": 9, "wall_s": 125, "machine": "m", "torch": "t",
                   "date": "2026-11-25"}]).to_csv(folder / "run.csv", index=False)


def test_table_shows_the_chosen_levels_and_flags_a_k_at_the_grid_edge(tmp_path):
    _reference(tmp_path / "ref", best_k=101)
    table = render_table(tmp_path, "ref random=0.80 flip=0.40 concentrated=5")
    assert "| none | 0 | 0.900 ± 0.010 |" in table
    assert "| random | 0.80 | 0.500 ± 0.010 | 0.550 (K = 101) | 0.450 |" in table
    assert "0.900 (1 - gamma): 0.720" in table and "(gamma 0.20)" in table  # clean accuracy 0.9 times 1 - 0.2
    assert "| ~100% (Fig. 4) |" in table  # the paper's clean MNIST accuracy where the run records no source
    assert "random K = 101, RMSE 0.200 (edge of the K grid: no fit)" in table
    assert "9 jobs in 2 min 5 s" in table
    _reference(tmp_path / "inner", best_k=11)
    assert "edge of the K grid" not in render_table(tmp_path, "inner random=0.80")
    run = pd.read_csv(tmp_path / "inner" / "run.csv").assign(source="cifar10")
    run.to_csv(tmp_path / "inner" / "run.csv", index=False)
    assert "| ~90% with All-CNN-C (Fig. 4) |" in render_table(tmp_path, "inner random=0.80")


def test_a_level_the_reference_lacks_is_named(tmp_path):
    _reference(tmp_path / "ref", best_k=11)
    with pytest.raises(ValueError, match=r"no random level\(s\) \['0.90'\]"):
        render_table(tmp_path, "ref random=0.80,0.90")


LAYOUT_ENTRY = re.compile(r"`([\w./]+\.(?:py|smk|yaml)|Snakefile)(?::(\w+))?`")
LAYOUT = ROOT / "docs" / "layout.md"


def _layout_rows() -> list[tuple[str, str]]:
    return [(line.split("|")[1].strip(), line.split("|")[2]) for line in LAYOUT.read_text().splitlines()
            if line.startswith("| ") and not line.startswith("| ---") and not line.startswith("| looking for")]


def test_layout_page_names_code_that_exists():
    """Every `file:name` of docs/layout.md's table is a file holding that def, class or rule."""
    entries = [match.groups() for _, where in _layout_rows() for match in LAYOUT_ENTRY.finditer(where)]
    assert len(entries) >= 30
    for path, name in entries:
        file = ROOT / path
        assert file.is_file(), path
        if name:
            pattern = rf"^\s*(def|class|rule) {name}\b" if path.endswith((".py", ".smk")) or path == "Snakefile" else name
            assert re.search(pattern, file.read_text(), re.M), f"{path} has no {name}"


def test_layout_page_finds_what_a_newcomer_looks_for():
    """Each of these leads to exactly one row of the layout table."""
    rows = _layout_rows()
    for wanted in ("early stopping", "concentrated noise", "fitted K", "Fig. 8"):
        hits = [what for what, _ in rows if wanted in what]
        assert len(hits) == 1, (wanted, hits)


FENCED = re.compile(r"^```.*?^```", re.S | re.M)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(!?)\[[^\[\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _relative_links(text: str) -> list[tuple[bool, str]]:
    """(is an image, target) of every Markdown link outside code that is not a URL or an anchor."""
    text = CODE_SPAN.sub("``", FENCED.sub("", text))
    return [(bang == "!", target) for bang, target in LINK.findall(text)
            if not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("#")]


def test_links_are_read_outside_code_only():
    text = "[a](b.md) ![c](d/e.png) [`f`](g.md#h) [i](https://x.org) [j](#k) `[l](m.md)`\n```\n[n](o.md)\n```\n"
    assert _relative_links(text) == [(False, "b.md"), (True, "d/e.png"), (False, "g.md#h")]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_and_image_resolves(page):
    for _, target in _relative_links(page.read_text()):
        assert (page.parent / target.split("#")[0]).exists(), f"{page.relative_to(ROOT)} links {target}, which does not exist"


def test_results_pages_show_their_figures_and_the_readme_links_every_page():
    for page in (ROOT / RESULTS_PAGES).glob("*.md"):
        images = [target for image, target in _relative_links(page.read_text()) if image]
        assert images or page.stem == "gpu", f"{page.name} shows no figure"
    linked = {(ROOT / target.split("#")[0]).resolve() for _, target in _relative_links(README.read_text())}
    for page in PAGES[1:]:
        if len(page.relative_to(ROOT).parts) <= 3:  # docs/*.md, docs/*/*.md; a reference run's own notes hang off its index
            assert page.resolve() in linked, f"README.md does not link {page.relative_to(ROOT)}"


def test_readme_stays_a_front_door_and_ci_runs_its_test_command():
    text = README.read_text()
    assert len(text.splitlines()) <= 250, "README.md is the front door: move detail to a page under docs/"
    commands = re.findall(r"```bash\n(.*?)\n```", text[text.index("## The two commands"):], re.S)
    test_command = next(command for command in commands if "pytest" in command)
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci[-1] == test_command, ".ci/run must run exactly the README's test command"


def test_fig13_and_recipe_tables_are_rendered_from_their_files(tmp_path):
    from labelnoise.reference import render_block

    curves = pd.DataFrame([dict(dataset="d", noise=noise, level=level, nominal_gamma=float(level), realised_gamma_mean=0.0,
                                protocol=protocol, n_seeds=2, test_acc_mean=acc, test_acc_std=0.01, step_mean=10.0,
                                fitted_K=k, rmse=0.05, analytic_acc=acc)
                           for noise, k in (("random", 51), ("flip", 11)) for level in ("0.50", "0.90")
                           for protocol, acc in (("clean_val", 0.9), ("label_wave", 0.7), ("final", 0.6))])
    curves.to_csv(tmp_path / "fig13.csv", index=False)
    table = render_block(tmp_path, "fig13.csv")
    assert "| random | 0.90 | 0.900 ± 0.010 | 0.700 ± 0.010 | 0.600 ± 0.010 |" in table
    assert "noisy validation" not in table.splitlines()[0]  # a protocol that was not measured has no column
    assert "flip, Label Wave: K = 11, RMSE 0.050" in table
    pd.DataFrame([dict(dataset="d", noise="flip", level="0.50", nominal_gamma=0.5, protocol="final", true_label=0.5,
                       counterpart=0.45, other=0.05, tie_gap_mean=0.2, tie_gap_median=0.1)]).to_csv(tmp_path / "fig13_flip.csv", index=False)
    assert "| 0.50 | no selection | 0.500 | 0.450 | 0.050 | 0.200 (0.100) |" in render_block(tmp_path, "fig13_flip.csv")
    published = render_block(ROOT / "docs" / "reference" / "mnist5k", "fig13.csv")  # config levels, then Fig. 13's extra ones
    flip_levels = [float(line.split("|")[2]) for line in published.splitlines() if line.startswith("| flip |")]
    assert len(flip_levels) > 3 and flip_levels == sorted(flip_levels)
    recipe = render_block(ROOT / "docs" / "reference" / "cifar10_cpu", "recipe_cpu.csv")
    assert "| allcnn_c_nodropout, width 0.25 | 0 | sgd, 0.1, onecycle | 4 | 195 steps |" in recipe


def test_runs_list_links_each_results_page_with_the_run_s_measured_time(tmp_path):
    from labelnoise.reference import render_block

    _reference(tmp_path / "docs" / "reference" / "ref", best_k=11)
    (tmp_path / "docs" / "reference" / "bench").mkdir()
    (tmp_path / "docs" / "results").mkdir()
    (tmp_path / "docs" / "results" / "ref.md").write_text("# A run: `c.yaml`\n\ntext\n")
    (tmp_path / "docs" / "results" / "bench.md").write_text("# Benchmarks only\n")
    spec = "runs docs/reference/ref docs/reference/bench"
    lines = render_block(tmp_path, spec).splitlines()
    assert lines[0] == "- [A run: `c.yaml`](docs/results/ref.md): 9 jobs in 2 min 5 s on m (torch t, 2026-11-25)."
    assert lines[1].startswith("- [Benchmarks only](docs/results/bench.md): not run whole yet (no `docs/reference/bench/run.csv`)")
    from_a_page = render_block(tmp_path, spec, tmp_path / "docs" / "running.md")  # links relative to the page that holds them
    assert "(results/ref.md)" in from_a_page


def test_readme_command_rewrites_every_page_that_differs_and_only_those(tmp_path, capsys):
    _reference(tmp_path / "docs" / "reference" / "ref", best_k=11)
    block = "<!-- reference-table docs/reference/ref random=0.80 -->\n{}<!-- end reference-table -->\n"
    table = render_table(tmp_path, "docs/reference/ref random=0.80")
    (tmp_path / "README.md").write_text("# Readme\n\n" + block.format(table))
    page = tmp_path / "docs" / "results" / "ref.md"
    page.parent.mkdir(parents=True)
    page.write_text("# Ref\n\n" + block.format(table.replace("0.500 ± 0.010", "0.600 ± 0.010")))
    assert main(["readme", "--root", str(tmp_path), "--check"]) == 1
    assert str(page) in capsys.readouterr().err and page.read_text().count("0.600 ± 0.010") == 1  # check writes nothing
    assert main(["readme", str(page), "--root", str(tmp_path)]) == 0  # one page, named
    assert main(["readme", "--root", str(tmp_path), "--check"]) == 0
    assert page.read_text() == "# Ref\n\n" + block.format(table)


def test_reference_runs_name_data_folders_as_the_docs_do_not_by_a_machines_absolute_path():
    for run in (ROOT / "docs" / "reference").glob("*/run.csv"):
        command = pd.read_csv(run)["command"].iloc[0]
        assert not re.search(r"[ =:]/(work|home|root|tmp|data)\b", command), f"{run}: {command}"
