"""Benchmark of the analytic K-NN accuracy engine (labelnoise.analytic).

Prints, from one run on identical inputs:
  1. numba compile (or cache-load) time of every kernel, separately;
  2. the paper's Appendix-B nested summation vs the fast engine at L=10 for
     K in {10, 20, 30} (time, speed-up, and the absolute difference);
  3. the wall time of a full general-case panel (Eq. 2): 5,000 test samples
     with softmax-like C, 20 gamma values, K in {1, 3, ..., 300}, for random
     and flip noise.

Run: python bench/analytic.py [--repeats N] [--quick]
(With a warm numba cache the first calls only load machine code; to time a cold
compile run with NUMBA_CACHE_DIR=$(mktemp -d).)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from labelnoise import analytic
from labelnoise.analytic import reference
from labelnoise.seeding import rng_for

BENCH_SEED = 20240601
N_LABELS = 10
BASELINE_KS = (10, 20, 30)
PANEL_SAMPLES = 5_000
PANEL_GAMMAS = np.linspace(0.0, 0.95, 20)
PANEL_KS = (1, 3, 5, 10, 20, 30, 50, 100, 200, 300)
PANEL_BAR_SECONDS = 10.0
SPEEDUP_BAR = 1e4
BOOST_TRUE_LABEL = 0.85  # fraction of samples whose logit boost goes to the true label
LOGIT_NOISE_SCALE = 1.5  # logit noise: lowers the realised clean accuracy below BOOST_TRUE_LABEL
MARGIN_RANGE = (1.0, 8.0)


def softmax_like_clean_distribution(n_samples: int, n_labels: int, rng: np.random.Generator):
    """A plausible clean-model softmax C (M, L) and true labels: mostly confident, sometimes wrong."""
    labels = rng.integers(0, n_labels, n_samples)
    predicted = labels.copy()
    wrong = rng.random(n_samples) > BOOST_TRUE_LABEL
    predicted[wrong] = (labels[wrong] + rng.integers(1, n_labels, wrong.sum())) % n_labels
    logits = rng.normal(0.0, LOGIT_NOISE_SCALE, (n_samples, n_labels))
    logits[np.arange(n_samples), predicted] += rng.uniform(*MARGIN_RANGE, n_samples)
    logits -= logits.max(axis=1, keepdims=True)
    C = np.exp(logits)
    return C / C.sum(axis=1, keepdims=True), labels


def timed(function, repeats: int) -> tuple[list[float], object, list[float]]:
    """Wall times, the last result, and process CPU times (all threads) of ``repeats`` calls."""
    times, cpu_times, result = [], [], None
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = function()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return times, result, cpu_times


def describe(times: list[float]) -> str:
    return f"best {min(times):.4g} s, median {statistics.median(times):.4g} s (n={len(times)})"


def load_average() -> str:
    try:
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "load average unavailable"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of each slow measurement")
    parser.add_argument("--quick", action="store_true", help="skip the K=30 Appendix-B baseline")
    args = parser.parse_args()

    import numba

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numba {numba.__version__} with {numba.get_num_threads()} threads; {load_average()} "
          "(other jobs on the machine inflate wall times; CPU time is reported too)")

    # 1. Compilation (first calls; a warm on-disk cache makes these cache loads).
    q_small = np.full(3, 1 / 3)
    for label, call in [
        ("engine (single q)", lambda: analytic.plurality_probability(q_small, 5, 0)),
        ("engine (parallel table)", lambda: analytic.plurality_probability_batch(q_small[None], 5, [0])),
        ("appendix B baseline", lambda: reference.plurality_probability_appendix_b(q_small, 5, 0)),
    ]:
        start = time.perf_counter()
        call()
        print(f"compile/cache-load {label}: {time.perf_counter() - start:.3f} s")

    # 2. Appendix B vs the engine on identical inputs.
    q = rng_for(BENCH_SEED, "appendix-b-q").dirichlet(np.ones(N_LABELS))
    correct = int(np.argmax(q))
    print(f"\nAppendix B vs engine, L={N_LABELS}, q ~ Dirichlet(1) (correct = argmax, q_c = {q[correct]:.3f})")
    print(f"{'K':>4} {'baseline':>30} {'engine (median)':>16} {'speed-up':>10} {'|diff|':>9}")
    for K in BASELINE_KS:
        if args.quick and K == max(BASELINE_KS):
            continue
        base_repeats = args.repeats if K < max(BASELINE_KS) else max(1, args.repeats - 1)
        base_times, base_value, _ = timed(lambda: reference.plurality_probability_appendix_b(q, K, correct), base_repeats)
        analytic.plurality_probability(q, K, correct)  # builds the cached transform grid for this K
        engine_times, engine_value, _ = timed(lambda: analytic.plurality_probability(q, K, correct), 200)
        speedup = min(base_times) / statistics.median(engine_times)
        print(f"{K:>4} {describe(base_times):>30} {statistics.median(engine_times) * 1e6:>13.1f} us "
              f"{speedup:>10.3g} {abs(base_value - engine_value):>9.1e}")
        if K == max(BASELINE_KS):
            verdict = "MET" if speedup >= SPEEDUP_BAR else "NOT MET"
            print(f"     bar: speed-up >= {SPEEDUP_BAR:g} at K={K}: {verdict}")

    # 3. The general-case panel (Eq. 2).
    C, labels = softmax_like_clean_distribution(PANEL_SAMPLES, N_LABELS, rng_for(BENCH_SEED, "panel-C"))
    confusions = {
        "random": np.full((N_LABELS, N_LABELS), 1.0 / N_LABELS),
        "flip": np.roll(np.eye(N_LABELS), 1, axis=1),
    }
    print(f"\nGeneral-case panel: {PANEL_SAMPLES} samples (softmax-like C, clean accuracy "
          f"{np.mean(C.argmax(1) == labels):.3f}), {len(PANEL_GAMMAS)} gammas in "
          f"[{PANEL_GAMMAS[0]}, {PANEL_GAMMAS[-1]}], K in {list(PANEL_KS)}")
    for noise, confusion in confusions.items():
        for tie in analytic.TIE_POLICIES:
            run = lambda: analytic.knn_accuracy_curves(C, labels, confusion, PANEL_GAMMAS, PANEL_KS, tie=tie)
            times, curves, cpu_times = timed(run, args.repeats)
            verdict = "MET" if min(times) < PANEL_BAR_SECONDS else "NOT MET"
            k_max = curves[curves.K == max(PANEL_KS)].set_index("gamma")["accuracy"]
            print(f"  {noise:>6} noise, {tie:>6} ties: wall {describe(times)}, CPU best {min(cpu_times):.4g} s "
                  f"[bar wall < {PANEL_BAR_SECONDS:g} s: {verdict}]\n   "
                  f"  accuracy at K={max(PANEL_KS)}: gamma=0 {k_max.iloc[0]:.4f}, "
                  f"gamma={PANEL_GAMMAS[len(PANEL_GAMMAS) // 2]:.2f} {k_max.iloc[len(PANEL_GAMMAS) // 2]:.4f}, "
                  f"gamma={PANEL_GAMMAS[-1]:.2f} {k_max.iloc[-1]:.4f}")

    # Simplified case for scale: only L distinct q rows per gamma.
    one_hot = analytic.one_hot_clean_distribution(labels, N_LABELS)
    times, _, _ = timed(lambda: analytic.knn_accuracy_curves(one_hot, labels, confusions["random"], PANEL_GAMMAS,
                                                          PANEL_KS), args.repeats)
    print(f"  simplified case (one-hot C, Eq. 7-8), random noise: {describe(times)}")
    print(f"\n{load_average()}")


if __name__ == "__main__":
    main()
