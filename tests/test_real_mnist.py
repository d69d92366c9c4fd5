"""The real 60,000 / 10,000 MNIST files through the `mnist` source, when the machine has them.

The project does not ship them: this test runs where ``../shared/data/mnist``
(beside the repository) holds the four official files, uncompressed, and is
skipped elsewhere.
"""

from pathlib import Path

import numpy as np
import pytest

from labelnoise.data import prepare_dataset

REAL_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
# Training images per digit 0..9 in the official training set (LeCun et al.; the published class counts).
OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
OFFICIAL_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"the real MNIST files are not at {REAL_MNIST}")
def test_real_mnist_loads_with_the_papers_split():
    data = prepare_dataset("mnist", 0.2, np.random.default_rng(0), data_dir=REAL_MNIST, download=False)
    assert data.images.shape == (70000, 1, 28, 28) and data.images.dtype == np.uint8
    assert np.array_equal(data.train_idx, np.arange(60000))
    assert np.bincount(data.labels[data.train_idx]).tolist() == OFFICIAL_TRAIN_COUNTS
    val, test = data.labels[data.val_idx], data.labels[data.test_idx]
    assert len(val) == len(test) == 5000  # the official test set halved (Section 5)
    assert (np.bincount(val) + np.bincount(test)).tolist() == OFFICIAL_TEST_COUNTS
    assert np.abs(np.bincount(val) - np.bincount(test)).max() <= 1  # stratified
    assert sorted(np.concatenate([data.val_idx, data.test_idx]).tolist()) == list(range(60000, 70000))
    assert set(data.source_md5) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
