"""Noise generators (Section 3): exact counts, realised fractions, structure."""

import numpy as np
import pytest

from labelnoise import noise as N
from labelnoise import noise_types


@pytest.fixture
def clean():
    return np.random.default_rng(0).integers(0, 10, size=1001)


@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.25, 0.5, 0.8, 1.0])
def test_exactly_round_gamma_n_labels_are_redrawn(clean, gamma):
    expected = int(np.floor(gamma * len(clean) + 0.5))
    rng = np.random.default_rng(1)
    perm = N.flip_permutation(10)
    for result in (
        N.random_noise(clean, gamma, 10, rng),
        N.flip_noise(clean, gamma, perm, rng),
        N.confusion_noise(clean, gamma, N.random_confusion_matrix(10, rng), rng),
    ):
        assert result.corrupted.sum() == expected
        # untouched samples keep their label
        assert np.array_equal(result.labels[~result.corrupted], clean[~result.corrupted])


def test_corrupted_count_rounds_halves_up():
    assert N.corrupted_count(10, 0.25) == 3  # 2.5 -> 3, not banker's 2
    assert N.corrupted_count(3, 0.5) == 2
    assert N.corrupted_count(7, 0.0) == 0 and N.corrupted_count(7, 1.0) == 7


def test_flip_replaces_every_chosen_label_by_its_counterpart(clean):
    perm = N.flip_permutation(10, shift=3)
    result = N.flip_noise(clean, 0.4, perm, np.random.default_rng(2))
    assert np.array_equal(result.labels[result.corrupted], (clean[result.corrupted] + 3) % 10)
    # every corrupted label differs: realised fraction equals corrupted fraction
    assert result.realised_fraction(clean) == pytest.approx(result.corrupted_fraction)


def test_random_noise_realised_fraction_is_gamma_times_one_minus_one_over_l():
    clean = np.random.default_rng(0).integers(0, 10, size=200_000)
    result = N.random_noise(clean, 0.6, 10, np.random.default_rng(3))
    # new label uniform over all L labels, so 1/L of the re-drawn ones keep their label (Eq. 8)
    assert result.realised_fraction(clean) == pytest.approx(0.6 * 0.9, abs=0.004)
    redrawn = result.labels[result.corrupted]
    assert np.allclose(np.bincount(redrawn, minlength=10) / len(redrawn), 0.1, atol=0.006)


def test_confusion_noise_follows_the_matrix_rows():
    rng = np.random.default_rng(4)
    matrix = N.random_confusion_matrix(4, rng, concentration=1.0)
    clean = np.repeat(np.arange(4), 50_000)
    result = N.confusion_noise(clean, 1.0, matrix, rng)
    for c in range(4):
        observed = np.bincount(result.labels[clean == c], minlength=4) / 50_000
        assert np.allclose(observed, matrix[c], atol=0.01)


def test_concentrated_noise_flips_whole_clusters_only():
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(3), 60)
    features = rng.normal(size=(180, 4)) + np.repeat(np.arange(6), 30)[:, None] * 10.0  # 2 blobs per class
    clusters = N.per_class_kmeans(features, labels, k=2, seed=0)
    chosen = np.array([0, 1, 0])
    perm = N.flip_permutation(3)
    result = N.concentrated_noise(labels, clusters, chosen, perm)
    for c in range(3):
        for cluster in range(2):
            members = (labels == c) & (clusters == cluster)
            flipped = result.corrupted[members]
            assert flipped.all() or not flipped.any()  # whole clusters
            assert flipped.all() == (cluster == chosen[c])
    assert np.array_equal(result.labels[result.corrupted], perm[labels[result.corrupted]])
    # k-means on well separated blobs recovers them: half of each class flipped
    assert result.corrupted_fraction == pytest.approx(0.5)


def test_per_class_kmeans_is_deterministic():
    rng = np.random.default_rng(6)
    features, labels = rng.normal(size=(200, 5)), rng.integers(0, 4, 200)
    a = N.per_class_kmeans(features, labels, 3, seed=7)
    b = N.per_class_kmeans(features, labels, 3, seed=7)
    assert np.array_equal(a, b) and set(np.unique(a)) == {0, 1, 2}


def test_make_noisy_labels_dispatches_through_the_registry_and_is_reproducible(clean):
    perm = N.flip_permutation(10)
    a = noise_types.make_noisy_labels("random", 0.3, clean, 10, np.random.default_rng(8), perm)
    b = noise_types.make_noisy_labels("random", 0.3, clean, 10, np.random.default_rng(8), perm)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.labels, N.random_noise(clean, 0.3, 10, np.random.default_rng(8)).labels)
    flipped = noise_types.make_noisy_labels("flip", 0.3, clean, 10, np.random.default_rng(8), perm)
    assert np.array_equal(flipped.labels, N.flip_noise(clean, 0.3, perm, np.random.default_rng(8)).labels)
    with pytest.raises(KeyError):
        noise_types.make_noisy_labels("gaussian", 0.3, clean, 10, np.random.default_rng(8), perm)


def test_matrices_for_eq6():
    assert np.allclose(noise_types.get("random").matrix(4, N.flip_permutation(4), None), 0.25)
    flip = noise_types.get("flip").matrix(4, N.flip_permutation(4), None)
    assert np.array_equal(flip.argmax(1), [1, 2, 3, 0]) and np.allclose(flip.sum(1), 1)
    assert noise_types.get("concentrated").matrix is None  # not class-conditional: no Eq. 6 matrix


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: N.random_noise(np.zeros(5, int), 1.5, 10, np.random.default_rng()), "gamma"),
        (lambda: N.random_noise(np.array([0, 11]), 0.5, 10, np.random.default_rng()), "labels"),
        (lambda: N.check_permutation(np.array([0, 0, 1])), "not a permutation"),
        (lambda: N.check_permutation(np.array([0, 2, 1])), "different one"),
        (lambda: N.check_confusion_matrix(np.array([[0.5, 0.6], [0.5, 0.5]])), "sum to 1"),
        (lambda: N.check_confusion_matrix(np.array([[1.5, -0.5], [0.5, 0.5]])), "non-negative"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
