"""Model selection protocols: each rule on hand-made histories, and the online trackers against the rules."""

import numpy as np
import pandas as pd
import pytest
import torch

from labelnoise.selection import (
    PROTOCOLS, CleanValidation, LabelWave, best_with_patience, label_wave_epoch, moving_average,
)
from labelnoise.training import TrainConfig
from labelnoise.selection_study import flip_decisions, protocol_curves


@pytest.mark.parametrize("scores, patience, expected", [
    ([0.5, 0.6, 0.7], 2, (2, False)),                 # still improving
    ([0.5, 0.7, 0.6, 0.65, 0.9], 2, (1, True)),        # two evaluations without a strict improvement: stopped at 0.65
    ([0.5, 0.7, 0.6, 0.65, 0.9], 3, (4, False)),       # a longer patience reaches the later best
    ([0.7, 0.7, 0.7], 5, (0, False)),                  # ties keep the first
    ([0.3], 1, (0, False)),
])
def test_best_with_patience_by_hand(scores, patience, expected):
    assert best_with_patience(scores, patience) == expected


def test_moving_average_is_trailing():
    assert moving_average([4, 2, 6, 0], 2) == [4, 3, 4, 3]
    assert moving_average([4, 2, 6, 0], 3) == [4, 3, 4, pytest.approx(8 / 3)]


@pytest.mark.parametrize("changes, window, expected", [
    ([900, 500, 300, 350, 200], 1, 2),   # first rise after index 2: the state at the end of epoch 4
    ([900, 500, 300, 350, 200], 2, None),  # smoothed [900, 700, 400, 325, 275]: the average smooths the rise away
    ([900, 500, 300, 350, 400], 2, 3),   # smoothed [900, 700, 400, 325, 375]: the rise comes one epoch later
    ([900, 500, 300], 1, None),          # still falling
    ([100, 100, 120], 1, 1),             # a flat step is no rise; the rise after index 1 selects it
])
def test_label_wave_first_local_minimum_by_hand(changes, window, expected):
    assert label_wave_epoch(changes, window) == expected


def test_score_selection_online_equals_the_rule_on_the_whole_history():
    rng = np.random.default_rng(0)
    for _ in range(50):
        scores = rng.integers(0, 6, size=12).tolist()  # ties happen
        tracker = CleanValidation(1, TrainConfig.defaults(patience=3), 0, None)
        for step, score in enumerate(scores, start=1):
            tracker.after_evaluation(0, {"val_acc": score}, epoch=step, step=step,
                                     state=lambda step=step: {"w": torch.tensor(step)})
        best, stopped = best_with_patience(scores, 3)
        chosen = tracker.chosen(0, epoch=12, step=12, state=lambda: {"w": torch.tensor(-1)})
        assert chosen["step"] == best + 1 and int(chosen["state"]["w"]) == best + 1
        assert tracker.stopped[0] == stopped


def test_label_wave_online_counts_prediction_changes_and_keeps_the_selected_epochs_state():
    """Predictions scripted per epoch: changes 6, 3, 1, 2 (window 1) select the end of epoch 4."""
    n_train = 8
    epochs = [[0] * 8, [1] * 6 + [0] * 2, [2] * 3 + [1] * 3 + [0] * 2, [3] + [2] * 2 + [1] * 3 + [0] * 2,
              [4, 4, 2, 1, 1, 1, 0, 0]]
    wave = LabelWave(1, TrainConfig.defaults(label_wave_window=1), n_train, device=torch.device("cpu"))
    for epoch, predictions in enumerate(epochs, start=1):
        order = torch.randperm(n_train)
        for chunk in order.split(3):  # minibatches in a shuffled order
            wave.after_step([0], chunk[None], torch.tensor(predictions)[chunk][None])
        wave.after_epoch(0, epoch, step=10 * epoch, state=lambda epoch=epoch: {"w": torch.tensor(epoch)})
    assert wave.changes[0] == [6, 3, 1, 2]
    assert label_wave_epoch(wave.changes[0], 1) == 2
    chosen = wave.chosen(0, 5, 50, state=lambda: {"w": torch.tensor(5)})
    assert {key: chosen[key] for key in ("epoch", "step", "decided")} == {"epoch": 4, "step": 40, "decided": True}
    assert int(chosen["state"]["w"]) == 4


def test_label_wave_still_falling_selects_the_last_epoch():
    wave = LabelWave(1, TrainConfig.defaults(label_wave_window=2), 4, device=torch.device("cpu"))
    for epoch, predictions in enumerate([[0, 0, 0, 0], [1, 1, 1, 0], [1, 2, 1, 0]], start=1):
        wave.after_step([0], torch.arange(4)[None], torch.tensor(predictions)[None])
        wave.after_epoch(0, epoch, step=epoch, state=lambda epoch=epoch: {"w": torch.tensor(epoch)})
    chosen = wave.chosen(0, 3, 3, state=lambda: {"w": torch.tensor(3)})
    assert wave.changes[0] == [3, 1] and {key: chosen[key] for key in ("epoch", "step", "decided")} == {
        "epoch": 3, "step": 3, "decided": False}


def test_the_protocols_are_the_issues_four():
    assert list(PROTOCOLS) == ["clean_val", "noisy_val", "label_wave", "final"]


def _runs(noise: str, gammas, accuracy) -> pd.DataFrame:
    """Two seeds per level; each protocol's test accuracy a known function of gamma."""
    rows = []
    for gamma in gammas:
        for seed_index in range(2):
            row = dict(dataset="d", noise=noise, level=f"{gamma:.2f}", seed_index=seed_index, seed=seed_index,
                       nominal_gamma=gamma, corrupted_fraction=gamma, realised_gamma=gamma * 0.9,
                       val_acc=0.5, test_acc=accuracy["clean_val"](gamma), best_epoch=1, epochs_run=2, best_step=10,
                       steps_run=20, wall_s=1.0, selection="clean_val")
            for protocol in PROTOCOLS:
                row |= {f"{protocol}_step": 10 + seed_index, f"{protocol}_val_acc": 0.5,
                        f"{protocol}_test_acc": accuracy[protocol](gamma) + 0.01 * seed_index}
            rows.append(row)
    return pd.DataFrame(rows)


def test_protocol_curves_fit_each_protocol_to_its_own_analytic_curve():
    gammas = np.linspace(0, 1, 101)
    analytic = pd.concat([pd.DataFrame({"gamma": gammas, "K": k, "accuracy": 1 - gammas ** k}) for k in (1, 2, 4)])
    accuracy = {"clean_val": lambda g: 1 - g ** 4, "noisy_val": lambda g: 1 - g ** 2, "label_wave": lambda g: 1 - g,
                "final": lambda g: 1 - g}
    runs = _runs("random", [0.0, 0.4, 0.8], accuracy).assign(noisy_val_test_acc=np.nan)  # no noisy validation labels here
    runs = pd.concat([runs, _runs("flip", [0.2, 0.6], accuracy)])
    curves = protocol_curves(runs, {"random": analytic, "flip": analytic})
    random = curves[curves["noise"] == "random"]
    assert set(random["protocol"]) == {"clean_val", "label_wave", "final"}  # noisy_val was not measured
    fitted = curves.drop_duplicates(["noise", "protocol"]).set_index(["noise", "protocol"])["fitted_K"].to_dict()
    assert fitted == {("random", "clean_val"): 4, ("random", "label_wave"): 1, ("random", "final"): 1,
                      ("flip", "clean_val"): 4, ("flip", "noisy_val"): 2, ("flip", "label_wave"): 1, ("flip", "final"): 1}
    row = curves[(curves["noise"] == "flip") & (curves["protocol"] == "noisy_val") & (curves["level"] == "0.60")].iloc[0]
    assert row["test_acc_mean"] == pytest.approx(1 - 0.36 + 0.005) and row["step_mean"] == 10.5
    assert row["analytic_acc"] == pytest.approx(1 - 0.36)


def test_flip_decisions_by_hand():
    permutation = np.array([1, 2, 0])  # l -> l + 1 mod 3
    labels = np.array([0, 1, 2, 0])
    softmax = np.array([[[0.6, 0.4, 0.0], [0.1, 0.2, 0.7], [0.5, 0.0, 0.5], [0.2, 0.3, 0.5]]])  # one seed
    decisions = flip_decisions(softmax, labels, permutation)
    # predictions 0 (true), 2 (counterpart of 1), 0 (counterpart of 2), 2 (other)
    assert decisions["true_label"] == 0.25 and decisions["counterpart"] == 0.5 and decisions["other"] == 0.25
    assert decisions["tie_gap_mean"] == pytest.approx(np.mean([0.2, 0.5, 0.0, 0.1]))
    assert decisions["tie_gap_median"] == pytest.approx(0.15)


def test_fig13_draws_every_protocol_its_analytic_curve_and_the_flip_decisions():
    from labelnoise.plots.fig13 import plot_fig13_selection

    gammas = np.linspace(0, 1, 101)
    analytic = pd.concat([pd.DataFrame({"gamma": gammas, "K": k, "accuracy": 1 - gammas ** k}) for k in (1, 2, 4)])
    accuracy = {"clean_val": lambda g: 1 - g ** 4, "noisy_val": lambda g: 1 - g ** 2, "label_wave": lambda g: 1 - g,
                "final": lambda g: 1 - g}
    runs = pd.concat([_runs("random", [0.0, 0.4, 0.8], accuracy), _runs("flip", [0.2, 0.5, 0.6], accuracy)])
    curves = protocol_curves(runs, {"random": analytic, "flip": analytic})
    decisions = pd.DataFrame([dict(noise="flip", level=f"{g:.2f}", nominal_gamma=g, protocol=p, true_label=1 - g,
                                   counterpart=g, other=0.0, tie_gap_mean=0.1, tie_gap_median=0.1)
                              for g in (0.2, 0.5, 0.6) for p in PROTOCOLS])
    fig = plot_fig13_selection(curves, decisions, "toy")
    assert len(fig.axes) == 3
    for ax, noise in zip(fig.axes[:2], ("random", "flip")):
        legend = [text.get_text() for text in ax.get_legend().get_texts()]
        assert any(entry.startswith("clean validation (the paper's): fitted K = 4") for entry in legend)
        line = next(line for line in ax.get_lines() if line.get_gid() == "analytic_noisy_val")
        expected = curves[(curves["noise"] == noise) & (curves["protocol"] == "noisy_val")].sort_values("nominal_gamma")
        np.testing.assert_allclose(line.get_ydata(), expected["analytic_acc"])
    true = next(line for line in fig.axes[2].get_lines() if line.get_gid() == "true_final")
    np.testing.assert_allclose(true.get_ydata(), [0.8, 0.5, 0.4])
    # without flip decisions, two panels
    assert len(plot_fig13_selection(curves, None, "toy").axes) == 2
