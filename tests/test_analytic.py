"""Tests of the analytic K-NN accuracy engine (labelnoise.analytic; paper Section 4, Appendix B)."""

from __future__ import annotations

import math

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelnoise import analytic
from labelnoise.analytic import reference
from labelnoise import noise_types
from labelnoise.noise import flip_permutation
from labelnoise.seeding import rng_for

EXACT = 1e-12  # agreement demanded between exact methods
MC_STANDARD_ERRORS = 4.0
SEED = 1234


def flip_probabilities(gamma: float, n_classes: int, correct: int) -> np.ndarray:
    """q for flip noise with one-hot C: the correct label keeps 1 - gamma, its counterpart gets gamma."""
    q = np.zeros(n_classes)
    q[correct] = 1.0 - gamma
    q[(correct + 1) % n_classes] += gamma
    return q


def random_distribution(rng: np.random.Generator, n_labels: int, concentration: float = 1.0) -> np.ndarray:
    return rng.dirichlet(np.full(n_labels, concentration))


# --- brute force, Appendix B and the engine agree on small problems ----------------------------

SMALL_CASES = [(1, 4), (2, 1), (2, 6), (2, 7), (3, 1), (3, 5), (3, 9), (4, 6), (5, 5), (6, 4)]


@pytest.mark.parametrize("tie", analytic.TIE_POLICIES)
@pytest.mark.parametrize("method", analytic.METHODS)
@pytest.mark.parametrize("n_labels,K", SMALL_CASES)
def test_engine_matches_bruteforce(n_labels, K, method, tie):
    rng = rng_for(SEED, "bruteforce", n_labels, K)
    for trial in range(3):
        q = random_distribution(rng, n_labels, concentration=[0.3, 1.0, 5.0][trial])
        correct = int(rng.integers(n_labels))
        expected = reference.plurality_probability_bruteforce(q, K, correct, tie)
        got = analytic.plurality_probability(q, K, correct, tie, method=method)
        assert got == pytest.approx(expected, abs=EXACT)


@pytest.mark.parametrize("tie", analytic.TIE_POLICIES)
def test_engine_handles_zero_probability_labels(tie):
    q = np.array([0.5, 0.0, 0.3, 0.0, 0.2])
    for correct in range(5):
        for K in (1, 2, 5, 8):
            expected = reference.plurality_probability_bruteforce(q, K, correct, tie)
            assert analytic.plurality_probability(q, K, correct, tie) == pytest.approx(expected, abs=EXACT)


def test_random_ties_differ_from_strict_exactly_by_the_tie_credit():
    # Two labels, even K: the only tie is n_c = K/2, credited 1/2 under the random policy.
    q, K = np.array([0.4, 0.6]), 6
    tie_mass = math.comb(K, K // 2) * 0.4 ** (K // 2) * 0.6 ** (K // 2)
    strict = analytic.plurality_probability(q, K, 0, "strict")
    random = analytic.plurality_probability(q, K, 0, "random")
    assert random - strict == pytest.approx(tie_mass / 2, abs=EXACT)


def test_appendix_b_matches_bruteforce():
    rng = rng_for(SEED, "appendix-b-vs-bruteforce")
    for n_labels, K in [(2, 5), (3, 7), (4, 6), (5, 8)]:
        q = random_distribution(rng, n_labels)
        for correct in range(n_labels):
            expected = reference.plurality_probability_bruteforce(q, K, correct)
            assert reference.plurality_probability_appendix_b(q, K, correct) == pytest.approx(expected, abs=EXACT)


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6).filter(lambda w: sum(w) > 1e-3),
    K=st.integers(1, 14),
    data=st.data(),
)
def test_engine_matches_appendix_b_property(weights, K, data):
    q = np.array(weights) / sum(weights)
    correct = data.draw(st.integers(0, len(q) - 1))
    expected = reference.plurality_probability_appendix_b(q, K, correct)
    assert abs(analytic.plurality_probability(q, K, correct) - expected) <= EXACT


@settings(max_examples=30, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=4).filter(lambda w: sum(w) > 1e-3),
    K=st.integers(1, 9),
    data=st.data(),
)
def test_random_tie_policy_matches_bruteforce_property(weights, K, data):
    q = np.array(weights) / sum(weights)
    correct = data.draw(st.integers(0, len(q) - 1))
    expected = reference.plurality_probability_bruteforce(q, K, correct, "random")
    assert abs(analytic.plurality_probability(q, K, correct, "random") - expected) <= EXACT


# --- large K: exact convolution, Monte Carlo and Eq. 9 -------------------------------------------

@pytest.mark.parametrize("tie", analytic.TIE_POLICIES)
@pytest.mark.parametrize("K", [150, 1000])
def test_fourier_matches_exact_convolution_at_large_k(K, tie):
    rng = rng_for(SEED, "dp-large", K)
    n_labels = 10 if K < 1000 else 4
    q = random_distribution(rng, n_labels, concentration=30.0)  # a contested vote
    correct = int(np.argsort(q)[-2])  # the runner-up, so Q is far from 0 and 1
    fourier = analytic.plurality_probability(q, K, correct, tie)
    exact = analytic.plurality_probability(q, K, correct, tie, method="dp")
    assert 1e-3 < exact < 1 - 1e-3
    assert fourier == pytest.approx(exact, abs=EXACT)


@pytest.mark.parametrize("tie", analytic.TIE_POLICIES)
@pytest.mark.parametrize("K,concentration", [(7, 1.0), (40, 20.0), (1000, 200.0)])
def test_engine_agrees_with_monte_carlo(K, concentration, tie):
    rng = rng_for(SEED, "monte-carlo", K, tie)
    q = random_distribution(rng, 10, concentration)
    correct = int(np.argmax(q))
    value = analytic.plurality_probability(q, K, correct, tie)
    assert np.isfinite(value) and 0.0 <= value <= 1.0
    estimate, standard_error = reference.plurality_probability_monte_carlo(q, K, correct, 200_000, rng, tie)
    assert 0.01 < estimate < 0.99, "choose a case where the Monte Carlo check has power"
    assert abs(value - estimate) <= MC_STANDARD_ERRORS * standard_error


@pytest.mark.parametrize("K", [1, 2, 3, 4, 7, 10, 25, 100, 301, 1000])
def test_flip_noise_matches_eq9(K):
    for gamma in (0.0, 0.1, 0.3, 0.45, 0.5, 0.55, 0.9, 1.0):
        q = flip_probabilities(gamma, 10, correct=3)
        closed_form = analytic.flip_accuracy_closed_form(gamma, K)
        assert analytic.plurality_probability(q, K, 3) == pytest.approx(closed_form, abs=EXACT)


def test_eq9_closed_form_against_direct_sum():
    for K in (1, 2, 5, 8, 13):
        for gamma in (0.2, 0.5, 0.7):
            direct = sum(math.comb(K, n) * (1 - gamma) ** n * gamma ** (K - n)
                         for n in range(math.ceil((K + 1) / 2), K + 1))
            assert analytic.flip_accuracy_closed_form(gamma, K) == pytest.approx(direct, abs=EXACT)


def test_flip_curves_through_eq6_match_eq9():
    labels = np.arange(10).repeat(3)
    C = analytic.one_hot_clean_distribution(labels, 10)
    flip = np.roll(np.eye(10), 1, axis=1)
    gammas, Ks = [0.0, 0.2, 0.4, 0.5, 0.6], [1, 4, 9, 50]
    curves = analytic.knn_accuracy_curves(C, labels, flip, gammas, Ks)
    for row in curves.itertuples():
        assert row.accuracy == pytest.approx(analytic.flip_accuracy_closed_form(row.gamma, row.K), abs=EXACT)


# --- Eqs. 6-8 and Eq. 2 --------------------------------------------------------------------------

def test_eq8_simplified_random_case_equals_curves_with_one_hot_c():
    n_classes = 10
    labels = rng_for(SEED, "eq8-labels").integers(0, n_classes, 200)
    C = analytic.one_hot_clean_distribution(labels, n_classes)
    uniform = np.full((n_classes, n_classes), 1.0 / n_classes)
    gammas, Ks = [0.0, 0.3, 0.7, 0.9, 0.95], [1, 2, 10, 51, 200]
    curves = analytic.knn_accuracy_curves(C, labels, uniform, gammas, Ks)
    assert len(curves) == len(gammas) * len(Ks)
    for row in curves.itertuples():
        q = analytic.random_noise_probabilities(row.gamma, n_classes, correct=0)
        assert row.accuracy == pytest.approx(analytic.plurality_probability(q, row.K, 0), abs=EXACT)


def test_label_probabilities_eq6():
    rng = rng_for(SEED, "eq6")
    C = rng.dirichlet(np.ones(4), size=5)
    confusion = rng.dirichlet(np.ones(4), size=4)
    np.testing.assert_allclose(analytic.label_probabilities(C, confusion, 0.0), C, atol=1e-15)
    np.testing.assert_allclose(analytic.label_probabilities(C, confusion, 1.0), C @ confusion, atol=1e-15)
    q = analytic.label_probabilities(C, confusion, 0.3)
    np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-15)
    j, s = 2, 1  # Eq. 6 term by term for one entry
    expected = 0.7 * C[s, j] + 0.3 * sum(confusion[k, j] * C[s, k] for k in range(4))
    assert q[s, j] == pytest.approx(expected, abs=1e-15)
    # Random noise with one-hot C gives Eq. 8.
    one_hot = analytic.one_hot_clean_distribution(np.array([2]), 4)
    np.testing.assert_allclose(analytic.label_probabilities(one_hot, np.full((4, 4), 0.25), 0.6)[0],
                               analytic.random_noise_probabilities(0.6, 4, correct=2), atol=1e-15)


def test_general_case_curves_are_the_mean_of_per_sample_q():
    rng = rng_for(SEED, "eq2")
    n_samples, n_classes = 40, 5
    labels = rng.integers(0, n_classes, n_samples)
    logits = rng.normal(size=(n_samples, n_classes)) * 2
    logits[np.arange(n_samples), labels] += 2
    C = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    C[:5] = C[5]  # duplicated rows exercise the deduplication
    labels[:5] = labels[5]
    confusion = rng.dirichlet(np.ones(n_classes), size=n_classes)
    gammas, Ks = [0.0, 0.35, 0.8], [1, 6, 25]
    for tie in analytic.TIE_POLICIES:
        curves = analytic.knn_accuracy_curves(C, labels, confusion, gammas, Ks, tie=tie)
        for row in curves.itertuples():
            q = analytic.label_probabilities(C, confusion, row.gamma)
            per_sample = [analytic.plurality_probability(q[s], row.K, labels[s], tie) for s in range(n_samples)]
            assert row.accuracy == pytest.approx(np.mean(per_sample), abs=EXACT)


def test_batch_and_table_match_single_calls():
    rng = rng_for(SEED, "batch")
    q = rng.dirichlet(np.ones(6), size=25)
    correct = rng.integers(0, 6, 25)
    Ks = [1, 5, 12, 60]
    table = analytic.plurality_probability_table(q, Ks, correct, tie="random")
    for column, K in enumerate(Ks):
        batch = analytic.plurality_probability_batch(q, K, correct, tie="random")
        np.testing.assert_array_equal(batch, table[:, column])
        singles = [analytic.plurality_probability(q[i], K, correct[i], "random") for i in range(len(q))]
        np.testing.assert_allclose(batch, singles, rtol=0, atol=1e-15)


# --- limits and monotonicity ----------------------------------------------------------------------

@pytest.mark.parametrize("tie", analytic.TIE_POLICIES)
def test_k_equal_one_gives_q_correct(tie):
    q = random_distribution(rng_for(SEED, "k1"), 7)
    for correct in range(7):
        assert analytic.plurality_probability(q, 1, correct, tie) == pytest.approx(q[correct], abs=EXACT)


def test_noise_free_one_hot_gives_perfect_accuracy_and_degenerate_q_is_exact():
    labels = np.arange(4)
    C = analytic.one_hot_clean_distribution(labels, 4)
    curves = analytic.knn_accuracy_curves(C, labels, np.full((4, 4), 0.25), [0.0], [1, 2, 3, 100, 1000])
    np.testing.assert_allclose(curves["accuracy"], 1.0, atol=EXACT)
    assert analytic.plurality_probability([0.0, 1.0, 0.0], 50, 0) == 0.0
    assert analytic.plurality_probability([0.0, 1.0, 0.0], 50, 1) == pytest.approx(1.0, abs=EXACT)


def test_random_noise_accuracy_decreases_with_gamma_and_large_k_is_more_robust():
    gammas = np.linspace(0.0, 0.95, 20)
    labels = np.arange(10)
    curves = analytic.knn_accuracy_curves(analytic.one_hot_clean_distribution(labels, 10), labels,
                                          np.full((10, 10), 0.1), gammas, [1, 5, 51, 301])
    table = curves.pivot(index="gamma", columns="K", values="accuracy")
    assert np.all(np.diff(table.to_numpy(), axis=0) <= EXACT)  # non-increasing in gamma
    # Eq. 8 with K = 1 is exactly q_c = 1 - gamma + gamma / L.
    np.testing.assert_allclose(table[1], 1 - gammas + gammas / 10, atol=EXACT)
    # The paper's observation: a larger neighbourhood resists random noise better.
    assert np.all(table[301].to_numpy() >= table[5].to_numpy() - EXACT)
    assert table.loc[gammas[16], 301] > 0.99 > table.loc[gammas[16], 1]


def test_flip_accuracy_reverses_around_one_half():
    for K in (5, 51):
        below = analytic.flip_accuracy_closed_form(0.4, K)
        above = analytic.flip_accuracy_closed_form(0.6, K)
        assert below == pytest.approx(1 - above, abs=EXACT)  # symmetric for odd K
        assert below > 0.5 > above
    assert analytic.flip_accuracy_closed_form(0.4, 51) > analytic.flip_accuracy_closed_form(0.4, 5)


def test_large_k_is_finite_and_bounded():
    q = random_distribution(rng_for(SEED, "k-large"), 10, concentration=100.0)
    for K in (999, 1000, 2500):
        for correct in (int(np.argmax(q)), int(np.argmin(q))):
            value = analytic.plurality_probability(q, K, correct)
            assert np.isfinite(value) and 0.0 <= value <= 1.0


# --- bad inputs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("function", [
    lambda q, K: analytic.plurality_probability(q, K, 0),
    lambda q, K: reference.plurality_probability_appendix_b(q, K, 0),
    lambda q, K: reference.plurality_probability_bruteforce(q, K, 0),
    lambda q, K: analytic.plurality_probability_batch(np.atleast_2d(q), K, [0]),
])
def test_bad_q_or_k_raise_value_error(function):
    with pytest.raises(ValueError, match="sum to 1"):
        function([0.5, 0.2, 0.2], 3)
    with pytest.raises(ValueError, match="negative"):
        function([1.2, -0.2, 0.0], 3)
    with pytest.raises(ValueError, match="non-finite"):
        function([np.nan, 0.5, 0.5], 3)
    for bad_k in (0, -3, 2.5, "3"):
        with pytest.raises(ValueError, match="K must"):
            function([0.5, 0.25, 0.25], bad_k)


def test_other_bad_inputs_raise_value_error():
    q = [0.5, 0.25, 0.25]
    with pytest.raises(ValueError, match="correct"):
        analytic.plurality_probability(q, 3, 3)
    with pytest.raises(ValueError, match="tie"):
        analytic.plurality_probability(q, 3, 0, tie="coin")
    with pytest.raises(ValueError, match="method"):
        analytic.plurality_probability(q, 3, 0, method="magic")
    with pytest.raises(ValueError, match="brute force"):
        reference.plurality_probability_bruteforce(np.full(10, 0.1), 40, 0)
    with pytest.raises(ValueError, match="correct"):
        analytic.plurality_probability_batch([q, q], 3, [0])
    C = analytic.one_hot_clean_distribution(np.array([0, 1]), 3)
    with pytest.raises(ValueError, match="confusion matrix rows must sum to 1"):
        analytic.label_probabilities(C, np.full((3, 3), 0.3), 0.5)
    with pytest.raises(ValueError, match="square"):
        analytic.label_probabilities(C, np.full((3, 2), 0.5), 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        analytic.label_probabilities(C, [[1.5, -0.5, 0], [0, 1, 0], [0, 0, 1]], 0.5)
    with pytest.raises(ValueError, match="gamma"):
        analytic.label_probabilities(C, np.eye(3), 1.5)
    with pytest.raises(ValueError, match="C rows must sum to 1"):
        analytic.label_probabilities(C * 2, np.eye(3), 0.5)
    with pytest.raises(ValueError, match="labels"):
        analytic.knn_accuracy_curves(C, np.array([0]), np.eye(3), [0.1], [1])
    with pytest.raises(ValueError, match="K must"):
        analytic.knn_accuracy_curves(C, np.array([0, 1]), np.eye(3), [0.1], [0])
    with pytest.raises(ValueError, match="gamma"):
        analytic.flip_accuracy_closed_form(-0.1, 3)



def test_knn_accuracy_curves_checks_its_matrix_once_and_still_refuses_a_bad_one(monkeypatch):
    """Eq. 6's inputs are checked at the entry, not again for every gamma (the check also renormalises: same bits)."""
    from labelnoise.analytic import equations

    C = analytic.one_hot_clean_distribution(np.array([0, 1, 2]), 3)
    calls, check = [], equations.check_confusion_matrix
    monkeypatch.setattr(equations, "check_confusion_matrix", lambda matrix: calls.append(matrix) or check(matrix))
    curves = analytic.knn_accuracy_curves(C, np.array([0, 1, 2]), np.full((3, 3), 1 / 3), [0.0, 0.3, 0.6], [1, 3])
    assert len(calls) == 1 and len(curves) == 6
    monkeypatch.undo()
    with pytest.raises(ValueError, match="confusion matrix rows must sum to 1"):
        analytic.knn_accuracy_curves(C, np.array([0, 1, 2]), np.full((3, 3), 0.3), [0.1], [1])
    with pytest.raises(ValueError, match="C rows must sum to 1"):
        analytic.knn_accuracy_curves(C * 2, np.array([0, 1, 2]), np.eye(3), [0.1], [1])


# --- fitting K --------------------------------------------------------------------------------------

def test_fit_k_recovers_the_generating_k():
    gammas = np.round(np.linspace(0.0, 0.95, 20), 10)
    Ks = [1, 3, 5, 10, 20, 50, 100]
    labels = np.arange(10)
    analytic_curves = analytic.knn_accuracy_curves(analytic.one_hot_clean_distribution(labels, 10), labels,
                                                   np.full((10, 10), 0.1), gammas, Ks)
    rng = rng_for(SEED, "fit-k")
    for true_k in (5, 20, 50):
        truth = analytic_curves[analytic_curves.K == true_k]
        seeds = []
        for seed in range(5):  # several noisy "trained networks" per level, at every other grid gamma
            sampled = truth.iloc[::2]
            seeds.append(pd.DataFrame({"gamma": sampled["gamma"].to_numpy(),
                                       "accuracy": sampled["accuracy"].to_numpy() + rng.normal(0, 0.005, len(sampled))}))
        fit = analytic.fit_k(analytic_curves, pd.concat(seeds))
        assert list(fit.columns) == ["K", "rmse", "best"]
        assert fit["best"].sum() == 1
        assert int(fit.loc[fit["best"], "K"].iloc[0]) == true_k
        assert fit["rmse"].min() < 0.005


def test_fit_k_interpolates_linearly_and_rejects_gammas_off_the_grid():
    analytic_curves = pd.DataFrame({"gamma": [0.0, 0.5, 1.0, 0.0, 0.5, 1.0],
                                    "K": [1, 1, 1, 3, 3, 3],
                                    "accuracy": [1.0, 0.6, 0.2, 1.0, 0.9, 0.0]})
    empirical = pd.DataFrame({"gamma": [0.25, 0.75], "accuracy": [0.8, 0.4]})
    fit = analytic.fit_k(analytic_curves, empirical).set_index("K")
    assert fit.loc[1, "rmse"] == pytest.approx(0.0, abs=1e-15)
    assert fit.loc[3, "rmse"] == pytest.approx(math.sqrt((0.15 ** 2 + 0.05 ** 2) / 2), abs=1e-15)
    assert bool(fit.loc[1, "best"]) and not bool(fit.loc[3, "best"])
    with pytest.raises(ValueError, match="outside the analytic grid"):
        analytic.fit_k(analytic_curves, pd.DataFrame({"gamma": [1.2], "accuracy": [0.1]}))


def test_stored_float32_softmax_becomes_a_float64_clean_distribution():
    """A float32 softmax (rows off 1 by ~1e-7, past float64 rounding) is accepted for Eq. 6 and renormalised; a wrong
    one is not."""
    logits = np.random.default_rng(0).normal(size=(500, 10)) * 5
    softmax = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    assert 1e-12 < np.abs(softmax.astype(np.float64).sum(axis=1) - 1).max() < analytic.PROBABILITY_SUM_TOLERANCE
    C = analytic.softmax_clean_distribution(softmax)
    assert C.dtype == np.float64 and np.allclose(C.sum(axis=1), 1, rtol=0, atol=1e-15)
    np.testing.assert_allclose(C, softmax, atol=1e-6)
    labels = logits.argmax(axis=1)
    matrix = noise_types.get("random").matrix(10, flip_permutation(10, 1), None)
    curves = analytic.knn_accuracy_curves(C, labels, matrix, [0.0], [1])
    # K = 1 without noise: the probability that one neighbour's label is the true one, i.e. mean C(l)[label].
    assert curves["accuracy"].iloc[0] == pytest.approx(C[np.arange(len(labels)), labels].mean(), abs=1e-12)
    with pytest.raises(ValueError, match="must sum to 1"):
        analytic.softmax_clean_distribution(softmax * 1.01)
    with pytest.raises(ValueError, match=r"shape \(N, L\)"):
        analytic.softmax_clean_distribution(softmax[0])


def test_a_fresh_compile_and_a_cached_one_give_the_same_bits(tmp_path):
    """The engine's numbers do not depend on whether numba compiled it in this process or loaded it from its cache
    (with FMA contraction allowed they did, by one ulp: which job of a run compiled first decided the curves)."""
    import subprocess
    import sys

    code = ("import numpy as np; from labelnoise.analytic import plurality_probability_table; "
            "q = np.random.default_rng(3).dirichlet(np.ones(10), size=200); "
            "print(plurality_probability_table(q, [1, 11, 101], np.zeros(200, dtype=np.int64)).tobytes().hex())")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    fresh, cached = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
                     for _ in range(2))
    assert fresh.returncode == 0 and cached.returncode == 0, fresh.stderr + cached.stderr
    assert any(tmp_path.rglob("*.nbi")) and fresh.stdout == cached.stdout
