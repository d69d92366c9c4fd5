"""The analytic side of the paper: expected K-NN accuracy under label noise (Section 4, Appendix B).

Where to look:

* :mod:`labelnoise.analytic.equations` - the paper's equations, each once and
  named after it: the fitted K (``fit_k``), Eq. 2 (``knn_accuracy_curves``),
  Eq. 6 (``label_probabilities``), Eqs. 7-9, and Section 5's prediction for
  concentrated noise (``concentrated_noise_accuracy``);
* :mod:`labelnoise.analytic.engine` - Eq. 3, the probability Q that the
  correct label wins the plurality of K noisy labels (numba, exact to ~1e-15);
* :mod:`labelnoise.analytic.reference` - the paper's Appendix B summation,
  brute force and Monte Carlo, which the tests and ``bench/analytic.py`` check
  the engine against;
* :mod:`labelnoise.analytic.distributions` and :mod:`labelnoise.analytic.inputs` -
  the engine's pmfs and Chernoff cuts, and the argument checks (probabilities
  through the package's one check, :mod:`labelnoise.checks`).

Conventions: labels are 0..L-1; ``confusion[y, y_noisy] = P(y_noisy | y)``
(rows = clean label, each row sums to 1); accuracies are fractions in [0, 1].
"""

from labelnoise.analytic.engine import (
    DEFAULT_EPSILON, plurality_probability, plurality_probability_batch, plurality_probability_table,
)
from labelnoise.analytic.equations import (
    best_fit, clean_label_distribution, concentrated_noise_accuracy, fit_k, fit_k_to_runs, flip_accuracy_closed_form, knn_accuracy_curves, label_probabilities, one_hot_clean_distribution,
    random_noise_probabilities, softmax_clean_distribution,
)
from labelnoise.analytic.inputs import METHODS
from labelnoise.checks import PROBABILITY_SUM_TOLERANCE, TIE_POLICIES

__all__ = [
    "DEFAULT_EPSILON", "METHODS", "PROBABILITY_SUM_TOLERANCE", "TIE_POLICIES", "best_fit", "clean_label_distribution", "concentrated_noise_accuracy", "fit_k", "fit_k_to_runs", "flip_accuracy_closed_form",
    "knn_accuracy_curves", "label_probabilities", "one_hot_clean_distribution", "plurality_probability",
    "plurality_probability_batch", "plurality_probability_table", "random_noise_probabilities",
    "softmax_clean_distribution",
]
