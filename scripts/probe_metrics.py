"""What the feature probes (reading_probe.py, decoder_probe.py) measure on ProcessBench items:
step ROC-AUC, and first-error F1 at τ = 0.5 and at the best τ on the items themselves (an upper
bound, never a result). Needs numpy and scikit-learn."""
import numpy as np
from sklearn.metrics import roc_auc_score


def first_error_f1(scored, tau):
    """scored: (per-step probabilities, label) pairs, label the first error's index or -1.
    ProcessBench's F1 at `tau`, with its erroneous and correct accuracies."""
    err_ok = err_n = cor_ok = cor_n = 0
    for p, lab in scored:
        pred = next((j for j in range(len(p)) if p[j] < tau), -1)
        if lab == -1:
            cor_n += 1; cor_ok += pred == -1
        else:
            err_n += 1; err_ok += pred == lab
    ae, ac = err_ok / err_n, cor_ok / cor_n
    return (0 if ae + ac == 0 else 2 * ae * ac / (ae + ac)), ae, ac


def processbench_scores(clf, scaler, feats, items, tau=0.5):
    """Step AUC, F1, erroneous and correct accuracy at `tau`, and the best F1 over τ, of the
    classifier on per-item step features (rows of NaN are steps left unread, scored correct)."""
    ys, ps, scored = [], [], []
    for f, it in zip(feats, items):
        good = ~np.isnan(f[:, 0]); p = np.ones(len(f))
        if good.any():
            p[good] = clf.predict_proba(scaler.transform(f[good]))[:, 1]
        lab = it["label"]; upto = len(f) if lab == -1 else lab + 1
        for j in range(upto):
            ys.append(0 if j == lab else 1); ps.append(p[j])
        scored.append((p, lab))
    f1, ae, ac = first_error_f1(scored, tau)
    best = max(first_error_f1(scored, t)[0] for t in np.quantile(ps, np.linspace(0.01, 0.6, 60)))
    return roc_auc_score(ys, ps), f1, ae, ac, best
