"""Probe how much first-error signal frozen all-MiniLM-L6-v2 states carry, read three ways.

Fits a logistic regression on the state at the separator ([SEP]) after each step of PRM800K
phase-1 stepwise rows and reports step ROC-AUC and first-error F1 (τ = 0.5) on ProcessBench
(gsm8k: 400 items; math: 200 spread evenly), for each way of reading a trajectory:

- whole:       one bidirectional read of `[CLS] question step_1 [SEP] step_2 [SEP] ...`, as
               `actprm` reads with `--backbone minilm`;
- blockcausal: the same tokens, but a token attends only to the question and to the steps up
               to its own (one read; every separator sees only its prefix);
- prefix:      every step read alone with its prefix (one read per distinct prefix).

and for each way of pooling a step's feature from the states:

- sep:  the state at the separator after the step, as `actprm` reads;
- mean: the mean of the states of the step's own tokens (the separator excluded);
- both: the two concatenated.

Each fit uses either every labelled step ("all": earlier steps correct, the rated step last) or
the rated step alone ("last"), unweighted or class-balanced. Besides F1 at τ = 0.5 it reports
the best F1 over τ on the test items themselves (an upper bound, never a result). Limits as
`actprm`'s MiniLM encoding: question ≤ 128 tokens, step ≤ 128 (its last), window ≤ 512
(earliest steps dropped).

usage: python scripts/reading_probe.py [ROWS] [MODES] [POOLINGS]
       (defaults 3000 whole,blockcausal,prefix sep)
Needs torch, transformers, tokenizers, scikit-learn; the backbone from scripts/fetch-backbone.sh
and the data sets from scripts/fetch-data.sh in $ACTPRM_DATA (default ~/.cache/actprm/data).
Features are kept in $PROBE_CACHE (default /tmp/reading-probe).
"""
import gzip, json, os, random, sys, time
import numpy as np, torch
from transformers import BertModel
from tokenizers import Tokenizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from probe_metrics import processbench_scores
torch.set_num_threads(2)
CACHE = os.environ.get("PROBE_CACHE", "/tmp/reading-probe")
os.makedirs(CACHE, exist_ok=True)
DATA = os.environ.get("ACTPRM_DATA", os.path.expanduser("~/.cache/actprm/data"))
D = os.path.expanduser("~/.cache/actprm/all-minilm-l6-v2")
tok = Tokenizer.from_file(f"{D}/tokenizer.json"); tok.no_truncation(); tok.no_padding()
model = BertModel.from_pretrained(D).eval()
CLS, SEP, PAD = 101, 102, 0
MAXP, QMAX, SMAX = 512, 128, 128
cache_tok = {}
def enc(text):
    if text not in cache_tok:
        cache_tok[text] = tok.encode(text, add_special_tokens=False).ids
    return cache_tok[text]

def layout(q, steps):
    """ids, segment ids, separator positions; earliest steps dropped if too long (their seps -> None)."""
    qi = enc(q)[:QMAX]
    st = [enc(s)[-SMAX:] for s in steps]
    start = 0
    while 1 + len(qi) + sum(len(s) + 1 for s in st[start:]) > MAXP:
        start += 1
    ids = [CLS] + qi; seg = [0] * len(ids); pos = [None] * len(steps)
    for j in range(start, len(steps)):
        ids += st[j] + [SEP]; seg += [j + 1] * (len(st[j]) + 1); pos[j] = len(ids) - 1
    return ids, seg, pos

@torch.no_grad()
def read(items, mode, bs=16):
    """items: list of (q, steps). returns list of [n_steps, 768] arrays, the separator's state then
    the mean of the step's tokens' states (NaN rows where unread)."""
    lays = [layout(q, s) for q, s in items]
    order = sorted(range(len(items)), key=lambda i: len(lays[i][0]))
    out = [None] * len(items)
    for b0 in range(0, len(order), bs):
        idx = order[b0:b0 + bs]; L = max(len(lays[i][0]) for i in idx)
        ids = torch.zeros(len(idx), L, dtype=torch.long); m = torch.zeros(len(idx), L, dtype=torch.bool)
        seg = torch.full((len(idx), L), 10**6)
        for r, i in enumerate(idx):
            n = len(lays[i][0]); ids[r, :n] = torch.tensor(lays[i][0]); m[r, :n] = True; seg[r, :n] = torch.tensor(lays[i][1])
        if mode == "whole":
            h = model(input_ids=ids, attention_mask=m.long()).last_hidden_state
        else:
            mask4 = (seg[:, None, :] <= seg[:, :, None]) & m[:, None, :]
            h = model(input_ids=ids, attention_mask=mask4[:, None]).last_hidden_state
        for r, i in enumerate(idx):
            pos = lays[i][2]; width = h.shape[-1]
            f = np.full((len(pos), 2 * width), np.nan, dtype=np.float32)
            for j, p in enumerate(pos):
                if p is None: continue
                own = (seg[r] == j + 1); own[p] = False
                f[j, :width] = h[r, p].numpy()
                f[j, width:] = (h[r][own] if own.any() else h[r, p:p + 1]).mean(0).numpy()
            out[i] = f
    return out

def read_prefix(items, bs=16):
    keys = {}; flat = []
    for q, s in items:
        for j in range(len(s)):
            k = (q, tuple(s[:j + 1]))
            if k not in keys: keys[k] = len(flat); flat.append((q, list(s[:j + 1])))
    feats = read(flat, "whole", bs)
    return [np.stack([feats[keys[(q, tuple(s[:j + 1]))]][-1] for j in range(len(s))]) for q, s in items]

# data
rows = [json.loads(l) for l in gzip.open(os.path.join(DATA, "prm800k_stepwise/phase1_train_plus.stepwise-critic.jsonl.gz"))]
rows = [r for r in rows if r["rating"] is not None]
random.Random(0).shuffle(rows); rows = rows[:int(sys.argv[1]) if len(sys.argv) > 1 else 3000]
train = [(r["instruction"], r["responses"] + [r["next_response"]]) for r in rows]
train_y = [[1] * len(r["responses"]) + [0 if r["rating"] == -1 else 1] for r in rows]
pb = {}
for split, n in [("gsm8k", 400), ("math", 200)]:
    items = json.load(open(os.path.join(DATA, f"processbench/{split}.json"))); items = [items[i * len(items) // n] for i in range(n)]
    pb[split] = items
print("train steps", sum(map(len, train_y)), "neg", sum(y.count(0) for y in train_y), flush=True)

modes = sys.argv[2].split(",") if len(sys.argv) > 2 else ["whole", "blockcausal", "prefix"]
poolings = sys.argv[3].split(",") if len(sys.argv) > 3 else ["sep"]
WIDTH = 384
POOLED = {"sep": slice(0, WIDTH), "mean": slice(WIDTH, 2 * WIDTH), "both": slice(0, 2 * WIDTH)}
for mode in modes:
    t = time.time()
    rd = (lambda it: read_prefix(it)) if mode == "prefix" else (lambda it: read(it, mode))
    cf = os.path.join(CACHE, f"feat_{mode}_{len(train)}_sep_mean.pkl")
    import pickle
    if os.path.exists(cf): tf, pf = pickle.load(open(cf, "rb"))
    else:
        tf = rd(train); pf = {k: rd([(it["problem"], it["steps"]) for it in v]) for k, v in pb.items()}
        pickle.dump((tf, pf), open(cf, "wb"))
    print(f"[{mode}] read in {time.time()-t:.0f}s", flush=True)
    for pooling, fit in [(p, f) for p in poolings for f in ["all", "last"]]:
        cols = POOLED[pooling]
        X, Y = [], []
        for f, y in zip(tf, train_y):
            sel = range(len(y)) if fit == "all" else [len(y) - 1]
            for j in sel:
                if not np.isnan(f[j, 0]): X.append(f[j, cols]); Y.append(y[j])
        X = np.array(X); Y = np.array(Y); sc = StandardScaler().fit(X)
        for cw in [None, "balanced"]:
            clf = LogisticRegression(max_iter=2000, C=0.1, class_weight=cw).fit(sc.transform(X), Y)
            res = {k: processbench_scores(clf, sc, [f[:, cols] for f in pf[k]], pb[k]) for k in pb}
            print(f"  {mode:11s} {pooling:4s} fit={fit:4s} cw={str(cw):8s} n={len(Y)} neg={int((Y==0).sum())} " +
                  " ".join(f"{k}: auc {a:.3f} F1 {f:.3f} (err {e:.2f} cor {c:.2f}) best-τ F1 {b:.3f}"
                           for k, (a, f, e, c, b) in res.items()), flush=True)
