"""Label-noise generators (Section 3 of the paper).

``gamma`` is the fraction of training samples whose label is re-drawn: exactly
``corrupted_count(N, gamma) = floor(gamma * N + 1/2)`` samples, chosen without
replacement. What happens to a chosen sample depends on the noise type:

random        new label uniform over all L labels (it may equal the old one;
              Eq. 8 assumes exactly this), i.e. P(noisy | clean) = 1/L.
flip          label replaced by its counterpart ``permutation[label]``
              (default l -> l+1 mod L), a permutation matrix P.
confusion     new label drawn from row P(. | clean) of a row-stochastic matrix.
concentrated  per class, k-means with k clusters in the clean model's feature
              space; one whole cluster per class is relabelled to the class's
              counterpart. The level is k (k = 10 gives about 10% noise).
instance      instance-dependent noise after Chen et al. (AAAI 2021): the
              samples a clean model finds most confusable are relabelled to
              their most likely wrong class (deterministic; see
              :func:`instance_noise`).

Every generator returns a :class:`NoisyLabels` recording which samples were
re-drawn and the realised fraction of labels that actually differ.
Human labels read from a file (CIFAR-10N) live in :mod:`labelnoise.human_labels`;
:func:`realised_transition_matrix` estimates P(noisy | clean) of any realisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelnoise.checks import check_confusion_matrix, check_labels, check_softmax


@dataclass(frozen=True)
class NoisyLabels:
    """Noisy labels, the mask of the samples whose label was re-drawn, and what the generator has to say of them."""

    labels: np.ndarray
    corrupted: np.ndarray
    note: str = ""

    def realised_fraction(self, clean: np.ndarray) -> float:
        """Fraction of labels that differ from the clean ones (:func:`realised_gamma`)."""
        return realised_gamma(self.labels, clean)

    @property
    def corrupted_fraction(self) -> float:
        """Fraction of samples whose label was re-drawn."""
        return float(np.mean(self.corrupted))


def realised_gamma(noisy, clean) -> float:
    """Fraction of labels that differ from the clean ones: the noise level a set of labels actually carries.

    It differs from the nominal gamma because random noise may redraw the old
    label, and inside a training subset (``labelnoise.data.nested_subsets``)
    because the subset holds its own share of the corrupted samples.
    """
    noisy, clean = np.asarray(noisy), np.asarray(clean)
    return float(np.mean(noisy != clean))


def check_gamma(gamma: float) -> float:
    if not (0.0 <= float(gamma) <= 1.0):
        raise ValueError(f"noise level gamma must lie in [0, 1], got {gamma}")
    return float(gamma)


def corrupted_count(n_samples: int, gamma: float) -> int:
    """round(gamma * N) with halves rounded up: the number of labels re-drawn."""
    return int(np.floor(check_gamma(gamma) * n_samples + 0.5))


def choose_corrupted(n_samples: int, gamma: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of exactly ``corrupted_count`` samples, drawn without replacement."""
    mask = np.zeros(n_samples, dtype=bool)
    mask[rng.choice(n_samples, size=corrupted_count(n_samples, gamma), replace=False)] = True
    return mask


def flip_permutation(n_classes: int, shift: int = 1) -> np.ndarray:
    """The counterpart of every label: l -> (l + shift) mod L (the generators check that no label maps to itself)."""
    return (np.arange(n_classes) + shift) % n_classes


def check_permutation(permutation: np.ndarray) -> np.ndarray:
    """A permutation with no fixed point (every label has a different counterpart)."""
    permutation = np.asarray(permutation, dtype=np.int64)
    n_classes = len(permutation)
    if sorted(permutation.tolist()) != list(range(n_classes)):
        raise ValueError(f"flip counterparts {permutation.tolist()} are not a permutation of 0..{n_classes - 1}")
    if np.any(permutation == np.arange(n_classes)):
        raise ValueError("flip counterparts must map every label to a different one")
    return permutation


def permutation_matrix(permutation: np.ndarray) -> np.ndarray:
    """P(noisy | clean) of flip noise: one 1 per row at the counterpart."""
    permutation = np.asarray(permutation)
    matrix = np.zeros((len(permutation), len(permutation)))
    matrix[np.arange(len(permutation)), permutation] = 1.0
    return matrix


def uniform_matrix(n_classes: int) -> np.ndarray:
    """P(noisy | clean) of random noise: every entry 1/L (Eq. 8)."""
    return np.full((n_classes, n_classes), 1.0 / n_classes)


def random_confusion_matrix(n_classes: int, rng: np.random.Generator, concentration: float = 0.3) -> np.ndarray:
    """A row-stochastic matrix with Dirichlet(concentration) rows.

    A small concentration gives each class a few dominant confusions, as in the
    paper's Fig. 7(a).
    """
    return rng.dirichlet(np.full(n_classes, concentration), size=n_classes)


def random_noise(labels: np.ndarray, gamma: float, n_classes: int, rng: np.random.Generator) -> NoisyLabels:
    """Re-draw round(gamma N) labels uniformly over all L labels."""
    labels = check_labels(labels, n_classes)
    mask = choose_corrupted(len(labels), gamma, rng)
    noisy = labels.copy()
    noisy[mask] = rng.integers(0, n_classes, size=int(mask.sum()))
    return NoisyLabels(noisy, mask)


def flip_noise(labels: np.ndarray, gamma: float, permutation: np.ndarray, rng: np.random.Generator) -> NoisyLabels:
    """Replace round(gamma N) labels by their counterparts."""
    permutation = check_permutation(permutation)
    labels = check_labels(labels, len(permutation))
    mask = choose_corrupted(len(labels), gamma, rng)
    noisy = labels.copy()
    noisy[mask] = permutation[labels[mask]]
    return NoisyLabels(noisy, mask)


def confusion_noise(labels: np.ndarray, gamma: float, confusion: np.ndarray, rng: np.random.Generator) -> NoisyLabels:
    """Re-draw round(gamma N) labels from the rows P(. | clean) of ``confusion``."""
    confusion = check_confusion_matrix(confusion)
    labels = check_labels(labels, len(confusion))
    mask = choose_corrupted(len(labels), gamma, rng)
    noisy = labels.copy()
    cumulative = np.cumsum(confusion, axis=1)
    cumulative[:, -1] = 1.0
    chosen = labels[mask]
    draws = rng.random(len(chosen))
    noisy[mask] = np.sum(cumulative[chosen] <= draws[:, None], axis=1)
    return NoisyLabels(noisy, mask)


def per_class_kmeans(features: np.ndarray, labels: np.ndarray, k: int, seed: int, n_init: int = 4) -> np.ndarray:
    """Cluster each class separately into ``k`` clusters; cluster ids 0..k-1 per sample."""
    from sklearn.cluster import KMeans

    clusters = np.empty(len(labels), dtype=np.int64)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        model = KMeans(n_clusters=k, n_init=n_init, random_state=seed % 2**31)
        clusters[members] = model.fit_predict(features[members].astype(np.float64))
    return clusters


def concentrated_noise(
    labels: np.ndarray, clusters: np.ndarray, chosen_cluster: np.ndarray, permutation: np.ndarray
) -> NoisyLabels:
    """Relabel every sample of cluster ``chosen_cluster[c]`` of class c to ``permutation[c]``."""
    permutation = check_permutation(permutation)
    labels = check_labels(labels, len(permutation))
    chosen_cluster = np.asarray(chosen_cluster)
    mask = clusters == chosen_cluster[labels]
    noisy = labels.copy()
    noisy[mask] = permutation[labels[mask]]
    return NoisyLabels(noisy, mask)


def realised_transition_matrix(clean: np.ndarray, noisy: np.ndarray, n_classes: int) -> np.ndarray:
    """P(noisy | clean) of one realisation, estimated by counting: row c holds the noisy labels of class c.

    This is the class-conditional approximation of noise that is not class-conditional (instance,
    human) for Eq. 6. It is the *overall* transition, unchanged labels included, so use it there with
    gamma = 1 (``analytic.label_probabilities(C, matrix, 1.0) = C @ matrix``). A class with no samples
    gets an identity row (no evidence of noise): the matrix stays row-stochastic, and that row meets a
    zero column of the clean label distribution in Eq. 6, so it does not change q.
    """
    clean = check_labels(clean, n_classes, "clean labels")
    noisy = check_labels(noisy, n_classes, "noisy labels", len(clean))
    counts = np.bincount(clean * n_classes + noisy, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    totals = counts.sum(axis=1)
    matrix = np.eye(n_classes)
    present = totals > 0
    matrix[present] = counts[present] / totals[present, None]
    return matrix


def most_likely_wrong_class(labels: np.ndarray, softmax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every sample's most probable class other than its label, and that probability.

    Ties between wrong classes go to the lowest class index (``np.argmax``).
    """
    softmax = check_softmax(softmax)
    labels = check_labels(labels, softmax.shape[1], "labels", len(softmax))
    wrong = softmax.copy()
    rows = np.arange(len(labels))
    wrong[rows, labels] = -np.inf
    classes = np.argmax(wrong, axis=1)
    return classes, wrong[rows, classes]


def instance_noise(labels: np.ndarray, gamma: float, softmax: np.ndarray) -> NoisyLabels:
    """Instance-dependent noise: relabel the round(gamma N) most confusable samples to their most likely wrong class.

    After Chen, Ye, Chen, Zhao & Heng, "Beyond Class-Conditional Assumption: A Primary Attempt to
    Combat Instance-Dependent Label Noise" (AAAI 2021). ``softmax`` is a clean model's class
    probabilities on the training set (N x L; Chen et al. average it over the training epochs). Each
    sample's score is its highest probability of a wrong class; the round(gamma N) samples with the
    highest scores get that wrong class. The choice is deterministic (no rng): equal scores are broken
    by sample index, lower first (stable sort). Every changed label becomes a wrong class, so the
    realised fraction equals round(gamma N) / N. (Chen et al.'s script truncates gamma N instead.)

    Unlike concentrated noise, which flips whole per-class k-means clusters of the clean embedding to
    one fixed counterpart class, instance noise picks individual samples by the clean model's
    confusion, and each goes to its own most likely wrong class; the noise is not class-conditional.
    """
    labels = np.asarray(labels)
    targets, scores = most_likely_wrong_class(labels, softmax)
    cut = corrupted_count(len(targets), gamma)
    chosen = np.argsort(-scores, kind="stable")[:cut]
    mask = np.zeros(len(targets), dtype=bool)
    mask[chosen] = True
    noisy = labels.astype(np.int64)
    noisy[mask] = targets[mask]
    at_cut = f"{scores[chosen[-1]]:.3g}" if cut else "nan"
    note = (f"largest wrong-class probability at the cut-off (sample {cut} of {len(targets)}) {at_cut}; "
            f"{int((scores > 0.01).sum())} samples above 0.01")
    return NoisyLabels(noisy, mask, note)


def load_noise_file(path, n_train: int) -> dict[str, np.ndarray]:
    """The arrays of a noise file (rule make_noise or human_noise), whose labels must be one per training sample."""
    from labelnoise.io import ResultFileError, load_npz, rebuild_hint

    stored = load_npz(path)
    found = np.shape(stored.get("noisy_labels"))[-1:]
    if found != (n_train,):
        raise ResultFileError(f"{path} holds labels of {found[0] if found else 'no'} training samples, but the training "
                              f"set has {n_train} (a noise file of another data split); {rebuild_hint(path)}")
    return stored


def choose_flipped_clusters(k: int, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """The cluster of every class whose labels concentrated noise flips."""
    return rng.integers(0, k, size=n_classes)
