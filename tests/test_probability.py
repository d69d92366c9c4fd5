"""Rows of probabilities are checked by one function with one tolerance (labelnoise.checks), whatever the shape."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from labelnoise import analytic
from labelnoise.analytic.inputs import check_distribution
from labelnoise.checks import (
    PROBABILITY_SUM_TOLERANCE, check_confusion_matrix, check_probability_rows, check_softmax, probability_row_sums,
)

#: Each shape's wrapper: (name in its messages, a valid input, whether it returns the rows renormalised).
#: Every valid input sums to 1 exactly, so that the sums in the messages are round.
ROWS = np.tile([0.5, 0.25, 0.25], (4, 1))
WRAPPERS = {
    "rows": (lambda values: check_probability_rows(values, "C"), "C", ROWS, True),
    "distribution": (check_distribution, "q", np.array([0.5, 0.3, 0.2]), True),
    "confusion matrix": (check_confusion_matrix, "confusion matrix", np.full((4, 4), 0.25), True),
    "softmax": (check_softmax, "softmax", ROWS.astype(np.float32), False),
}


def off_by(values: np.ndarray, row: int, amount: float) -> np.ndarray:
    """``values`` with the first entry of ``row`` (of a 1-D vector: of the vector) raised by ``amount``."""
    values = np.array(values, dtype=np.float64)
    target = values if values.ndim == 1 else values[row]
    target[0] += amount
    return values


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_each_wrapper_refuses_a_row_off_by_more_than_the_tolerance_naming_the_worst(wrapper):
    check, name, valid, _ = WRAPPERS[wrapper]
    bad = off_by(valid, 2, 2 * PROBABILITY_SUM_TOLERANCE)
    if valid.ndim > 1:  # another row off by less: the message names the worst
        bad = off_by(bad, 1, -PROBABILITY_SUM_TOLERANCE / 2)
    with pytest.raises(ValueError) as err:
        check(bad)
    message = str(err.value)
    assert "\n" not in message and message.startswith(name) and f"within {PROBABILITY_SUM_TOLERANCE:g}" in message
    where = "it sums to" if valid.ndim == 1 else "row 2 sums to"
    assert f"{where} 1.000002, off by 2e-06" in message, message


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_each_wrapper_accepts_a_row_off_by_less_and_renormalises_as_before(wrapper):
    check, _, valid, renormalises = WRAPPERS[wrapper]
    almost = off_by(valid, 2, -PROBABILITY_SUM_TOLERANCE / 2)
    checked = check(almost)
    assert checked.dtype == np.float64 and checked.shape == valid.shape
    if renormalises:
        np.testing.assert_allclose(checked.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    else:  # a softmax is handed back as stored (in float64): its argmax and scores are those of the network
        assert np.array_equal(checked, almost)


@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize("entry, problem", [(np.nan, "non-finite entry (nan)"), (-0.25, "negative entry (-0.25)")])
def test_each_wrapper_refuses_a_bad_entry_naming_its_row(wrapper, entry, problem):
    check, name, valid, _ = WRAPPERS[wrapper]
    bad = np.array(valid, dtype=np.float64)
    (bad if bad.ndim == 1 else bad[1])[-1] = entry
    with pytest.raises(ValueError) as err:
        check(bad)
    where = "" if valid.ndim == 1 else " in row 1"
    assert str(err.value).startswith(f"{name} has a {problem}{where};"), str(err.value)


def test_the_fast_distribution_check_refuses_what_the_shared_check_refuses_in_its_words():
    """check_distribution's compiled loop (kept for the engine's speed) is the same check with the same tolerance."""
    for bad in ([0.5, 0.2, 0.2], [1.2, -0.2, 0.0], [np.nan, 0.5, 0.5], [np.inf, 0.0],
                [0.5, 0.5 + 2 * PROBABILITY_SUM_TOLERANCE]):
        with pytest.raises(ValueError) as fast:
            check_distribution(bad)
        with pytest.raises(ValueError) as shared:
            check_probability_rows(np.array(bad), "q")
        assert str(fast.value) == str(shared.value)
    rng = np.random.default_rng(0)
    for scale in (0.1, 0.9, 1.1, 3.0):
        q = rng.dirichlet(np.ones(10)) * (1 + scale * PROBABILITY_SUM_TOLERANCE)
        if scale < 1:
            np.testing.assert_allclose(check_distribution(q), check_probability_rows(q, "q"), rtol=1e-15)
        else:
            for check in (check_distribution, lambda values: check_probability_rows(values, "q")):
                with pytest.raises(ValueError, match="q must sum to 1"):
                    check(q)


def test_one_tolerance_everywhere_and_noise_does_not_load_the_analytic_engine():
    assert analytic.PROBABILITY_SUM_TOLERANCE is PROBABILITY_SUM_TOLERANCE
    script = "import sys, labelnoise.noise; print(sorted({'numba', 'labelnoise.analytic'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_a_stored_float32_softmax_passes_well_inside_the_tolerance():
    """torch-like float32 softmax rows sum to 1 within a few float32 ulps, for 2 or 1,000 classes."""
    rng = np.random.default_rng(1)
    for n_classes in (2, 10, 1000):
        logits = rng.normal(0, 5, (2000, n_classes)).astype(np.float32)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        softmax = exp / exp.sum(axis=1, keepdims=True)
        assert softmax.dtype == np.float32
        deviation = np.abs(probability_row_sums(softmax, "softmax") - 1).max()
        assert deviation < PROBABILITY_SUM_TOLERANCE / 2, (n_classes, deviation)
