"""Golden hidden states and step scores of all-MiniLM-L6-v2 for the Rust parity tests, computed
with NumPy.

An independent reference implementation of a BERT encoder (post-LN blocks, erf GELU), reading
the same model.safetensors the Rust encoder loads and tokenising with the same tokenizer.json
through the Python `tokenizers` package. Run by hand, not in CI:

    python3 -m venv /tmp/golden && /tmp/golden/bin/pip install numpy tokenizers
    scripts/fetch-backbone.sh
    /tmp/golden/bin/python scripts/bert_golden.py [BACKBONE_DIR]

It rewrites core/src/model/bert/minilm_golden.json: each text, its token ids ([CLS] ... [SEP]),
and the last hidden state of every position. It also rewrites
core/src/minilm_step_scores_golden.json: an ensemble of small MLP heads with fixed weights on
the encoder, and for each trajectory its token ids (`[CLS] question step [STEP] step [STEP]`,
the new `[STEP]` token's embedding a copy of `[SEP]`'s), the separator positions, and every
head's probability that each step is correct.
"""

import json
import math
import os
import struct
import sys
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

TEXTS = [
    "Natalia sold 48 clips in April and half as many in May.",
    "So she sold 72 clips altogether.",
]
TRAJECTORIES = [
    {
        "question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
        "steps": ["In May she sold 48 / 2 = 24 clips.", "In all she sold 48 + 24 = 72 clips."],
    },
    {
        "question": "A pen costs 3 dollars. How much do 5 pens cost?",
        "steps": ["Each pen costs 3 dollars.", "5 pens cost 5 * 3 = 16 dollars.", "The answer is 16."],
    },
]
HEADS = 3
HEAD_WIDTH = 4
ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "core/src/model/bert/minilm_golden.json"
STEP_OUTPUT = ROOT / "core/src/minilm_step_scores_golden.json"


def read_safetensors(path):
    """Every tensor of a safetensors file, as float32 arrays (the I64 position_ids are skipped)."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype="<f4").reshape(info["shape"])
    return tensors


def layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def encode(ids, w, config):
    """The last hidden state, [len(ids), hidden], of one unpadded sequence."""
    eps = config["layer_norm_eps"]
    heads = config["num_attention_heads"]
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][: len(ids)]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    x = x.astype(np.float64)
    seq, hidden = x.shape
    head_dim = hidden // heads

    def linear(x, name):
        return x @ w[name + ".weight"].T.astype(np.float64) + w[name + ".bias"]

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        split = lambda t: t.reshape(seq, heads, head_dim).transpose(1, 0, 2)
        q = split(linear(x, p + "attention.self.query"))
        k = split(linear(x, p + "attention.self.key"))
        v = split(linear(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(head_dim)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(1, 0, 2).reshape(seq, hidden)
        attended = layer_norm(
            x + linear(context, p + "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        inner = gelu(linear(attended, p + "intermediate.dense"))
        x = layer_norm(
            attended + linear(inner, p + "output.dense"),
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
            eps,
        )
    return x


def head_layers(width):
    """Fixed head weights: per layer, weight [HEADS, in, out] and bias [HEADS, out], rounded to
    float32 as the Rust model stores them."""
    widths = [width, HEAD_WIDTH, HEAD_WIDTH, 1]
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        k = np.arange(HEADS * fan_in * fan_out)
        weight = 5.0 * np.sin(0.7 * k + index) / math.sqrt(fan_in)
        bias = 0.1 * np.cos(np.arange(HEADS * fan_out) + index)
        layers.append(
            {
                "weight": weight.astype(np.float32).reshape(HEADS, fan_in, fan_out),
                "bias": bias.astype(np.float32).reshape(HEADS, fan_out),
            }
        )
    return layers


def step_probabilities(features, layers):
    """Every head's sigmoid output for each step feature: [HEADS, steps]."""
    probabilities = []
    for e in range(HEADS):
        x = features
        for index, layer in enumerate(layers):
            x = x @ layer["weight"][e].astype(np.float64) + layer["bias"][e]
            if index < len(layers) - 1:
                x = np.maximum(x, 0.0)
        probabilities.append(1.0 / (1.0 + np.exp(-x[:, 0])))
    return np.array(probabilities)


def step_scores(weights, config, tokenizer):
    """The step-score golden: heads, then per trajectory ids, separator positions, scores."""
    step_id = tokenizer.get_vocab_size()
    embeddings = weights["embeddings.word_embeddings.weight"]
    grown = dict(weights)
    grown["embeddings.word_embeddings.weight"] = np.vstack(
        [embeddings, embeddings[tokenizer.token_to_id("[SEP]")]]
    )
    layers = head_layers(config["hidden_size"])
    items = []
    for trajectory in TRAJECTORIES:
        ids = [tokenizer.token_to_id("[CLS]")]
        ids += tokenizer.encode(trajectory["question"], add_special_tokens=False).ids
        positions = []
        for step in trajectory["steps"]:
            ids += tokenizer.encode(step, add_special_tokens=False).ids
            positions.append(len(ids))
            ids.append(step_id)
        hidden = encode(np.array(ids), grown, config)
        probabilities = step_probabilities(hidden[positions], layers)
        items.append(
            dict(
                trajectory,
                ids=ids,
                separator_positions=positions,
                probabilities=[[round(float(p), 7) for p in head] for head in probabilities],
            )
        )
    heads = [
        {"weight": layer["weight"].tolist(), "bias": layer["bias"].tolist()} for layer in layers
    ]
    return {"backbone": "all-MiniLM-L6-v2", "separator_init": "[SEP]", "heads": heads, "trajectories": items}


def main():
    default = Path(os.environ.get("ACTPRM_BACKBONE", Path.home() / ".cache/actprm/all-minilm-l6-v2"))
    backbone = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    config = json.loads((backbone / "config.json").read_text())
    weights = read_safetensors(backbone / "model.safetensors")
    tokenizer = Tokenizer.from_file(str(backbone / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    items = []
    for text in TEXTS:
        ids = tokenizer.encode(text).ids
        hidden = encode(np.array(ids), weights, config)
        items.append(
            {"text": text, "ids": ids, "hidden": [[round(float(v), 6) for v in row] for row in hidden]}
        )
    OUTPUT.write_text(json.dumps({"backbone": "all-MiniLM-L6-v2", "items": items}) + "\n")
    print(f"wrote {OUTPUT}: {[len(item['ids']) for item in items]} tokens")
    golden = step_scores(weights, config, tokenizer)
    STEP_OUTPUT.write_text(json.dumps(golden) + "\n")
    print(f"wrote {STEP_OUTPUT}: {[len(t['ids']) for t in golden['trajectories']]} tokens")


if __name__ == "__main__":
    main()
