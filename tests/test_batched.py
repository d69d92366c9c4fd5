"""Tests for training all seeds of a noise level as one stacked model.

The stacked path must mean the same as S separate ``train_classifier`` runs
(same initial weights, shuffling, labels, optimiser arithmetic and early
stopping per seed) and be deterministic: bit for bit in the seed-major layout
(the CPU's), up to float rounding in the wide one (the GPU's, tested here on
the CPU in float64).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits

from labelnoise import device, training
from labelnoise.selection import selected_test_softmax
from labelnoise.tables import table_columns, training_table
from labelnoise.models import build_model
from labelnoise.seed_stack import STACK_LAYOUTS
from labelnoise.inference import predict_softmax
from labelnoise.device import resolve_precision
from labelnoise.training import TrainConfig, train_classifier, train_seeds, use_batched_seeds

torch.set_num_threads(1)

N_CLASSES = 10
SEEDS = [3, 17, 40]
SGD = TrainConfig.defaults(max_epochs=3, patience=3, batch_size=64, optimizer="sgd", lr=0.02, weight_decay=1e-3, device="cpu")


def _quiet(_line: str) -> None:
    pass


@pytest.fixture(scope="module")
def digits():
    """A small digits problem (600 train, 300 val, 300 test) and per-seed noisy labels.

    The pixels are dithered: on a constant background, max-pooling windows
    hold exactly tied values, and which of them receives the (sub)gradient
    then depends on the last bit of rounding, so a grouped kernel and a dense
    one may legitimately route it differently and the runs drift apart.
    Dithering removes the ties, leaving only rounding differences to compare.
    """
    bunch = load_digits()
    rng = np.random.default_rng(1)
    dither = rng.integers(0, 32, size=bunch.images.shape)
    images = np.round(bunch.images * (220.0 / 16.0) + dither).astype(np.uint8)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))[:1200]
    train, val, test = order[:600], order[600:900], order[900:]
    noisy = np.stack([
        np.where(rng.random(len(train)) < 0.3, rng.integers(0, N_CLASSES, len(train)), labels[train]) for _ in SEEDS
    ])
    return dict(images=images, labels=labels, train=train, val=val, test=test, noisy=noisy)


def _factory():
    return build_model("paper_cnn", 1, 8, N_CLASSES, width=0.5, fc_dim=32)


def _args(d, labels):
    return (d["images"][d["train"]], labels, d["images"][d["val"]], d["labels"][d["val"]],
            d["images"][d["test"]], d["labels"][d["test"]])


def _batched(d, config, seeds=SEEDS, labels=None, factory=_factory, log=_quiet, layout="auto"):
    labels = d["noisy"][: len(seeds)] if labels is None else labels
    config = dataclasses.replace(config, stack_layout=layout, batched_seeds=True)  # one stack
    return train_seeds(factory, seeds, *_args(d, labels), config=config, log=log)


def _separate(d, config, seeds=SEEDS, labels=None):
    labels = d["noisy"][: len(seeds)] if labels is None else labels
    return [train_classifier(_factory(), *_args(d, labels[s]), config=config, seed=seed, log=_quiet) for s, seed in enumerate(seeds)]


def _assert_states_close(a: dict, b: dict, atol: float) -> None:
    assert list(a) == list(b)
    for key in a:
        torch.testing.assert_close(a[key].double(), b[key].double(), rtol=0, atol=atol, msg=key)


def _in_float64(monkeypatch) -> None:
    """Train in float64, where rounding cannot flip a ReLU or max-pooling choice.

    In float32 a pre-activation within rounding of zero can be 0 in one run
    and +1e-7 in the other; in an all-zero max-pooling window that pixel then
    takes the whole window's gradient in one run only, and from there the
    trajectories drift apart (the subgradient is ambiguous, not wrong). In
    float64 such coincidences do not occur, so agreement must be to ~1e-9.
    """
    original = training.preprocess
    monkeypatch.setattr(training, "preprocess", lambda images, device="cpu", what="images": original(images, device, what).double())


def _factory64():
    return _factory().double()


@pytest.fixture(scope="module")
def sgd_runs(digits):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _in_float64(monkeypatch)
        batched = _batched(digits, SGD, factory=_factory64, layout="wide")
        separate = [
            train_classifier(_factory64(), *_args(digits, digits["noisy"][s]), config=SGD, seed=seed, log=_quiet)
            for s, seed in enumerate(SEEDS)
        ]
    return batched, separate


def test_batched_sgd_matches_separate_runs(sgd_runs, digits):
    batched, separate = sgd_runs
    for b, s in zip(batched, separate):
        assert [h["epoch"] for h in b.history] == [h["epoch"] for h in s.history]
        np.testing.assert_allclose([h["train_loss"] for h in b.history], [h["train_loss"] for h in s.history], rtol=1e-9)
        assert [h["val_acc"] for h in b.history] == [h["val_acc"] for h in s.history]
        assert [h["train_acc"] for h in b.history] == [h["train_acc"] for h in s.history]
        assert (b.best_epoch, b.epochs_run, b.test_acc) == (s.best_epoch, s.epochs_run, s.test_acc)
        _assert_states_close(b.state_dict, s.state_dict, atol=1e-9)
        np.testing.assert_allclose(b.test_softmax, s.test_softmax, atol=1e-6)  # float32 evaluation


def test_batched_float32_agrees_closely(digits):
    """In float32 the wide layout's first epoch agrees to rounding except after a rare subgradient flip (see above)."""
    config = dataclasses.replace(SGD, max_epochs=1)
    batched, separate = _batched(digits, config, layout="wide"), _separate(digits, config)
    for b, s in zip(batched, separate):
        assert b.history[0]["train_loss"] == pytest.approx(s.history[0]["train_loss"], rel=1e-3)
        assert abs(b.val_acc - s.val_acc) <= 0.05
        weights = [k for k, v in s.state_dict.items() if v.is_floating_point()]
        flat_b = torch.cat([b.state_dict[k].flatten() for k in weights])
        flat_s = torch.cat([s.state_dict[k].flatten() for k in weights])
        assert torch.linalg.norm(flat_b - flat_s) <= 0.02 * torch.linalg.norm(flat_s)
    # Most seeds do not meet a flip at all and match to float rounding.
    tight = sum(
        all(torch.allclose(b.state_dict[k].double(), s.state_dict[k].double(), atol=1e-5) for k in s.state_dict)
        for b, s in zip(batched, separate)
    )
    assert tight >= 1


def test_batched_result_is_each_seeds_best_state(sgd_runs, digits):
    batched, _ = sgd_runs
    test_images, test_labels = digits["images"][digits["test"]], digits["labels"][digits["test"]]
    for result in batched:
        assert result.test_softmax.shape == (len(test_labels), N_CLASSES) and result.test_softmax.dtype == np.float32
        model = _factory64()
        model.load_state_dict(result.state_dict)
        np.testing.assert_allclose(predict_softmax(model.float(), test_images), result.test_softmax, rtol=1e-4, atol=1e-5)
        assert result.val_acc == max(h["val_acc"] for h in result.history)
        assert all(v.device.type == "cpu" and v.is_contiguous() for v in result.state_dict.values())
    # Different seeds and labels give different networks.
    assert not np.array_equal(batched[0].test_softmax, batched[1].test_softmax)


def test_batched_adam_matches_separate_runs(digits, monkeypatch):
    """Adam is element-wise, so one optimiser over the stack is S independent ones.

    Excepted: the bias of the fc before BatchNorm, whose true gradient is
    zero; Adam normalises its rounding noise into lr-sized steps in both runs
    (differently), and the BN running mean follows it. Neither changes a logit.
    """
    _in_float64(monkeypatch)
    config = dataclasses.replace(SGD, optimizer="adam", lr=1e-3, max_epochs=2)
    batched = _batched(digits, config, seeds=SEEDS[:2], factory=_factory64, layout="wide")
    separate = [
        train_classifier(_factory64(), *_args(digits, digits["noisy"][s]), config=config, seed=seed, log=_quiet)
        for s, seed in enumerate(SEEDS[:2])
    ]
    for b, s in zip(batched, separate):
        np.testing.assert_allclose([h["train_loss"] for h in b.history], [h["train_loss"] for h in s.history], rtol=1e-7)
        zero_gradient = {"fc_hidden.bias", "fc_hidden_bn.running_mean"}
        keep = [k for k in s.state_dict if k not in zero_gradient]
        _assert_states_close({k: b.state_dict[k] for k in keep}, {k: s.state_dict[k] for k in keep}, atol=1e-7)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_seed_major_batched_equals_separate_runs_bit_for_bit(digits, optimizer):
    """Float32, channels_last, seeds selected at different epochs: every number is a lone run's."""
    config = dataclasses.replace(SGD, optimizer=optimizer, lr=0.02 if optimizer == "sgd" else 1e-3, max_epochs=6, patience=1)
    clean = digits["labels"][digits["train"]]
    unrelated = np.random.default_rng(7).integers(0, N_CLASSES, len(clean))
    labels = np.stack([clean, unrelated, digits["noisy"][2]])
    batched = _batched(digits, config, labels=labels, layout="seed_major")
    separate = _separate(digits, config, labels=labels)
    assert len({r.best_step for r in separate}) > 1  # the selected states differ between the seeds
    for b, s in zip(batched, separate):
        assert b.history == s.history
        assert (b.best_epoch, b.epochs_run, b.val_acc, b.test_acc) == (s.best_epoch, s.epochs_run, s.val_acc, s.test_acc)
        assert list(b.state_dict) == list(s.state_dict)
        assert all(torch.equal(b.state_dict[k], s.state_dict[k]) for k in s.state_dict)
        assert np.array_equal(b.test_softmax, s.test_softmax)


def test_batched_is_deterministic(digits):
    config = dataclasses.replace(SGD, max_epochs=2)
    first = _batched(digits, config, seeds=SEEDS[:2])
    torch.rand(10)  # disturb the global RNG
    second = _batched(digits, config, seeds=SEEDS[:2])
    for a, b in zip(first, second):
        assert a.history == b.history
        assert np.array_equal(a.test_softmax, b.test_softmax)
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)


@pytest.mark.parametrize("layout", STACK_LAYOUTS)
def test_each_seed_selects_on_its_own(digits, layout):
    """A seed trained on labels unrelated to the images stalls: its clean-validation rule stops early and keeps an
    early state, while it trains on with the clean seed to the end of the budget."""
    config = dataclasses.replace(SGD, max_epochs=6, patience=1)
    clean = digits["labels"][digits["train"]]
    unrelated = np.random.default_rng(7).integers(0, N_CLASSES, len(clean))
    lines: list[str] = []
    results = _batched(digits, config, seeds=SEEDS[:2], labels=np.stack([clean, unrelated]), log=lines.append, layout=layout)
    learned, stalled = results
    assert stalled.best_epoch < learned.best_epoch
    assert stalled.epochs_run == learned.epochs_run == config.max_epochs == len(stalled.history) == len(learned.history)
    assert learned.test_acc > 0.8 and stalled.test_acc < 0.5
    # The stalled seed's reported state is its selected one, not the stack's last.
    model = _factory()
    model.load_state_dict(stalled.state_dict)
    np.testing.assert_allclose(predict_softmax(model, digits["images"][digits["test"]]), stalled.test_softmax, atol=1e-5)
    assert sum(line.startswith("epoch ") for line in lines) == config.max_epochs


def test_bf16_autocast_and_layouts_on_cpu(digits):
    """The GPU settings (bf16 autocast, channels_last) run on CPU and still learn."""
    config = dataclasses.replace(SGD, max_epochs=2, precision="bf16", channels_last=True)
    batched = _batched(digits, config, seeds=SEEDS[:2])
    single = train_classifier(_factory(), *_args(digits, digits["noisy"][0]), config=config, seed=SEEDS[0], log=_quiet)
    for result in (*batched, single):
        assert result.val_acc > 0.5 and np.isfinite(result.history[-1]["train_loss"])
        assert all(v.dtype in (torch.float32, torch.int64) for v in result.state_dict.values())
    plain = _batched(digits, dataclasses.replace(SGD, max_epochs=2, channels_last=False), seeds=SEEDS[:1])
    assert plain[0].val_acc > 0.5


def test_batched_allcnn_c_with_dropout_runs_deterministically(digits):
    padded = dict(digits, images=np.pad(digits["images"], ((0, 0), (0, 0), (2, 2), (2, 2))))
    factory = lambda: build_model("allcnn_c", 1, 12, N_CLASSES, width=0.1)  # noqa: E731
    config = dataclasses.replace(SGD, max_epochs=1)
    first = _batched(padded, config, seeds=SEEDS[:2], factory=factory)
    second = _batched(padded, config, seeds=SEEDS[:2], factory=factory)
    assert [r.history for r in first] == [r.history for r in second]
    assert np.array_equal(first[1].test_softmax, second[1].test_softmax)


def test_batched_seeds_keep_the_training_table(digits):
    d = digits
    corrupted = d["noisy"][:2] != d["labels"][d["train"]]
    coordinates = dict(dataset="digits", noise="random", level="0.30", nominal_gamma=0.3)
    config = dataclasses.replace(SGD, max_epochs=2)
    tables, logs = {}, {True: [], False: []}
    for batched in (True, False):
        results = train_seeds(_factory, SEEDS[:2], *_args(d, d["noisy"][:2]),
                              config=dataclasses.replace(config, batched_seeds=batched), log=logs[batched].append)
        tables[batched] = training_table(results, SEEDS[:2], d["noisy"][:2], corrupted, d["labels"][d["train"]],
                                         coordinates, config.selection)
        assert list(tables[batched].columns) == table_columns() and len(tables[batched]) == 2
        softmax = selected_test_softmax(results)
        assert sorted(softmax) == ["softmax", "softmax_clean_val", "softmax_final", "softmax_label_wave"]  # no noisy labels
        assert softmax["softmax"].shape == (2, len(d["test"]), N_CLASSES) and softmax["softmax"].dtype == np.float32
        assert np.array_equal(softmax["softmax"], softmax["softmax_clean_val"])  # the reported protocol's
        assert tables[batched]["noisy_val_test_acc"].isna().all() and (tables[batched]["selection"] == "clean_val").all()
    assert logs[True][0].startswith("training 2 seeds as one stacked model")
    assert logs[False][0].startswith("seed 1/2 (seed 3): training on 600 labels")
    # On the CPU the stack is seed-major: the same numbers as the loop, bit for bit.
    numbers = [column for column in table_columns() if column != "wall_s"]
    pd.testing.assert_frame_equal(tables[True][numbers], tables[False][numbers])


def test_device_dependent_defaults(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_precision("auto", cuda) is torch.bfloat16
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", cpu) is None  # emulated bf16 is slower than fp32
    monkeypatch.setattr(device, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision("auto", cpu) is torch.bfloat16
    assert resolve_precision("fp32", cuda) is None and resolve_precision("bf16", cpu) is torch.bfloat16
    assert use_batched_seeds(TrainConfig.defaults(device="cpu")) is False
    assert use_batched_seeds(TrainConfig.defaults(device="auto")) is torch.cuda.is_available()
    assert use_batched_seeds(TrainConfig.defaults(device="cpu", batched_seeds=True)) is True


@pytest.mark.parametrize(
    "field, value", [("precision", "fp16"), ("batched_seeds", "yes"), ("batched_seeds", 1), ("stack_layout", "tall")]
)
def test_bad_new_config_values_raise(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig.defaults(**{field: value})


def test_bad_batched_inputs_raise(digits):
    labels = digits["noisy"]
    with pytest.raises(ValueError, match=r"labels_train_per_seed\[0\] must have shape"):
        _batched(digits, SGD, seeds=SEEDS[:2], labels=labels)
    with pytest.raises(ValueError, match=r"labels_train_per_seed\[1\] must lie"):
        _batched(digits, SGD, seeds=SEEDS[:2], labels=np.stack([labels[0], labels[1] + N_CLASSES]))
