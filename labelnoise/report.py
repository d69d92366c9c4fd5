"""What ``snakemake --report`` shows besides the figures: its landing page and the summary as a table.

The landing page (:func:`run_description`, reStructuredText) says what the run
is: the data and its measured split sizes, the nets, seeds, levels, training
and analytic settings, where it is not like for like with the paper, and the
resolved configuration. :func:`summary_html` renders a summary table
(labelnoise.summary) for reading, values rounded to what was measured.
"""

from __future__ import annotations

import pandas as pd
import yaml

from labelnoise.config import noise_levels
from labelnoise.io import ACCURACY_DECIMALS, rounded_for_reading

PAPER = ("Drory, Avidan and Giryes, *On the Resistance of Neural Nets to Label Noise* (arXiv:1803.11410)")
#: The paper's own scale, for the "not like for like" notes (Section 5).
PAPER_SCALE = {"seeds": {"mnist": 10, "cifar10": 7}, "width": 1.0}


def _model_text(model: dict) -> str:
    fc = f", fc {model['fc_dim']}" if model.get("arch") == "paper_cnn" else ""
    return f"{model['arch']} at width {model['width']:g}{fc}"


def _train_text(train: dict) -> str:
    optimiser = f"{train['optimizer']} lr {train['lr']:g}, weight decay {train['weight_decay']:g}"
    if train["optimizer"] == "sgd":
        optimiser += f", momentum {train['momentum']:g}"
    evaluation = f"every {train['eval_every']} steps" if train["eval_every"] else "every epoch"
    augmentation = ", ".join(name for name, on in (("mirrored", train["hflip"]),
                                                   (f"shifted up to {train['translate']} pixels", train["translate"])) if on)
    return (f"{optimiser}; batch {train['batch_size']}; {train['max_epochs']} epochs; clean validation "
            f"{evaluation}, the {train['selection']} state reported, patience {train['patience']} evaluations; "
            f"augmentation {augmentation or 'none'}; precision {train['precision']}")


def _differences_from_paper(view: dict) -> list[str]:
    """Where this run is not the paper's experiment at the paper's scale."""
    notes = []
    paper_seeds = PAPER_SCALE["seeds"].get(view["source"], PAPER_SCALE["seeds"]["mnist"])
    if view["seeds"] < paper_seeds:
        notes.append(f"{view['seeds']} seed{'s' if view['seeds'] > 1 else ''} per level (the paper: {paper_seeds})")
    if view["grid_model"]["width"] != PAPER_SCALE["width"]:
        notes.append(f"grid nets at width {view['grid_model']['width']:g} (the paper: full width)")
    if view["source"] in ("mnist5k", "digits"):
        notes.append(f"{view['source']} instead of the full data set (fewer training samples per class, so a "
                     f"smaller neighbourhood per sample and a smaller fitted K)")
    if view["source"] != "cifar10":
        notes.append("Appendix A (Figs. 8, 9) on digits, not on CIFAR-10: the paper's median chi-square 0.143 is "
                     "CIFAR-10's; a digit net's clean softmax is nearly one-hot, so most samples tie at the smallest K")
    return notes


def run_description(config: dict, views: dict[str, dict], split_sizes: dict[str, dict[str, int]],
                    clean_accuracy: dict[str, float]) -> str:
    """The report's landing page for the datasets in ``config['targets']`` (``views``: their settings).

    ``split_sizes``: per dataset, samples in train / val / test and the image
    shape and class count as measured on the prepared data; ``clean_accuracy``:
    the clean (embedding) net's test accuracy per dataset.
    """
    lines = ["This run of the labelnoise workflow", "=" * 35, "",
             f"It reproduces {PAPER}: the test accuracy of CNNs trained on noisy labels (random, flip, "
             "confusion-matrix and concentrated noise) against the paper's analytic K-NN accuracy (Eqs. 2-9), "
             "with a measured K-NN classifier beside them (Figs. 1-7), and Appendix A's comparison of the "
             "softmax with the label histogram of the K nearest training samples (Figs. 8, 9). Past the paper: "
             "whether the CNN errs on the same test samples as a K-NN (Fig. 10), the fitted K against the amount "
             "of training data (Fig. 11), instance-dependent noise and human labels (CIFAR-10N) against the "
             "class-conditional theory (Fig. 12), and four model-selection protocols, three without clean labels "
             "(Fig. 13). Every number in the figures' labels and the summary tables was measured in this run.", ""]
    for name in config["targets"]:
        view, sizes = views[name], split_sizes[name]
        levels = noise_levels(view)
        title = f"Data set ``{name}``"
        lines += [title, "-" * len(title), "",
                  f":Data: {view['source']}: {sizes['n_images']:,} images of {sizes['image_shape']}, "
                  f"{sizes['n_classes']} classes; {sizes['train']:,} for training, {sizes['val']:,} clean "
                  f"validation (early stopping), {sizes['test']:,} test",
                  f":Nets: clean (embedding) net {_model_text(view['clean_model'])}, test accuracy "
                  f"{clean_accuracy[name]:.{ACCURACY_DECIMALS}f}; noisy-label nets {_model_text(view['grid_model'])}",
                  f":Seeds: {view['seeds']} network{'s' if view['seeds'] > 1 else ''} per noise level "
                  f"(base seed {view['seed']})",
                  f":Training: {_train_text(view['train'])}",
                  *([f":Clean net's training: {_train_text(view['clean_train'])}"]
                    if view["clean_train"] != view["train"] else []),
                  ":Levels: " + "; ".join(f"{noise} {', '.join(names)}" for noise, names in levels.items()),
                  f":Analytic: {view['analytic']['case']} case, K in {', '.join(map(str, view['analytic']['K']))}, "
                  f"ties {view['analytic']['tie']}, gamma step {view['analytic']['gamma_step']:g}",
                  f":K-NN baseline: K = {view['knn']['K']}, ties {view['knn']['tie']}",
                  ":Not like for like: " + "; ".join(_differences_from_paper(view)), ""]
    resolved = _narrow_yaml(config)
    lines += ["Resolved configuration", "-" * 22, "", "::", ""]
    lines += ["    " + line for line in resolved.splitlines()]
    return "\n".join(lines) + "\n"


def _narrow_yaml(config: dict) -> str:
    """``config`` as YAML that fits the report's page: mappings one key per line, lists of numbers wrapped."""

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(dict, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data.items(),
                                                                                flow_style=False))
    Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                                                                 flow_style=True))
    return yaml.dump(config, Dumper=Dumper, sort_keys=False, width=56)


#: How the summary table's columns read: accuracies as measured, fractions to 0.001, counts as integers.
_SUMMARY_FORMATS = {
    "nominal_gamma": "{:.3f}", "corrupted_fraction": "{:.3f}", "realised_gamma": "{:.3f}",
    "n_seeds": "{:.0f}", "fitted_K": "{:.0f}", "knn_K": "{:.0f}",
}


def summary_html(summary: pd.DataFrame, dataset: str) -> str:
    """A summary table as a small HTML page: one row per noise type and level, NaN shown as a dash."""
    shown = rounded_for_reading(summary)
    formatters = {}
    for column in shown.columns:
        if column in _SUMMARY_FORMATS:
            formatters[column] = _SUMMARY_FORMATS[column].format
        elif "acc" in column:
            formatters[column] = f"{{:.{ACCURACY_DECIMALS}f}}".format
    table = shown.to_html(index=False, na_rep="–", formatters=formatters, border=0, classes="summary")
    style = ("body{font-family:sans-serif;font-size:14px} table.summary{border-collapse:collapse} "
             "table.summary th,table.summary td{padding:3px 8px;border-bottom:1px solid #ccc;text-align:right} "
             "table.summary td:last-child{text-align:left}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Summary: {dataset}</title>"
            f"<style>{style}</style></head><body><h3>Summary of dataset {dataset}</h3>{table}</body></html>\n")
