"""Datasets: sources, the train / clean validation / test split, the prepared file."""

import numpy as np
import pytest

from labelnoise.data import DataError, load_prepared, load_source, prepare_dataset, save_prepared


@pytest.mark.parametrize("source, shape, n", [("mnist5k", (1, 28, 28), 5000), ("digits", (1, 8, 8), 1797)])
def test_sources_give_uint8_images_and_ten_classes(source, shape, n):
    images, labels, names = load_source(source)
    assert images.dtype == np.uint8 and images.shape == (n,) + shape
    assert images.max() > 200  # scaled to the 0..255 range
    assert set(np.unique(labels)) == set(range(10)) and names == [str(d) for d in range(10)]


def test_split_is_a_disjoint_stratified_partition_with_equal_halves():
    data = prepare_dataset("mnist5k", 0.2, np.random.default_rng(0))
    parts = [data.train_idx, data.val_idx, data.test_idx]
    assert sum(map(len, parts)) == 5000
    assert len(np.unique(np.concatenate(parts))) == 5000
    assert (len(data.train_idx), len(data.val_idx), len(data.test_idx)) == (4000, 500, 500)
    for idx in parts:  # every class in every part, in proportion (500 per class in mnist5k)
        counts = np.bincount(data.labels[idx], minlength=10)
        assert counts.min() == counts.max() == len(idx) // 10


def test_split_is_deterministic_given_the_generator():
    a = prepare_dataset("digits", 0.3, np.random.default_rng(3))
    b = prepare_dataset("digits", 0.3, np.random.default_rng(3))
    c = prepare_dataset("digits", 0.3, np.random.default_rng(4))
    assert np.array_equal(a.test_idx, b.test_idx) and not np.array_equal(a.test_idx, c.test_idx)


def test_prepared_file_round_trips(tmp_path):
    data = prepare_dataset("digits", 0.3, np.random.default_rng(0))
    save_prepared(tmp_path / "digits.npz", data)
    back = load_prepared(tmp_path / "digits.npz")
    assert np.array_equal(back.images, data.images) and np.array_equal(back.val_idx, data.val_idx)
    assert back.class_names == data.class_names and back.source == "digits"
    images, labels = back.part("test")
    assert len(images) == len(labels) == len(data.test_idx)
    assert not list(tmp_path.glob(".*part*"))  # no temporary file left behind


def test_damaged_prepared_file_is_detected(tmp_path):
    data = prepare_dataset("digits", 0.3, np.random.default_rng(0))
    data.images[0, 0, 0, 0] ^= 0xFF  # one flipped byte, still a readable file
    save_prepared(tmp_path / "good.npz", data)
    stored = dict(np.load(tmp_path / "good.npz"))
    stored["images"][5, 0, 3, 3] ^= 0x01
    np.savez_compressed(tmp_path / "tampered.npz", **stored)
    with pytest.raises(DataError, match="checksum"):
        load_prepared(tmp_path / "tampered.npz")
    (tmp_path / "truncated.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:500])
    with pytest.raises(DataError, match="cannot be read"):
        load_prepared(tmp_path / "truncated.npz")
    with pytest.raises(DataError, match="does not exist"):
        load_prepared(tmp_path / "missing.npz")


def test_unknown_source_is_named():
    with pytest.raises(ValueError, match="unknown data source 'svhn'"):
        load_source("svhn")
