"""The real CIFAR-10 (binary version) through the `cifar10` source, and CIFAR-10N's labels, when the machine has them.

The project does not ship them: these tests run where ``../shared/data/cifar10``
(beside the repository) holds the extracted official binary version and
``../shared/data/cifar10n`` CIFAR-10N's ``CIFAR-10_human.pt``; they are skipped
elsewhere.
"""

from pathlib import Path

import numpy as np
import pytest

from labelnoise.data import prepare_dataset
from labelnoise.readers import CIFAR10_CLASS_NAMES
from labelnoise.human_labels import read_human_labels

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_CIFAR10 = SHARED / "cifar10" / "cifar-10-batches-bin"
CIFAR10N = SHARED / "cifar10n" / "CIFAR-10_human.pt"


@pytest.fixture(scope="module")
def data():
    if not REAL_CIFAR10.is_dir():
        pytest.skip(f"the real CIFAR-10 binary version is not at {REAL_CIFAR10}")
    return prepare_dataset("cifar10", 0.2, np.random.default_rng(0), data_dir=REAL_CIFAR10, download=False)


def test_real_cifar10_loads_with_the_papers_split(data):
    assert data.images.shape == (60000, 3, 32, 32) and data.images.dtype == np.uint8
    assert data.class_names == CIFAR10_CLASS_NAMES
    assert np.array_equal(data.train_idx, np.arange(50000))
    assert np.bincount(data.labels[data.train_idx]).tolist() == [5000] * 10
    val, test = data.labels[data.val_idx], data.labels[data.test_idx]
    assert np.bincount(val).tolist() == np.bincount(test).tolist() == [500] * 10  # the official test set halved, stratified
    assert sorted(np.concatenate([data.val_idx, data.test_idx]).tolist()) == list(range(50000, 60000))
    assert sorted(data.source_md5) == [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    # the published per-channel statistics of the training images (on [0, 1])
    train = data.images[data.train_idx].astype(np.float64) / 255
    assert train.mean(axis=(0, 2, 3)) == pytest.approx([0.4914, 0.4822, 0.4465], abs=1e-4)


@pytest.mark.skipif(not CIFAR10N.is_file(), reason=f"CIFAR-10N's label file is not at {CIFAR10N}")
def test_cifar10n_clean_labels_are_the_training_labels(data):
    train_labels = data.labels[data.train_idx]
    worse = read_human_labels(CIFAR10N, "worse_label", n_classes=10, expected_clean=train_labels)  # checks clean_label
    assert np.mean(worse != train_labels) == pytest.approx(0.4021, abs=1e-4)
