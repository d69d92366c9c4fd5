"""Tests for labelnoise.training: early-stopped, deterministic training (Section 5)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from labelnoise.models import build_model
from labelnoise.selection import best_with_patience
from labelnoise.inference import channel_statistics, extract_features, predict_softmax, preprocess
from labelnoise.device import DeviceUnavailable, resolve_device
from labelnoise.training import TrainConfig, TrainResult, _minibatches, train_classifier

torch.set_num_threads(1)

N_CLASSES = 10
#: Small, fast digits net: these tests check the loop, not the paper's width.
WIDTH = 0.5
FC_DIM = 64
FAST = TrainConfig.defaults(max_epochs=15, patience=4, batch_size=64, device="cpu", lr=1e-3, weight_decay=0.0, optimizer="adam")


def _quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def digits():
    """sklearn digits as uint8 N x 1 x 8 x 8 (0..16 scaled to 0..255), stratified 60/20/20 split."""
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    idx = np.arange(len(labels))
    train, rest = train_test_split(idx, train_size=0.6, stratify=labels, random_state=0)
    val, test = train_test_split(rest, train_size=0.5, stratify=labels[rest], random_state=0)
    return {name: (images[i], labels[i]) for name, i in (("train", train), ("val", val), ("test", test))}


def _model():
    return build_model("paper_cnn", 1, 8, N_CLASSES, width=WIDTH, fc_dim=FC_DIM)


def _train(digits, config=FAST, seed=0, train_labels=None, model=None, log=_quiet, labels_val_noisy=None) -> TrainResult:
    (xtr, ytr), (xva, yva), (xte, yte) = digits["train"], digits["val"], digits["test"]
    return train_classifier(
        model if model is not None else _model(),
        xtr,
        ytr if train_labels is None else train_labels,
        xva,
        yva,
        xte,
        yte,
        config,
        seed=seed,
        log=log,
        labels_val_noisy=labels_val_noisy,
    )


@pytest.fixture(scope="module")
def clean_run(digits):
    lines: list[str] = []
    model = _model()
    result = _train(digits, model=model, log=lines.append)
    return model, result, lines


def test_clean_model_learns_digits(clean_run, digits):
    _, result, _ = clean_run
    assert result.test_acc > 0.9
    assert result.val_acc > 0.9
    assert 0 < result.wall_s


def test_result_is_the_best_validation_state(clean_run, digits):
    model, result, lines = clean_run
    xte, yte = digits["test"]
    assert 1 <= result.best_epoch <= result.epochs_run <= FAST.max_epochs
    assert [h["epoch"] for h in result.history] == list(range(1, result.epochs_run + 1))
    val_curve = [h["val_acc"] for h in result.history]
    assert result.val_acc == max(val_curve)
    assert val_curve.index(max(val_curve)) + 1 == result.best_epoch  # first epoch on ties
    # Stopped either at max_epochs or exactly `patience` epochs after the best one.
    assert result.epochs_run == FAST.max_epochs or result.epochs_run == result.best_epoch + FAST.patience
    # The returned state, loaded into a fresh model, reproduces the reported test numbers.
    fresh = _model()
    fresh.load_state_dict(result.state_dict)
    softmax = predict_softmax(fresh, xte)
    np.testing.assert_allclose(softmax, result.test_softmax, rtol=1e-5, atol=1e-6)
    assert result.test_acc == pytest.approx(float((softmax.argmax(1) == yte).mean()))
    # The model passed in is left holding the best state.
    np.testing.assert_allclose(predict_softmax(model, xte), result.test_softmax, rtol=1e-5, atol=1e-6)
    # One log line per epoch, carrying the validation accuracy.
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == result.epochs_run and "val_acc" in epoch_lines[0]


def test_test_softmax_is_a_distribution(clean_run, digits):
    _, result, _ = clean_run
    assert result.test_softmax.dtype == np.float32
    assert result.test_softmax.shape == (len(digits["test"][1]), N_CLASSES)
    np.testing.assert_allclose(result.test_softmax.sum(axis=1), 1.0, rtol=1e-5)
    assert all(v.device.type == "cpu" for v in result.state_dict.values())


def test_training_statistics_are_stored_in_the_model(clean_run, digits):
    _, result, _ = clean_run
    mean, std = channel_statistics(digits["train"][0])
    np.testing.assert_allclose(result.state_dict["input_standardiser.mean"].flatten().numpy(), mean, rtol=1e-6)
    np.testing.assert_allclose(result.state_dict["input_standardiser.std"].flatten().numpy(), std, rtol=1e-6)


def test_channel_statistics_and_preprocess():
    images = np.random.default_rng(0).integers(0, 256, size=(20, 3, 4, 5), dtype=np.uint8)
    mean, std = channel_statistics(images)
    scaled = images.astype(np.float64) / 255.0
    np.testing.assert_allclose(mean, scaled.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(std, scaled.std(axis=(0, 2, 3)))
    x = preprocess(images)
    assert x.dtype == torch.float32 and x.shape == images.shape
    np.testing.assert_allclose(x.numpy(), scaled, rtol=1e-6)


def test_features_and_softmax_do_not_depend_on_batch_size(clean_run, digits):
    model, _, _ = clean_run
    xte = digits["test"][0]
    feats = extract_features(model, xte, batch_size=1000)
    assert feats.shape == (len(xte), FC_DIM) and feats.dtype == np.float32
    np.testing.assert_allclose(extract_features(model, xte, batch_size=7), feats, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(predict_softmax(model, xte, batch_size=7), predict_softmax(model, xte), rtol=1e-4, atol=1e-6)
    model.eval()
    with torch.no_grad():
        direct = model.features(preprocess(xte[:10])).numpy()
    np.testing.assert_allclose(feats[:10], direct, rtol=1e-4, atol=1e-5)


def test_same_seed_is_bit_identical_and_seeds_differ(digits):
    config = dataclasses.replace(FAST, max_epochs=3)
    first = _train(digits, config, seed=11)
    torch.rand(100)  # disturb the global RNG: the init must come from the seed alone
    second = _train(digits, config, seed=11)
    other = _train(digits, config, seed=12)
    assert np.array_equal(first.test_softmax, second.test_softmax)
    assert first.history == second.history
    assert all(torch.equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)
    assert not np.array_equal(first.test_softmax, other.test_softmax)
    assert first.history != other.history


def test_every_protocol_selects_what_its_rule_picks_from_the_same_trajectory(digits):
    """Random labels: clean validation stalls and its patience ends the clean_val rule early, while the
    trajectory runs the whole budget for the other protocols; each selection is its rule on the recorded history."""
    config = dataclasses.replace(FAST, max_epochs=8, patience=2)
    random_labels = np.random.default_rng(5).integers(0, N_CLASSES, size=len(digits["train"][1]))
    noisy_val = np.random.default_rng(6).integers(0, N_CLASSES, size=len(digits["val"][1]))
    result = _train(digits, config, train_labels=random_labels, labels_val_noisy=noisy_val)
    assert result.epochs_run == config.max_epochs and len(result.history) == config.max_epochs  # the whole budget
    chosen = result.selections
    assert set(chosen) == {"clean_val", "noisy_val", "label_wave", "final"}
    for protocol, key in (("clean_val", "val_acc"), ("noisy_val", "noisy_val_acc")):
        best, stopped = best_with_patience([entry[key] for entry in result.history], config.patience)
        assert chosen[protocol]["step"] == result.history[best]["step"], protocol
    assert best_with_patience([entry["val_acc"] for entry in result.history], config.patience)[1]  # the paper's rule
    # stopped early, yet the trajectory went on to the end of the budget for the others
    assert chosen["clean_val"]["val_acc"] == result.history[[e["step"] for e in result.history].index(chosen["clean_val"]["step"])]["val_acc"]
    assert chosen["final"]["step"] == result.steps_run
    assert (result.best_step, result.val_acc, result.test_acc) == (chosen["clean_val"]["step"], chosen["clean_val"]["val_acc"],
                                                                  chosen["clean_val"]["test_acc"])  # the reported protocol
    assert np.array_equal(result.test_softmax, chosen["clean_val"]["test_softmax"])
    assert result.test_acc < 0.5
    # another reported protocol: the same trajectory, the final state reported
    final = _train(digits, dataclasses.replace(config, selection="final"), train_labels=random_labels, labels_val_noisy=noisy_val)
    assert final.history == result.history and final.best_step == result.steps_run
    assert final.test_acc == chosen["final"]["test_acc"]


def test_sgd_optimiser_runs(digits):
    result = _train(digits, TrainConfig.defaults(max_epochs=2, patience=1, optimizer="sgd", lr=0.05, device="cpu", batch_size=128, weight_decay=0.0))
    assert result.epochs_run >= 1 and np.isfinite(result.history[-1]["train_loss"])


def test_minibatches_partition_the_data():
    gen = torch.Generator().manual_seed(0)
    batches = _minibatches(torch.randperm(130, generator=gen), 64)
    sizes = [len(b) for b in batches]
    assert len(batches) == 3 and max(sizes) <= 64 and max(sizes) - min(sizes) <= 1
    assert sorted(torch.cat(batches).tolist()) == list(range(130))


@pytest.mark.parametrize(
    "field, value",
    [
        ("max_epochs", 0),
        ("patience", 0),
        ("batch_size", 0),
        ("batch_size", 2.5),
        ("eval_batch_size", -1),
        ("lr", 0.0),
        ("lr", float("nan")),
        ("weight_decay", -1e-4),
        ("optimizer", "rmsprop"),
        ("momentum", 1.0),
        ("device", ""),
        ("device", "not_a_device"),
        ("channels_last", "yes"),
    ],
)
def test_bad_config_values_raise(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig.defaults(**{field: value})


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError):
        resolve_device("not_a_device")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailable, match="no CUDA device"):
            resolve_device("cuda")


def test_bad_inputs_raise(digits):
    (xtr, ytr), (xva, yva), (xte, yte) = digits["train"], digits["val"], digits["test"]
    model = _model()

    def call(**override):
        args = dict(images_train=xtr, labels_train=ytr, images_val=xva, labels_val=yva, images_test=xte, labels_test=yte)
        args.update(override)
        return train_classifier(model, config=FAST, seed=0, log=_quiet, **args)

    with pytest.raises(ValueError, match="images_train must be a uint8"):
        call(images_train=xtr.astype(np.float32))
    with pytest.raises(ValueError, match="N x C x H x W"):
        call(images_val=xva[:, 0])
    with pytest.raises(ValueError, match=r"labels_train(_per_seed\[0\])? must lie in 0\.\.9"):
        call(labels_train=np.where(ytr == 0, N_CLASSES, ytr))
    with pytest.raises(ValueError, match="labels_val must have shape"):
        call(labels_val=yva[:-1])
    with pytest.raises(ValueError, match="integer"):
        call(labels_test=yte.astype(np.float64))


def test_evaluation_every_n_steps_keeps_the_best_step(digits):
    """eval_every: validation every N optimiser steps, patience counted in evaluations, the best step's state kept."""
    steps_per_epoch = -(-len(digits["train"][1]) // FAST.batch_size)  # 1078 / 64 -> 17
    config = dataclasses.replace(FAST, max_epochs=6, patience=5, eval_every=4)
    noisy = digits["train"][1].copy()
    flip = np.random.default_rng(2).random(len(noisy)) < 0.5
    noisy[flip] = np.random.default_rng(3).integers(0, N_CLASSES, flip.sum())
    model = _model()
    result = _train(digits, config, train_labels=noisy, model=model)
    steps = [h["step"] for h in result.history]
    last = config.max_epochs * steps_per_epoch  # training's last step is always evaluated
    assert steps == list(range(4, result.steps_run + 1, 4)) + ([last] if result.steps_run == last and last % 4 else [])
    assert [h["epoch"] for h in result.history] == [-(-step // steps_per_epoch) for step in steps]
    val = [h["val_acc"] for h in result.history]
    best = val.index(max(val))  # the first evaluation on ties
    assert (result.best_step, result.val_acc) == (steps[best], val[best])
    assert result.best_epoch == result.history[best]["epoch"]
    if result.steps_run < config.max_epochs * steps_per_epoch:  # stopped early: patience evaluations after the best
        assert len(steps) == best + 1 + config.patience
    # the model holds the best step's state: its validation accuracy is the best one
    (xva, yva) = digits["val"]
    assert np.mean(predict_softmax(model, xva).argmax(axis=1) == yva) == pytest.approx(result.val_acc, abs=1e-12)


def test_evaluating_once_per_epoch_is_eval_every_one_epoch(digits):
    steps_per_epoch = -(-len(digits["train"][1]) // FAST.batch_size)
    config = dataclasses.replace(FAST, max_epochs=4, patience=2)
    per_epoch = _train(digits, config, seed=4)
    per_steps = _train(digits, dataclasses.replace(config, eval_every=steps_per_epoch), seed=4)
    assert per_epoch.history == per_steps.history
    assert np.array_equal(per_epoch.test_softmax, per_steps.test_softmax)
    assert (per_epoch.best_step, per_epoch.steps_run) == (per_epoch.best_epoch * steps_per_epoch, per_epoch.epochs_run * steps_per_epoch)


def test_divergence_is_an_error_not_a_result(digits):
    """A NaN loss stops training with one clear error; nothing is returned that a job could save."""
    from labelnoise.training import TrainingDiverged

    config = TrainConfig.defaults(max_epochs=3, patience=3, batch_size=64, optimizer="sgd", lr=1e5, device="cpu", weight_decay=0.0)
    with pytest.raises(TrainingDiverged, match=r"seed 1 of 1 \(seed 0\) diverged: training loss nan by step \d+ \(epoch 1; sgd, lr 100000.0\); lower train.lr"):
        _train(digits, config)
