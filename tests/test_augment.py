"""Augmentation (random flips and translations) and the learning-rate schedule, against their definitions."""

import numpy as np
import pytest
import torch

from labelnoise.augment import flip_and_translate
from labelnoise.training import TrainConfig, scheduled_lr


def images(n: int = 64) -> torch.Tensor:
    return torch.arange(n * 2 * 6 * 7, dtype=torch.float32).reshape(n, 2, 6, 7)


def test_off_is_the_identity():
    x = images()
    assert flip_and_translate(x, torch.Generator().manual_seed(0), hflip=False, translate=0) is x


def test_every_output_is_a_reflect_padded_shift_of_its_input_possibly_mirrored():
    x, translate = images(400), 2
    out = flip_and_translate(x, torch.Generator().manual_seed(1), hflip=True, translate=translate)
    padded = torch.nn.functional.pad(x, (translate,) * 4, mode="reflect")
    seen_offsets, flipped = set(), 0
    for i in range(len(x)):
        matches = [(dy, dx, mirror) for dy in range(2 * translate + 1) for dx in range(2 * translate + 1) for mirror in (0, 1)
                   if torch.equal(out[i], (lambda c: c.flip(2) if mirror else c)(padded[i, :, dy:dy + 6, dx:dx + 7]))]
        assert matches, i
        dy, dx, mirror = matches[0]
        seen_offsets.add((dy - translate, dx - translate))
        flipped += mirror
    assert seen_offsets == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}  # every shift occurs, no other
    assert abs(flipped / len(x) - 0.5) < 0.1


def test_augmentation_is_a_function_of_the_generator():
    x = images()
    a = flip_and_translate(x, torch.Generator().manual_seed(3), hflip=True, translate=3)
    b = flip_and_translate(x, torch.Generator().manual_seed(3), hflip=True, translate=3)
    c = flip_and_translate(x, torch.Generator().manual_seed(4), hflip=True, translate=3)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_constant_schedule_is_the_learning_rate():
    config = TrainConfig.defaults(lr=0.05)
    assert {scheduled_lr(config, step, 100) for step in range(1, 101)} == {0.05}


def test_onecycle_rises_linearly_to_lr_then_falls_linearly_towards_zero():
    config = TrainConfig.defaults(lr=0.1, lr_schedule="onecycle", warmup_fraction=0.2)
    rates = np.array([scheduled_lr(config, step, 100) for step in range(1, 101)])
    assert rates[:20] == pytest.approx(0.1 * np.arange(1, 21) / 20)  # 20 warm-up steps end at lr
    assert rates[19] == pytest.approx(0.1) and rates.max() == pytest.approx(0.1)
    assert np.diff(rates[19:]) == pytest.approx(np.full(80, -0.1 / 81))  # then a straight line down
    assert rates[-1] == pytest.approx(0.1 / 81) and (rates > 0).all()
