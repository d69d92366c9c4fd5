"""Reference results: a real run's tables published under docs/reference/, and the documentation's tables written from them.

A reference folder holds what one run of the workflow measured, copied from
its ``results/``: the summary table (``summary.csv``), the K fits of Figs. 5-7
(``fit_{noise}.csv``), the Appendix A summary (``appendix_a.csv``) and
``run.csv`` (configuration file, command, machine, jobs, wall time). The
result tables of README.md and of every page under docs/ are never typed by
hand: each sits between two markers

    <!-- reference-table docs/reference/mnist5k random=0.60,0.80,0.90 flip=0.40,0.50,0.60 -->
    ...
    <!-- end reference-table -->

and :func:`render_block` writes it from what the marker names (paths relative
to the repository, whichever page holds the block): a reference folder with
the levels it lists per noise type, a measured CSV, a text file, or
``runs FOLDER ...``, one line per run linking its results page
(``docs/results/<folder name>.md``). ``python -m labelnoise.reference readme``
rewrites every such block of README.md and docs/**/*.md; tests/test_readme.py
fails when a page and its reference files disagree.

    python -m labelnoise.reference publish --results results --dataset mnist --out docs/reference/mnist_full \\
        --config configs/mnist_full.yaml --run-command "snakemake --cores all ..." --wall-s 3012 --jobs 77
    python -m labelnoise.reference readme            # rewrite the tables of README.md and docs/**/*.md
    python -m labelnoise.reference readme --check    # only say whether they are up to date
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from labelnoise.analytic import best_fit
from labelnoise.analytic import concentrated_noise_accuracy
from labelnoise.appendix_a import PAPER_MEDIAN_CHI2
from labelnoise.io import save_csv
from labelnoise.selection import PROTOCOLS
from labelnoise import noise_types
MARKER = re.compile(r"<!-- reference-table (?P<spec>[^>]*?) -->\n(?P<body>.*?)<!-- end reference-table -->", re.S)
#: The paper's clean accuracy per data source (Fig. 4); MNIST where a run records no source.
CLEAN_CLAIMS = {"cifar10": "~90% with All-CNN-C (Fig. 4)"}
#: What the paper says of its CIFAR-10 curves (Section 5: not perfectly learnable, the general case of Eq. 3),
#: where it differs from the MNIST claims of labelnoise.noise_types.
CIFAR10_CLAIMS = {
    "random": "falls before 90%; the general-case analytic K-NN matches (Figs. 4(e), 5(d-f))",
    "flip": "collapses near 50%; the general-case analytic K-NN matches (Figs. 4(f), 6(d-f))",
    "confusion": "the general-case analytic K-NN matches (Fig. 7)",
}


def publish(results: Path, dataset: str, out: Path, config: str, command: str, wall_s: float, jobs: int) -> None:
    """Copy one run's tables and figure PNGs of ``dataset`` from ``results`` into the reference folder ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(results / f"summary_{dataset}.csv", out / "summary.csv")
    for noise in noise_types.names(theory="class_conditional"):
        shutil.copyfile(results / dataset / "analytic" / f"{noise}_fit.csv", out / f"fit_{noise}.csv")
    shutil.copyfile(results / dataset / "appendix_a" / "summary.csv", out / "appendix_a.csv")
    shutil.copyfile(results / dataset / "clean" / "train.csv", out / "clean_model.csv")
    for figure in ("fig10", "fig11", "fig12", "fig13", "fig13_flip"):  # the tables of the figures past the paper
        if (results / f"{figure}_{dataset}.csv").exists():
            shutil.copyfile(results / f"{figure}_{dataset}.csv", out / f"{figure}.csv")
    for png in sorted(results.glob(f"fig*_{dataset}.png")):  # the figures, shown on the results pages (docs/results/)
        shutil.copyfile(png, out / png.name.replace(f"_{dataset}", ""))
    import torch  # only for its version; rendering the pages needs no torch

    with np.load(results / "data" / f"{dataset}.npz") as prepared:
        source = str(prepared["source"])
    save_csv(out / "run.csv", pd.DataFrame([{
        "source": source, "config": config, "command": command, "jobs": jobs, "wall_s": round(float(wall_s)),
        "machine": f"{_cpu_name()}, {os.cpu_count()} cores", "torch": torch.__version__,
        "date": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d"),
    }]))


def _cpu_name() -> str:
    """The CPU model as /proc/cpuinfo names it (Linux), else what the platform module says."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    return names[0] if names else platform.processor()


def _levels(spec: str) -> tuple[Path, dict[str, list[str]]]:
    folder, *pairs = spec.split()
    levels = {}
    for pair in pairs:
        noise, _, values = pair.partition("=")
        levels[noise] = values.split(",")
    return Path(folder), levels


def _rows(summary: pd.DataFrame, noise: str, levels: list[str]) -> pd.DataFrame:
    rows = summary[(summary["noise"] == noise)].set_index("level")
    missing = [level for level in levels if level not in rows.index]
    if missing:
        raise ValueError(f"reference summary has no {noise} level(s) {missing}; levels there: {list(rows.index)}")
    return rows.loc[levels]


def _fit(folder: Path, noise: str) -> str:
    fit = pd.read_csv(folder / f"fit_{noise}.csv")
    k, rmse = best_fit(fit)
    grid = fit["K"].astype(int)
    edge = " (edge of the K grid: no fit)" if k in (grid.min(), grid.max()) and len(grid) > 1 else ""
    return f"K = {k}, RMSE {rmse:.3f}{edge}"


def _duration(wall_s: float) -> str:
    """A run's wall time as the pages write it: ``56 min 25 s``."""
    minutes, seconds = divmod(int(wall_s), 60)
    return f"{minutes} min {seconds} s"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a Markdown table: the header, its separator, one line per row of cells."""
    return ["| " + " | ".join(cells) + " |" for cells in [header, ["---"] * len(header), *rows]]


def render_table(root: Path, spec: str) -> str:
    """The Markdown of one block of a page: the chosen levels of a reference run, and its headline numbers."""
    folder, levels = _levels(spec)
    folder = root / folder
    summary = pd.read_csv(folder / "summary.csv", dtype={"level": str})
    if "train_fraction" in summary:  # the rows of Fig. 11's smaller training sets are not the paper's grid
        summary = summary[summary["train_fraction"] == 1.0]
    run = pd.read_csv(folder / "run.csv").iloc[0]
    appendix = pd.read_csv(folder / "appendix_a.csv").iloc[0]
    knn_k = summary["knn_K"].dropna()
    knn_header = f"real {int(knn_k.iloc[0])}-NN in the clean feature space" if len(knn_k) and knn_k.nunique() == 1 else "real K-NN"
    header = ["noise", "level", f"CNN test accuracy (mean ± std, {int(summary['n_seeds'].max())} seeds)",
              "analytic K-NN (Eq. 2) at the fitted K", knn_header, "the paper"]
    rows = []
    random = summary[summary["noise"] == "random"]
    clean = random[random["level"].astype(float) == 0.0]
    a0 = float(clean["cnn_acc_mean"].iloc[0]) if len(clean) else 1.0  # Section 5's prediction for concentrated noise
    prediction_text = "1 - gamma" if a0 == 1.0 else f"{a0:.3f} (1 - gamma)"
    if len(clean):
        row = clean.iloc[0]
        rows.append(["none", "0", f"{row.cnn_acc_mean:.3f} ± {row.cnn_acc_std:.3f}", f"{row.analytic_acc_fitted_K:.3f}",
                     f"{row.knn_acc:.3f}", CLEAN_CLAIMS.get(run.get("source"), "~100% (Fig. 4)")])
    for noise, chosen in levels.items():
        chosen_rows = _rows(summary, noise, chosen)
        cnn = " / ".join(f"{r.cnn_acc_mean:.3f} ± {r.cnn_acc_std:.3f}" for r in chosen_rows.itertuples())
        knn = " / ".join(f"{r.knn_acc:.3f}" for r in chosen_rows.itertuples())
        if noise == "concentrated":
            shown = " / ".join(chosen_rows.index) + " (gamma " + " / ".join(f"{g:.2f}" for g in chosen_rows["realised_gamma"]) + ")"
            analytic = f"{prediction_text}: " + " / ".join(
                f"{a:.3f}" for a in concentrated_noise_accuracy(chosen_rows["realised_gamma"], a0))
        else:
            shown = " / ".join(chosen_rows.index)
            analytic = (" / ".join(f"{a:.3f}" for a in chosen_rows["analytic_acc_fitted_K"])
                        + f" (K = {int(chosen_rows['fitted_K'].iloc[0])})")
        claims = CIFAR10_CLAIMS if run.get("source") == "cifar10" else {}
        rows.append([noise_types.get(noise).short, shown, cnn, analytic, knn, claims.get(noise, noise_types.get(noise).paper_claim)])
    lines = markdown_table(header, rows)
    fits = "; ".join(f"{noise} {_fit(folder, noise)}" for noise in noise_types.names(theory="class_conditional")
                     if (folder / f"fit_{noise}.csv").exists())
    flipped = summary[summary["noise"] == "concentrated"]
    concentrated = ""
    if len(flipped):
        deviation = (flipped["cnn_acc_mean"] - concentrated_noise_accuracy(flipped["realised_gamma"], a0)).abs()
        concentrated = (f"Concentrated noise: largest |accuracy - {prediction_text}| {deviation.max():.3f} "
                        f"(k = {flipped['level'].iloc[int(deviation.argmax())]}). ")
    other_readings = (f"; without the 1/2 {appendix['median_chi2_full']:.3g}, Pearson's with the softmax as expected "
                      f"{appendix['median_chi2_pearson']:.3g}" if "median_chi2_pearson" in appendix else "")
    lines += [
        "",
        f"Fitted K (RMSE of the analytic curve to the CNN's mean curve, Figs. 5-7): {fits}. "
        f"{concentrated}"
        f"Appendix A: median chi-square {appendix['median_chi2']:.3g} (the paper: {PAPER_MEDIAN_CHI2} on CIFAR-10){other_readings}, "
        f"median preferred K {appendix['median_preferred_K']:g}"
        + (f", {appendix['fraction_at_K_min']:.0%} of test samples at the smallest K ({appendix['K_min']:g})"
           if "fraction_at_K_min" in appendix else "")
        + f"; for {appendix['fraction_tied']:.0%} of test samples several K share the smallest distance. "
        f"Run: `{run['command']}` ({run['config']}), {int(run['jobs'])} jobs in {_duration(run['wall_s'])} on "
        f"{run['machine']}, torch {run['torch']}, {run['date']}; tables in `{folder.relative_to(root)}/`.",
        "",
    ]
    return "\n".join(lines)


def render_eval_sweep(path: Path) -> str:
    """Mean clean-validation accuracy by evaluation interval, per noise level and recipe, from a recipe sweep."""
    sweep = pd.read_csv(path, dtype={"eval_every": str})
    sweep = sweep[sweep["sweep"] == sweep["sweep"].min()]  # the sweep that varied eval_every
    keys = ["noise", "level", "width", "lr", "batch_size"]
    table = sweep.groupby(keys + ["eval_every"])["val_acc"].mean().unstack("eval_every")
    intervals = sorted((c for c in table.columns if c != "epoch"), key=int) + ["epoch"]
    seeds = int(sweep.groupby(keys + ["eval_every"]).size().min())
    header = ["noise", "level", "Adam lr", "batch"] + [f"every {c} steps" if c != "epoch" else "once per epoch" for c in intervals]
    lines = markdown_table(header, [[noise, f"{level:g}", f"{lr:g}", f"{batch}"] + [f"{row[c]:.4f}" for c in intervals]
                                    for (noise, level, _width, lr, batch), row in table.iterrows()])
    machine = sweep["machine"].iloc[0].split(",")[0]
    return "\n".join(lines) + f"\n\nClean validation accuracy, mean of {seeds} seeds per cell, quarter-width net ({machine}, bf16; `{path.name}`).\n"


def render_recipe(path: Path) -> str:
    """The recipe runs behind a CPU config (bench/recipe.py rows): settings, clean validation accuracy, wall time."""
    runs = pd.read_csv(path)
    lines = markdown_table(
        ["net", "random noise", "optimiser, lr, schedule", "epochs", "evaluated every", "clean validation accuracy", "wall time per net"],
        [[f"{row.arch}, width {row.width:g}", f"{row.level:g}", f"{row.optimizer}, {row.lr:g}, {row.lr_schedule}", f"{row.max_epochs}",
          "epoch" if row.eval_every == "epoch" else f"{row.eval_every} steps", f"{row.val_acc:.4f}", f"{row.wall_s:.0f} s"]
         for row in runs.itertuples()])
    augment = "flips and 2-pixel translations" if runs["hflip"].all() and (runs["translate"] == 2).all() else "see the file"
    return "\n".join(lines) + (f"\n\nOne seed per row, batch {runs['batch_size'].iloc[0]}, augmentation: {augment}; "
                               f"{runs['machine'].iloc[0]} (`{path.name}`).\n")


def render_parity(path: Path) -> str:
    """fp32 vs bf16 test accuracy per machine and noise level, from the parity runs."""
    runs = pd.read_csv(path)
    table_rows = []
    for (machine, level, batch, every), rows in runs.groupby(["machine", "level", "batch_size", "eval_every"], sort=True):
        cells = []
        for precision in ("fp32", "bf16"):
            values = rows.loc[rows["precision"] == precision, "test_acc"]
            spread = f" ± {values.std():.4f}" if len(values) > 1 else ""
            cells.append(f"{values.mean():.4f}{spread} ({len(values)})" if len(values) else "-")
        table_rows.append([machine, f"{level:g}", f"{batch}, every {every} steps", *cells])
    lines = markdown_table(["machine", "random noise", "Adam lr 0.007, batch, validation", "fp32 test accuracy (seeds)",
                            "bf16 test accuracy (seeds)"], table_rows)
    return "\n".join(lines) + f"\n\nMean ± std over seeds (`{path.name}`).\n"


def render_fig10(path: Path) -> str:
    """Fig. 10 at the least and the most noise of each noise type: agreement at the effective K against chance."""
    table = pd.read_csv(path, dtype={"level": str})
    table_rows = []
    for noise, rows in table.groupby("noise", sort=False):
        for row in rows.sort_values("nominal_gamma").iloc[[0, -1]].itertuples():
            edge = "+" if row.K_at_grid_edge else ""
            seeds = (f"; seeds {row.effective_K_seed_min:.0f}-{row.effective_K_seed_max:.0f}"
                     if pd.notna(getattr(row, "effective_K_seed_min", float("nan"))) else "")
            table_rows.append([noise, row.level, f"{row.cnn_accuracy_mean:.3f}", f"{row.agreement_mean:.3f} (K = {row.effective_K}{edge}{seeds})",
                               f"{row.chance_agreement_mean:.3f}", f"{row.same_wrong_label_mean:.2f}"])
    lines = markdown_table(["noise", "level", "CNN test accuracy", "agreement with K-NN at the effective K", "by chance",
                            "CNN errors where the K-NN has the same wrong label"], table_rows)
    return "\n".join(lines) + (f"\n\nMean over seeds; chance: two classifiers with these per-class predictions, independent given "
                               f"the class; K+ is the largest K measured, a lower bound; seeds: the smallest and largest of the seeds' own effective K, where recorded (`{path.name}`).\n")


def render_fig11(path: Path) -> str:
    """Fig. 11: the fitted K of random noise and the CNN's accuracy per training-set size."""
    table = pd.read_csv(path, dtype={"level": str})
    level = table["level"].iloc[0]
    rows = []
    for row in table.sort_values("n_train_per_class").itertuples():
        edge = " (top of the K grid: a lower bound)" if row.K_at_grid_edge else ""
        spread = f" ± {row.cnn_acc_std:.3f}" if pd.notna(row.cnn_acc_std) else ""
        rows.append([f"{row.n_train_per_class:.0f}", f"{row.fitted_K} ({row.rmse:.3f}){edge}", f"{row.cnn_acc_mean:.3f}{spread}"])
    lines = markdown_table(["training samples per class", "fitted K (RMSE)", f"CNN test accuracy at random noise {level}"], rows)
    return "\n".join(lines) + f"\n\nK fitted {table['fit'].iloc[0]} (`{path.name}`).\n"


def render_fig12(path: Path) -> str:
    """Fig. 12: instance-dependent (and human) noise against the class-conditional theory."""
    table = pd.read_csv(path, dtype={"level": str})
    lines = markdown_table(
        ["noise", "level", "realised noise", "CNN test accuracy", "K-NN", "class-conditional theory (Eq. 6, realised matrix)"],
        [[row.noise, row.level, f"{row.realised_gamma_mean:.3f}",
          f"{row.test_acc_mean:.3f}" + (f" ± {row.test_acc_std:.3f}" if pd.notna(row.test_acc_std) else ""),
          f"{row.knn_acc:.3f} (K = {row.knn_K})", f"{row.analytic_acc:.3f} (K = {row.analytic_K})"] for row in table.itertuples()])
    return "\n".join(lines) + f"\n\n(`{path.name}`)\n"




def render_fig13(path: Path) -> str:
    """Fig. 13: test accuracy per selection protocol at every random and flip level, and each protocol's fitted K."""
    table = pd.read_csv(path, dtype={"level": str})
    protocols = [p for p in PROTOCOLS if p in set(table["protocol"])]
    rows = list(dict.fromkeys(zip(table["noise"], table["level"])))  # the table's order: noise, then increasing level
    wide = table.pivot_table(index=["noise", "level"], columns="protocol", values="test_acc_mean").reindex(rows)
    spread = table.pivot_table(index=["noise", "level"], columns="protocol", values="test_acc_std").reindex(rows)
    lines = markdown_table(
        ["noise", "level"] + [PROTOCOLS[p].title for p in protocols],
        [[noise, level] + [f"{row[p]:.3f} ± {spread.loc[(noise, level), p]:.3f}" if pd.notna(row[p]) else "-" for p in protocols]
         for (noise, level), row in wide.iterrows()])
    fits = table.drop_duplicates(["noise", "protocol"])
    fitted = "; ".join(f"{row.noise}, {PROTOCOLS[row.protocol].title}: K = {row.fitted_K:.0f}, RMSE {row.rmse:.3f}"
                       for row in fits.itertuples() if pd.notna(row.fitted_K))
    return "\n".join(lines) + f"\n\nTest accuracy, mean ± std over seeds. Analytic K-NN fitted per protocol: {fitted} (`{path.name}`).\n"


def render_fig13_flip(path: Path) -> str:
    """Fig. 13 (c): under flip noise, what the selected nets predict and how far their softmax is from the tie."""
    table = pd.read_csv(path, dtype={"level": str})
    lines = markdown_table(
        ["flip level", "selection", "prediction = true label", "= its flip counterpart", "other",
         "mean (median) abs(p(true) - p(counterpart))"],
        [[row.level, PROTOCOLS[row.protocol].title, f"{row.true_label:.3f}", f"{row.counterpart:.3f}", f"{row.other:.3f}",
          f"{row.tie_gap_mean:.3f} ({row.tie_gap_median:.3f})"] for row in table.itertuples()])
    return "\n".join(lines) + f"\n\nShares of the test samples, mean over seeds (`{path.name}`).\n"


def render_clean_net(path: Path) -> str:
    """The clean (Appendix A) net's training measured on the clean validation half (bench/clean_net.py rows): each
    state's Appendix A readings there, and the validation accuracy epoch by epoch."""
    runs = pd.read_csv(path)
    states = runs[runs["state"] != "evaluation"]
    smallest = [column for column in runs.columns if column.startswith("share_at_K")][0].removeprefix("share_at_K")
    lines = markdown_table(
        ["weight decay", "state", "clean validation accuracy", "half sum", "full sum", "Pearson", "median preferred K",
         f"share at K = {smallest}", "median largest softmax", f"purity of the {smallest} nearest (quartiles)"],
        [[f"{row.weight_decay:g}", f"{ {'selected': 'best validation', 'final': 'last'}.get(row.state, row.state)}, epoch {row.epoch:.0f}",
          f"{row.val_acc:.4f}", f"{row.median_chi2_half:.4f}", f"{row.median_chi2_full:.4f}", f"{row.median_chi2_pearson:.4f}",
          f"{row.median_preferred_K:g}", f"{getattr(row, f'share_at_K{smallest}'):.2f}", f"{row.median_max_softmax:.3f}",
          f"{row.purity_q1:.2f} / {row.purity_median:.2f} / {row.purity_q3:.2f}"] for row in states.itertuples()])
    curves = "; ".join(f"weight decay {decay:g}: " + " ".join(f"{acc:.3f}" for acc in group["val_acc"])
                       for decay, group in runs[runs["state"] == "evaluation"].groupby("weight_decay", sort=False))
    return "\n".join(lines) + (f"\n\nAppendix A read on the clean validation half (never the test half); chi-square medians in "
                               f"the three readings. Clean validation accuracy after each epoch, {curves} (`{path.name}`).\n")


RENDERERS = {"clean_net.csv": render_clean_net, "recipe_sweep.csv": render_eval_sweep, "recipe_cpu.csv": render_recipe, "bf16_parity.csv": render_parity, "fig10.csv": render_fig10,
             "fig11.csv": render_fig11, "fig12.csv": render_fig12, "fig13.csv": render_fig13, "fig13_flip.csv": render_fig13_flip}


#: Where each reference run's results page lies: ``docs/results/<its folder's name>.md``.
RESULTS_PAGES = Path("docs") / "results"


def page_title(page: Path) -> str:
    """The text of a Markdown page's first ``# `` heading."""
    titles = [line[2:].strip() for line in page.read_text().splitlines() if line.startswith("# ")]
    if not titles:
        raise ValueError(f"{page} has no '# ' title")
    return titles[0]


def render_runs(root: Path, spec: str, page: Path) -> str:
    """One line per reference folder of ``runs FOLDER ...``: its results page (linked from ``page``, by its title) and
    what the run measured (``run.csv``: jobs, wall time, machine); a folder without ``run.csv`` says so."""
    lines = []
    for folder in spec.split()[1:]:
        results = root / RESULTS_PAGES / f"{Path(folder).name}.md"
        link = f"[{page_title(results)}]({Path(os.path.relpath(results, page.parent)).as_posix()})"
        if (root / folder / "run.csv").exists():
            run = pd.read_csv(root / folder / "run.csv").iloc[0]
            measured = (f"{int(run['jobs'])} jobs in {_duration(run['wall_s'])} on {run['machine']} "
                        f"(torch {run['torch']}, {run['date']})")
        else:
            measured = f"not run whole yet (no `{folder}/run.csv`); what was measured is on the page"
        lines.append(f"- {link}: {measured}.")
    return "\n".join(lines) + "\n"


def render_block(root: Path, spec: str, page: Path | None = None) -> str:
    """One block: a reference run's table (a folder), a measured table (a known CSV), a text file verbatim, or the
    list of runs (``runs FOLDER ...``) with links relative to ``page`` (default: the root's README.md)."""
    if spec.split()[0] == "runs":
        return render_runs(root, spec, page or root / "README.md")
    path = root / spec.split()[0]
    if path.is_dir():
        return render_table(root, spec)
    if path.name in RENDERERS:
        return RENDERERS[path.name](path)
    return "```\n" + path.read_text().rstrip("\n") + "\n```\n"


def render_readme(text: str, root: Path, page: Path | None = None) -> str:
    """``text`` (of the Markdown file ``page``, default the root's README.md) with every reference-table block rewritten
    from the files it names, relative to ``root``."""
    return MARKER.sub(lambda m: f"<!-- reference-table {m['spec']} -->\n{render_block(root, m['spec'], page)}<!-- end reference-table -->",
                      text)


def documentation_pages(root: Path) -> list[Path]:
    """The Markdown files whose reference blocks ``readme`` rewrites: README.md and docs/**/*.md."""
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def rewrite_pages(pages: list[Path], root: Path, check: bool) -> int:
    """Rewrite the reference blocks of ``pages`` (only those that changed); with ``check``, write nothing and return 1
    naming the pages that differ from their reference files."""
    stale = []
    for page in pages:
        text = page.read_text()
        rendered = render_readme(text, root, page)
        if rendered != text:
            stale.append(str(page))
            if not check:
                page.write_text(rendered)
    if check and stale:
        print(f"{', '.join(stale)}: reference tables differ from docs/reference; run python -m labelnoise.reference readme",
              file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Publish a run's reference tables; write the tables of README.md and docs/ from them.")
    sub = parser.add_subparsers(dest="command", required=True)
    pub = sub.add_parser("publish", help="copy a run's tables into a reference folder")
    pub.add_argument("--results", type=Path, default=Path("results"))
    pub.add_argument("--dataset", required=True)
    pub.add_argument("--out", type=Path, required=True)
    pub.add_argument("--config", required=True, help="the config file the run used")
    pub.add_argument("--run-command", required=True, help="the command line of the run")
    pub.add_argument("--wall-s", type=float, required=True, help="the run's wall time in seconds")
    pub.add_argument("--jobs", type=int, required=True, help="jobs the run executed")
    readme = sub.add_parser("readme", help="rewrite the reference tables of README.md and docs/**/*.md")
    readme.add_argument("pages", nargs="*", type=Path, help="Markdown files to rewrite (default: README.md and docs/**/*.md)")
    readme.add_argument("--root", type=Path, default=Path("."), help="the repository: the blocks' paths are relative to it")
    readme.add_argument("--readme", type=Path, help="rewrite this one file, its folder the root")
    readme.add_argument("--check", action="store_true", help="only report whether the pages are up to date")
    args = parser.parse_args(argv)
    if args.command == "publish":
        publish(args.results, args.dataset, args.out, args.config, args.run_command, args.wall_s, args.jobs)
        return 0
    root = (args.readme.parent if args.readme else args.root).absolute()
    pages = [args.readme] if args.readme else args.pages or documentation_pages(root)
    return rewrite_pages([page.absolute() for page in pages], root, args.check)


if __name__ == "__main__":
    raise SystemExit(main())
