"""Resume after pre-emption: a training killed mid-run goes on from its checkpoint, bit for bit on the CPU."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from labelnoise.models import build_model
from labelnoise.resume import read_checkpoint
from labelnoise.training import TrainConfig, train_seeds

SEEDS = [5, 11]
#: Evaluation every 7 of the 10 steps of an epoch: checkpoints fall inside epochs, not only at their ends. The
#: augmentation draws must resume too; the two seeds train as one stack, so there is one checkpoint (seeds.pt).
CONFIG = TrainConfig.defaults(max_epochs=6, patience=20, batch_size=64, eval_every=7, optimizer="adam", lr=0.003, device="cpu",
                              lr_schedule="onecycle", hflip=True, translate=2, weight_decay=0.0, batched_seeds=True)


def problem() -> dict:
    """Digits upscaled to 16x16 (All-CNN-C needs >= 9 pixels), 600 / 200 / 200, 30% random labels per seed."""
    bunch = load_digits()
    images = np.kron(bunch.images, np.ones((2, 2)))[:, None] * (255.0 / 16.0)
    images = images.astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(labels))[:1000]
    train, val, test = order[:600], order[600:800], order[800:]
    rng = np.random.default_rng(1)
    noisy = np.stack([np.where(rng.random(600) < 0.3, rng.integers(0, 10, 600), labels[train]) for _ in SEEDS])
    noisy_val = np.stack([np.where(rng.random(200) < 0.3, rng.integers(0, 10, 200), labels[val]) for _ in SEEDS])
    return dict(images_train=images[train], labels_train_per_seed=noisy, images_val=images[val], labels_val=labels[val],
                images_test=images[test], labels_test=labels[test], labels_val_noisy_per_seed=noisy_val)


def factory():
    """All-CNN-C with dropout: its masks come from the global RNG stream, which the checkpoint must carry too."""
    return build_model("allcnn_c", 1, 16, 10, width=0.1)


def train(arrays: dict, config=CONFIG, **kwargs):
    torch.set_num_threads(1)
    return train_seeds(factory, SEEDS, **arrays, config=config, **kwargs)


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    sys.path.insert(0, sys.argv[3])
    import test_resume as t
    arrays = dict(np.load(sys.argv[1]))
    t.train(arrays, resume_dir=sys.argv[2], log=lambda line: print(line, flush=True))
""")


def assert_identical(a, b) -> None:
    for left, right in zip(a, b, strict=True):
        assert set(left.selections) == set(right.selections) == {"clean_val", "noisy_val", "label_wave", "final"}
        for protocol, chosen in left.selections.items():  # every protocol's state, Label Wave's counts included
            other = right.selections[protocol]
            assert {k: v for k, v in chosen.items() if k != "test_softmax"} == {k: v for k, v in other.items() if k != "test_softmax"}
            assert np.array_equal(chosen["test_softmax"], other["test_softmax"])
        assert np.array_equal(left.test_softmax, right.test_softmax)
        assert (left.val_acc, left.test_acc, left.best_step, left.steps_run) == (right.val_acc, right.test_acc, right.best_step, right.steps_run)
        assert left.history == right.history
        assert all(torch.equal(left.state_dict[key], right.state_dict[key]) for key in left.state_dict)


@pytest.mark.slow
def test_a_training_killed_mid_run_resumes_to_the_uninterrupted_result(tmp_path):
    arrays = problem()
    np.savez(tmp_path / "arrays.npz", **arrays)
    resume_dir = tmp_path / "resume"
    checkpoint = resume_dir / "seeds.pt"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "arrays.npz"), str(resume_dir),
                              os.path.dirname(__file__)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        for line in child.stdout:  # killed once epoch 2 is logged: its last checkpoint lies inside an epoch
            if line.startswith("epoch 2/"):
                break
            assert time.monotonic() < deadline
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    saved = read_checkpoint(checkpoint)
    assert not saved["finished"] and saved["step"] % 10 != 0  # mid-epoch, mid-run

    lines: list[str] = []
    resumed = train(arrays, resume_dir=resume_dir, log=lines.append)
    assert any(line.startswith(f"resuming from {checkpoint}: epoch ") for line in lines), lines
    assert_identical(resumed, train(arrays))  # the same numbers as a run never killed

    # a finished checkpoint gives the results without training; one of another training is ignored
    lines.clear()
    assert_identical(train(arrays, resume_dir=resume_dir, log=lines.append), resumed)
    assert any("(training had finished)" in line for line in lines) and not any(line.startswith("epoch") for line in lines)
    lines.clear()
    other = dataclasses.replace(CONFIG, lr=0.002, max_epochs=1)
    train(arrays, config=other, resume_dir=resume_dir, log=lines.append)
    assert lines[1] == f"resume checkpoint {checkpoint} is of another training (settings, labels or seeds); training from the start"


def test_without_a_resume_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arrays = problem()
    train(arrays, config=dataclasses.replace(CONFIG, max_epochs=1), log=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_checkpoint_that_still_unpickles_is_not_resumed(tmp_path):
    """Bytes of a finished checkpoint's weights overwritten: torch would load it (it checks no CRC), the digest refuses
    it, the log says so, and the training starts over, to the uninterrupted result."""
    arrays = problem()
    config = dataclasses.replace(CONFIG, max_epochs=2)
    checkpoint = tmp_path / "seeds.pt"
    reference = train(arrays, config=config, resume_dir=tmp_path, log=lambda line: None)
    raw = bytearray(checkpoint.read_bytes())
    middle = len(raw) // 2
    raw[middle:middle + 8] = bytes(8)  # inside the tensor data of the zip archive
    checkpoint.write_bytes(bytes(raw))
    with open(checkpoint, "rb") as handle:  # it still loads without the digest check: the damage would go unseen
        torch.load(io.BytesIO(handle.read()[:-32]), weights_only=True)
    lines: list[str] = []
    again = train(arrays, config=config, resume_dir=tmp_path, log=lines.append)
    assert lines[1] == f"resume checkpoint {checkpoint} is damaged (its SHA-256 does not match its contents); training from the start"
    assert any(line.startswith("epoch 1/") for line in lines)  # trained again, not taken from the damaged state
    assert_identical(again, reference)
