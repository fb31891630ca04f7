"""Probe how much first-error signal frozen SmolLM2-135M states carry, by layer, by pooling and
by which steps of a PRM800K row the fit counts.

Reads each PRM800K phase-1 stepwise row once, causally, as `actprm` reads a decoder:
`<bos> question SEP step_1 SEP step_2 SEP ...` with SEP the "\\n\\n" token, so that every step's
states have seen its prefix alone. Fits a logistic regression per layer on each step's

- sep:  the state at the separator after the step, as `actprm` reads;
- mean: the mean of the states of the step's own tokens;
- both: the two concatenated;

counting either every labelled step of a row ("all": the prefix as correct, the rated step
last, as the paper's loss does) or the rated step alone ("last", `actprm --loss-steps last`),
unweighted or class-balanced, and reports step ROC-AUC and first-error F1 at τ = 0.5 (and the
best F1 over τ on the test items, an upper bound) on 200 items of ProcessBench gsm8k and math,
spread evenly over each split.

usage: python scripts/decoder_probe.py [ROWS]   (default 1000)
Needs torch, transformers (with gguf), scikit-learn; the GGUF from scripts/fetch-decoder.sh in
$ACTPRM_DECODER_DIR (default ~/.cache/actprm) and the data sets from scripts/fetch-data.sh in
$ACTPRM_DATA (default ~/.cache/actprm/data). Layers with $LAYERS (default 8,16,22,29: the
outputs of those blocks). Features are kept in $PROBE_CACHE (default /tmp/decoder-probe).
"""
import gzip, json, os, pickle, random, sys, time
import numpy as np, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from probe_metrics import processbench_scores

torch.set_num_threads(2)
CACHE = os.environ.get("PROBE_CACHE", "/tmp/decoder-probe")
os.makedirs(CACHE, exist_ok=True)
DATA = os.environ.get("ACTPRM_DATA", os.path.expanduser("~/.cache/actprm/data"))
MODEL_DIR = os.environ.get("ACTPRM_DECODER_DIR", os.path.expanduser("~/.cache/actprm"))
GGUF = "smollm2-135m-instruct-q4_1.gguf"
LAYERS = [int(x) for x in os.environ.get("LAYERS", "8,16,22,29").split(",")]
tok = AutoTokenizer.from_pretrained(MODEL_DIR, gguf_file=GGUF)
model = AutoModelForCausalLM.from_pretrained(MODEL_DIR, gguf_file=GGUF, dtype=torch.float32).eval()
SEP, BOS = tok.convert_tokens_to_ids("ĊĊ"), tok.bos_token_id
token_cache = {}


def enc(text):
    if text not in token_cache:
        token_cache[text] = tok.encode(text, add_special_tokens=False)
    return token_cache[text]


def layout(question, steps):
    """Token ids, and each step's (first token, separator) positions."""
    ids = [BOS] + enc(question) + [SEP]; spans = []
    for step in steps:
        start = len(ids); ids += enc(step); spans.append((start, len(ids))); ids.append(SEP)
    return ids, spans


@torch.no_grad()
def read(items, bs=8):
    """items: (question, steps) pairs. Per item, [steps, layers, 2 (sep, mean), width]."""
    lays = [layout(q, s) for q, s in items]
    order = sorted(range(len(items)), key=lambda i: len(lays[i][0]))
    out = [None] * len(items)
    for b0 in range(0, len(order), bs):
        idx = order[b0:b0 + bs]; L = max(len(lays[i][0]) for i in idx)
        ids = torch.zeros(len(idx), L, dtype=torch.long); mask = torch.zeros(len(idx), L, dtype=torch.long)
        for r, i in enumerate(idx):
            n = len(lays[i][0]); ids[r, :n] = torch.tensor(lays[i][0]); mask[r, :n] = 1
        hs = model.model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        for r, i in enumerate(idx):
            spans = lays[i][1]
            f = np.zeros((len(spans), len(LAYERS), 2, hs[0].shape[-1]), dtype=np.float32)
            for li, layer in enumerate(LAYERS):
                h = hs[layer][r]
                for j, (a, b) in enumerate(spans):
                    f[j, li, 0] = h[b].numpy()
                    f[j, li, 1] = (h[a:b] if b > a else h[b:b + 1]).mean(0).numpy()
            out[i] = f
    return out


rows_wanted = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
rows = [json.loads(l) for l in gzip.open(os.path.join(DATA, "prm800k_stepwise/phase1_train_plus.stepwise-critic.jsonl.gz"))]
rows = [r for r in rows if r["rating"] is not None]
random.Random(0).shuffle(rows); rows = rows[:rows_wanted]
train = [(r["instruction"], r["responses"] + [r["next_response"]]) for r in rows]
train_y = [[1] * len(r["responses"]) + [0 if r["rating"] == -1 else 1] for r in rows]
pb = {}
for split in ["gsm8k", "math"]:
    items = json.load(open(os.path.join(DATA, f"processbench/{split}.json")))
    pb[split] = [items[i * len(items) // 200] for i in range(200)]

cached = os.path.join(CACHE, f"features_{rows_wanted}_{'-'.join(map(str, LAYERS))}.pkl")
if os.path.exists(cached):
    train_f, pb_f = pickle.load(open(cached, "rb"))
else:
    started = time.time()
    train_f = read(train)
    pb_f = {k: read([(it["problem"], it["steps"]) for it in v]) for k, v in pb.items()}
    print(f"read in {time.time() - started:.0f} s", flush=True)
    pickle.dump((train_f, pb_f), open(cached, "wb"), protocol=4)


def pooled(f, li, pooling):
    x = f[:, li]
    return {"sep": x[:, 0], "mean": x[:, 1], "both": x.reshape(len(x), -1)}[pooling]


for li, layer in enumerate(LAYERS):
    for pooling in ["sep", "mean", "both"]:
        for fit in ["all", "last"]:
            X, Y = [], []
            for f, y in zip(train_f, train_y):
                x = pooled(f, li, pooling)
                for j in (range(len(y)) if fit == "all" else [len(y) - 1]):
                    X.append(x[j]); Y.append(y[j])
            X = np.array(X); Y = np.array(Y); scaler = StandardScaler().fit(X)
            for weights in [None, "balanced"]:
                clf = LogisticRegression(max_iter=2000, C=0.1, class_weight=weights).fit(scaler.transform(X), Y)
                res = {k: processbench_scores(clf, scaler, [pooled(f, li, pooling) for f in pb_f[k]], pb[k]) for k in pb}
                print(f"layer {layer:2d} {pooling:4s} fit={fit:4s} weights={str(weights):8s} n={len(Y)} errors={int((Y == 0).sum())} " +
                      " ".join(f"{k}: auc {a:.3f} F1 {f1:.3f} best-τ F1 {b:.3f}" for k, (a, f1, _, _, b) in res.items()),
                      flush=True)
