"""Instance-dependent noise, the realised transition matrix and human labels read from files."""

import os
import pickle
import shlex
import zipfile

import numpy as np
import pytest
import torch

from labelnoise import noise as N
from labelnoise import noise_types
from labelnoise.download import DataError
from labelnoise.human_labels import human_noise, read_human_labels

# --- instance-dependent noise -------------------------------------------------------------------------------------

#: Six samples of three classes. Most likely wrong class and its probability, per sample:
#: 0 -> 2 (0.4), 1 -> 1 (0.05, tie of classes 1 and 2: the lower wins), 2 -> 0 (0.3), 3 -> 2 (0.7),
#: 4 -> 1 (0.4, tie of classes 1 and 2), 5 -> 0 (0.1, tie of classes 0 and 1).
HAND_LABELS = np.array([0, 0, 1, 1, 2, 2])
HAND_SOFTMAX = np.array(
    [
        [0.5, 0.1, 0.4],
        [0.9, 0.05, 0.05],
        [0.3, 0.6, 0.1],
        [0.05, 0.25, 0.7],
        [0.2, 0.4, 0.4],
        [0.1, 0.1, 0.8],
    ]
)


def test_most_likely_wrong_class_on_a_hand_made_softmax():
    classes, probabilities = N.most_likely_wrong_class(HAND_LABELS, HAND_SOFTMAX)
    assert classes.tolist() == [2, 1, 0, 2, 1, 0]
    assert np.allclose(probabilities, [0.4, 0.05, 0.3, 0.7, 0.4, 0.1])


@pytest.mark.parametrize(
    "gamma, changed, new_labels",
    [
        (0.0, [], []),
        (1 / 6, [3], [2]),  # the sample the clean model most confuses
        (2 / 6, [0, 3], [2, 2]),  # samples 0 and 4 tie at 0.4: the lower index goes first
        (0.5, [0, 3, 4], [2, 2, 1]),
        (1.0, [0, 1, 2, 3, 4, 5], [2, 1, 0, 2, 1, 0]),
    ],
)
def test_instance_noise_relabels_the_most_confusable_samples_to_their_likeliest_wrong_class(gamma, changed, new_labels):
    result = N.instance_noise(HAND_LABELS, gamma, HAND_SOFTMAX)
    assert np.flatnonzero(result.corrupted).tolist() == changed
    assert result.labels[changed].tolist() == new_labels
    assert np.array_equal(result.labels[~result.corrupted], HAND_LABELS[~result.corrupted])
    assert result.labels.dtype == np.int64


@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.25, 0.5, 0.8, 1.0])
def test_instance_noise_changes_exactly_round_gamma_n_labels_each_to_a_wrong_class(gamma):
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 10, size=1001)
    softmax = rng.dirichlet(np.full(10, 0.5), size=len(clean))
    result = N.instance_noise(clean, gamma, softmax)
    changed = result.labels != clean
    assert changed.sum() == N.corrupted_count(len(clean), gamma)
    assert np.array_equal(changed, result.corrupted)  # every re-drawn label changes
    assert result.realised_fraction(clean) == result.corrupted_fraction
    targets, scores = N.most_likely_wrong_class(clean, softmax)
    assert np.array_equal(result.labels[changed], targets[changed])
    if 0 < changed.sum() < len(clean):  # no kept sample is more confusable than a relabelled one
        assert scores[changed].min() >= scores[~changed].max()


def test_instance_noise_through_the_dispatch_is_deterministic():
    rng = np.random.default_rng(1)
    clean = rng.integers(0, 4, size=200)
    softmax = rng.dirichlet(np.ones(4), size=200)
    perm = N.flip_permutation(4)
    a = noise_types.make_noisy_labels("instance", 0.3, clean, 4, np.random.default_rng(1), perm, train_softmax=softmax)
    b = noise_types.make_noisy_labels("instance", 0.3, clean, 4, np.random.default_rng(2), perm, train_softmax=softmax)
    assert "instance" in noise_types.names(synthetic=True) and noise_types.nominal_gamma("instance", 0.3) == 0.3
    assert noise_types.get("instance").needs == ("train_softmax",)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.labels, N.instance_noise(clean, 0.3, softmax).labels)
    assert "at the cut-off" in a.note


@pytest.mark.parametrize(
    "softmax, message",
    [
        (np.full(6, 1 / 3), r"shape \(N, L\)"),
        (np.ones((6, 1)), r"L >= 2"),
        (HAND_SOFTMAX[:5], r"labels must have shape \(5,\)"),
        (np.where(np.arange(3) == 0, np.nan, HAND_SOFTMAX), "finite"),
        (HAND_SOFTMAX * [[-1], [1], [1], [1], [1], [1]], "non-negative"),
        (HAND_SOFTMAX * [[1], [1], [1.5], [1], [1], [1]], "row 2 sums to 1.5"),
    ],
)
def test_a_bad_softmax_is_rejected_with_one_line(softmax, message):
    with pytest.raises(ValueError, match=message) as err:
        N.instance_noise(HAND_LABELS, 0.5, softmax)
    assert "\n" not in str(err.value)


# --- the realised transition matrix ----------------------------------------------------------------------------------


def test_realised_transition_matrix_counts_noisy_labels_per_clean_class():
    clean = np.array([0, 0, 0, 0, 1, 1, 2])
    noisy = np.array([0, 1, 1, 2, 1, 0, 2])
    expected = np.array(
        [
            [1 / 4, 2 / 4, 1 / 4, 0],
            [1 / 2, 1 / 2, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],  # class 3 has no samples: identity row
        ]
    )
    assert np.allclose(N.realised_transition_matrix(clean, noisy, 4), expected)
    with pytest.raises(ValueError, match=r"noisy labels must have shape \(7,\)"):
        N.realised_transition_matrix(clean, noisy[:6], 4)


def test_realised_transition_matrix_of_full_flip_noise_is_its_permutation_matrix():
    clean = np.random.default_rng(2).integers(0, 5, size=300)
    perm = N.flip_permutation(5, shift=2)
    flipped = N.flip_noise(clean, 1.0, perm, np.random.default_rng(3))
    assert np.array_equal(N.realised_transition_matrix(clean, flipped.labels, 5), N.permutation_matrix(perm))


# --- human labels --------------------------------------------------------------------------------------------------

N_SAMPLES, N_CLASSES = 40, 10
CIFAR10N_KEYS = ("clean_label", "aggre_label", "worse_label", "random_label1", "random_label2", "random_label3")


@pytest.fixture
def clean():
    return np.random.default_rng(4).integers(0, N_CLASSES, size=N_SAMPLES)


@pytest.fixture
def annotations(clean):
    """A CIFAR-10N-like dict: clean_label and five noisy versions of it."""
    rng = np.random.default_rng(5)
    labels = {"clean_label": clean.copy()}
    for key in CIFAR10N_KEYS[1:]:
        noisy = clean.copy()
        redrawn = rng.random(N_SAMPLES) < 0.3
        noisy[redrawn] = rng.integers(0, N_CLASSES, size=int(redrawn.sum()))
        labels[key] = noisy
    return labels


def _pt(tmp_path, content, name="CIFAR-10_human.pt"):
    path = tmp_path / name
    torch.save(content, path)
    return path


def _read(path, key=None, **kwargs):
    return read_human_labels(path, key, n_classes=N_CLASSES, **kwargs)


def test_pt_dict_of_numpy_arrays_loads_by_key(tmp_path, clean, annotations):
    path = _pt(tmp_path, annotations)
    for key in ("aggre_label", "worse_label", "random_label3"):
        labels = _read(path, key, expected_clean=clean)
        assert labels.dtype == np.int64 and np.array_equal(labels, annotations[key])


def test_pt_of_one_array_or_tensor_and_of_small_dtypes(tmp_path, clean):
    assert np.array_equal(_read(_pt(tmp_path, torch.from_numpy(clean), "t.pt"), n_samples=N_SAMPLES), clean)
    assert np.array_equal(_read(_pt(tmp_path, {"noisy": clean.astype(np.uint8)}, "u8.pt")), clean)


def test_pt_written_with_numpy_1_module_names_loads(tmp_path, annotations):
    """The published CIFAR-10_human.pt pickles numpy's helper as numpy.core.multiarray (numpy 1.x)."""
    path = _pt(tmp_path, annotations)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    pickled = next(name for name in members if name.endswith("data.pkl"))
    assert b"numpy._core.multiarray" in members[pickled]
    members[pickled] = members[pickled].replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert np.array_equal(_read(path, "aggre_label"), annotations["aggre_label"])


def test_npy_and_csv_with_or_without_header(tmp_path, clean):
    np.save(tmp_path / "labels.npy", clean)
    assert np.array_equal(_read(tmp_path / "labels.npy", expected_clean=clean), clean)
    (tmp_path / "plain.csv").write_text("\n".join(map(str, clean)) + "\n")
    (tmp_path / "header.csv").write_text("label_noisy\r\n" + "\r\n".join(map(str, clean)) + "\r\n")
    for name in ("plain.csv", "header.csv"):
        labels = _read(tmp_path / name, n_samples=N_SAMPLES)
        assert labels.dtype == np.int64 and np.array_equal(labels, clean)


def test_human_noise_marks_the_labels_that_differ(clean, annotations):
    result = human_noise(clean, annotations["worse_label"])
    assert np.array_equal(result.corrupted, annotations["worse_label"] != clean)
    assert np.array_equal(result.labels, annotations["worse_label"])
    assert result.realised_fraction(clean) == result.corrupted_fraction > 0


def _bad_cases(tmp_path, clean, annotations):
    """(file, key, keyword arguments, expected message) of each malformed input."""
    wrong_clean = {**annotations, "clean_label": np.where(np.arange(N_SAMPLES) >= 7, (clean + 1) % N_CLASSES, clean)}
    out_of_range = clean.copy()
    out_of_range[3] = N_CLASSES
    np.save(tmp_path / "short.npy", clean[:-1])
    np.save(tmp_path / "float.npy", clean.astype(np.float64))
    np.save(tmp_path / "range.npy", out_of_range)
    (tmp_path / "two_columns.csv").write_text("0,1\n2,3\n")
    (tmp_path / "decimal.csv").write_text("label\n1\n2.5\n")
    (tmp_path / "labels.txt").write_text("1\n")
    (tmp_path / "garbage.pt").write_bytes(b"not a torch file")
    (tmp_path / "garbage.npy").write_bytes(b"not a numpy file")
    (tmp_path / "empty.pt").write_bytes(b"")
    pt = _pt(tmp_path, annotations)
    exact = {"n_samples": N_SAMPLES}
    return [
        (tmp_path / "labels.txt", None, {}, r"unknown human-label format '\.txt'"),
        (tmp_path / "absent.npy", None, {}, "no such file"),
        (tmp_path / "garbage.pt", None, {}, "not a plain .pt file of label arrays and was refused"),
        (tmp_path / "empty.pt", None, {}, r"not a readable .pt file \(EOFError\)"),
        (tmp_path / "garbage.npy", None, {}, "not a readable .npy file"),
        (pt, "aggregate", {}, r"no key 'aggregate' \(available: \['aggre_label', 'clean_label'"),
        (pt, None, {}, "several label arrays; name one with key"),
        (tmp_path / "short.npy", None, exact, rf"the file must have shape \({N_SAMPLES},\), one label per sample, got \({N_SAMPLES - 1},\)"),
        (tmp_path / "short.npy", "aggre_label", {}, "key 'aggre_label' does not apply"),
        (tmp_path / "float.npy", None, exact, "the file must be a 1-D integer array, got float64"),
        (tmp_path / "range.npy", None, exact, r"the file must lie in 0\.\.9: 1 labels outside \(first: index 3, label 10\)"),
        (tmp_path / "two_columns.csv", None, {}, "line 1 is '0,1', expected one integer label"),
        (tmp_path / "decimal.csv", None, {}, "line 3 is '2.5', expected one integer label"),
        (_pt(tmp_path, wrong_clean, "wrong.pt"), "aggre_label", {"expected_clean": clean},
         f"'clean_label' differs .* at {N_SAMPLES - 7} of {N_SAMPLES} samples \\(first: index 7\\)"),
    ]


def test_each_bad_file_raises_one_clear_error_naming_it(tmp_path, clean, annotations):
    for path, key, kwargs, message in _bad_cases(tmp_path, clean, annotations):
        with pytest.raises(DataError, match=message) as err:
            _read(path, key, **kwargs)
        assert str(path) in str(err.value) and "\n" not in str(err.value), str(err.value)


class _CreatesMarker:
    """Unpickling this runs ``action(argument)``: a pickle that executes code."""

    def __init__(self, action, argument):
        self.action, self.argument = action, argument

    def __reduce__(self):
        return self.action, (self.argument,)


def _malicious_files(tmp_path, marker):
    touch = _CreatesMarker(os.system, f"touch {shlex.quote(str(marker))}")
    create = _CreatesMarker(os.mkdir, str(marker))  # no shell needed
    (tmp_path / "raw_pickle.pt").write_bytes(pickle.dumps({"aggre_label": touch}, protocol=2))
    np.save(tmp_path / "objects.npy", np.array([touch, 1], dtype=object), allow_pickle=True)
    return [
        _pt(tmp_path, {"aggre_label": touch}, "system.pt"),
        _pt(tmp_path, {"aggre_label": create}, "mkdir.pt"),
        _pt(tmp_path, touch, "bare.pt"),
        tmp_path / "raw_pickle.pt",
        tmp_path / "objects.npy",
    ]


def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "executed"
    for path in _malicious_files(tmp_path, marker):
        with pytest.raises(DataError, match="refused|not a readable .npy") as err:
            _read(path, "aggre_label" if path.suffix == ".pt" and path.name != "bare.pt" else None)
        assert "\n" not in str(err.value)
        assert not marker.exists(), f"{path.name} executed code"
