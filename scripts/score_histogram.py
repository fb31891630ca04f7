"""Histograms and calibration of a PRM's step scores, from `actprm score` JSON lines.

Reads the lines `actprm score --data <labelled file> --out SCORES.jsonl` writes and draws, for
the labelled steps (those up to and including each trajectory's first error):
- left: the distribution of μ for correct and for erroneous steps;
- right: calibration, the fraction of correct steps among those whose μ falls in each of ten
  equally populated bins, against the bin's mean μ (the diagonal is a calibrated model).
It prints the step counts, the step ROC-AUC, and the best first-error F1 over every τ chosen on
these very items: an upper bound on what any τ chosen elsewhere can give, never a result.

usage: python scripts/score_histogram.py SCORES.jsonl OUT.png [TITLE]
Needs numpy and matplotlib.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def labelled_steps(path):
    """(μ, correct) of every labelled step in the file."""
    means, correct = [], []
    for line in open(path):
        row = json.loads(line)
        first_error = row.get("labelled_first_error")
        if "labelled_first_error" not in row:
            continue
        mean = row["scores"]["mean"]
        last = len(mean) - 1 if first_error is None else first_error
        for j in range(last + 1):
            means.append(mean[j])
            correct.append(j != first_error)
    return np.array(means), np.array(correct)


def roc_auc(means, correct):
    """Probability that a correct step scores above an erroneous one, ties half."""
    order = np.argsort(means, kind="mergesort")
    ranks = np.empty(len(means))
    sorted_means = means[order]
    start = 0
    while start < len(means):
        end = start
        while end < len(means) and sorted_means[end] == sorted_means[start]:
            end += 1
        ranks[order[start:end]] = (start + end + 1) / 2
        start = end
    positives = correct.sum()
    negatives = len(correct) - positives
    return (ranks[correct].sum() - positives * (positives + 1) / 2) / (positives * negatives)


def first_error_f1(rows, tau):
    """ProcessBench's F1: the harmonic mean of the accuracies on erroneous and correct items,
    the first step with μ < τ being the predicted first error."""
    hits = {True: [0, 0], False: [0, 0]}
    for first_error, mean in rows:
        predicted = next((j for j, m in enumerate(mean) if m < tau), None)
        tally = hits[first_error is not None]
        tally[0] += predicted == first_error
        tally[1] += 1
    erroneous, correct = (hits[kind][0] / max(hits[kind][1], 1) for kind in (True, False))
    return 0.0 if erroneous + correct == 0 else 2 * erroneous * correct / (erroneous + correct)


def best_tau(path):
    """The τ, among the step scores' values, with the best F1 on the file's items, and that F1."""
    rows = []
    for line in open(path):
        row = json.loads(line)
        if "labelled_first_error" in row:
            rows.append((row["labelled_first_error"], row["scores"]["mean"]))
    candidates = np.unique(np.concatenate([mean for _, mean in rows]))
    candidates = np.quantile(candidates, np.linspace(0, 1, 400))
    return max(((tau, first_error_f1(rows, tau)) for tau in candidates), key=lambda x: x[1])


def main():
    scores, out = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else scores
    means, correct = labelled_steps(scores)
    auc = roc_auc(means, correct)
    print(f"{len(means)} labelled steps, {int((~correct).sum())} erroneous; step AUC {auc:.3f}")
    tau, f1 = best_tau(scores)
    print(f"best F1 over τ on these items (an upper bound): {f1:.3f} at τ {tau:.4f}")

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    bins = np.linspace(means.min(), means.max(), 40)
    left.hist(means[correct], bins=bins, density=True, alpha=0.6, label="correct steps")
    left.hist(means[~correct], bins=bins, density=True, alpha=0.6, label="erroneous steps")
    left.set_xlabel("μ (mean of the heads' probabilities that the step is correct)")
    left.set_ylabel("density")
    left.set_title(f"step scores (AUC {auc:.3f})")
    left.legend()

    edges = np.quantile(means, np.linspace(0, 1, 11))
    which = np.clip(np.searchsorted(edges, means, side="right") - 1, 0, 9)
    centres = [means[which == b].mean() for b in range(10) if (which == b).any()]
    observed = [correct[which == b].mean() for b in range(10) if (which == b).any()]
    right.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="calibrated")
    right.plot(centres, observed, marker="o", label="observed")
    right.set_xlim(0, 1)
    right.set_ylim(0, 1)
    right.set_xlabel("mean μ of the bin (ten equally populated bins)")
    right.set_ylabel("fraction of correct steps")
    right.set_title("calibration")
    right.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
