"""Golden gradients of one fine-tuning step, computed with PyTorch autograd in float64, for the
Rust parity test core/tests/finetune_gradients.rs.

A tiny randomly initialised BERT (2 layers, width 16) with an ensemble of 3 MLP heads reads two
trajectories padded into one batch; the loss is ActPRM's (docs/method.md §2): per-head binary
cross-entropy over the labelled steps, erroneous steps weighted by ERROR_WEIGHT, plus
ANCHOR_WEIGHT times mean((θ − θ₀)²) over the heads, with θ away from θ₀ so that the anchor
term has a gradient too. The reference is written independently of the Rust code, from the
BERT definition: post-LN blocks, erf GELU, padding keys masked out of the attention.

Run by hand, not in CI; the files it writes are committed:

    python3 -m venv /tmp/golden && /tmp/golden/bin/pip install torch numpy safetensors
    /tmp/golden/bin/python scripts/finetune_golden.py

It writes core/tests/data/finetune/: config.json and model.safetensors (the encoder, under
Hugging Face's names, float32), golden.safetensors (the heads, their anchor and every
parameter's gradient, float32) and golden.json (the batch, the labels and the loss).
"""

import json
import math
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "core/tests/data/finetune"

CONFIG = {
    "model_type": "bert",
    "vocab_size": 50,
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "max_position_embeddings": 24,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "hidden_dropout_prob": 0.0,
    "hidden_act": "gelu",
}
HEADS = 3
HEAD_WIDTH = 8
ANCHOR_WEIGHT = 0.5
ERROR_WEIGHT = 2.0
PAD_ID = 0
# Two trajectories: token ids and the position of each step's separator (its feature). The
# first has its first error at step 1 (step 2 is unlabelled); the second is correct throughout.
TRAJECTORIES = [
    {"length": 12, "separators": [5, 8, 11], "first_error": 1},
    {"length": 9, "separators": [4, 8], "first_error": None},
]


def encoder_weights(rng):
    """Hugging Face BERT tensor names and float32 values, torch's [out, in] for linear weights."""
    h, i = CONFIG["hidden_size"], CONFIG["intermediate_size"]
    weights = {}

    def normal(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def norm(prefix):
        weights[f"{prefix}.weight"] = (1.0 + normal(h, scale=0.1)).astype(np.float32)
        weights[f"{prefix}.bias"] = normal(h, scale=0.1)

    def linear(prefix, fan_in, fan_out):
        weights[f"{prefix}.weight"] = normal(fan_out, fan_in, scale=1.0 / math.sqrt(fan_in))
        weights[f"{prefix}.bias"] = normal(fan_out, scale=0.1)

    weights["embeddings.word_embeddings.weight"] = normal(CONFIG["vocab_size"], h)
    weights["embeddings.position_embeddings.weight"] = normal(CONFIG["max_position_embeddings"], h)
    weights["embeddings.token_type_embeddings.weight"] = normal(CONFIG["type_vocab_size"], h)
    norm("embeddings.LayerNorm")
    for layer in range(CONFIG["num_hidden_layers"]):
        p = f"encoder.layer.{layer}"
        for name in ["query", "key", "value"]:
            linear(f"{p}.attention.self.{name}", h, h)
        linear(f"{p}.attention.output.dense", h, h)
        norm(f"{p}.attention.output.LayerNorm")
        linear(f"{p}.intermediate.dense", h, i)
        linear(f"{p}.output.dense", i, h)
        norm(f"{p}.output.LayerNorm")
    return weights


def head_weights(rng):
    """Per layer (weight [E, in, out], bias [E, 1, out]) of the heads, and their anchor θ₀."""
    widths = [CONFIG["hidden_size"], HEAD_WIDTH, HEAD_WIDTH, 1]
    layers, anchor = [], []
    for fan_in, fan_out in zip(widths, widths[1:]):
        weight = (rng.standard_normal((HEADS, fan_in, fan_out)) / math.sqrt(fan_in)).astype(np.float32)
        bias = (rng.standard_normal((HEADS, 1, fan_out)) * 0.1).astype(np.float32)
        layers.append((weight, bias))
        anchor.append(
            (
                (weight + rng.standard_normal(weight.shape) * 0.05).astype(np.float32),
                (bias + rng.standard_normal(bias.shape) * 0.05).astype(np.float32),
            )
        )
    return layers, anchor


def layer_norm(x, weight, bias):
    mean = x.mean(-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + CONFIG["layer_norm_eps"]) * weight + bias


def linear(x, p, name):
    return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]


def encoder(p, ids, padding):
    """The last hidden state of every position, [batch, seq, hidden]."""
    batch, seq = ids.shape
    h, heads = CONFIG["hidden_size"], CONFIG["num_attention_heads"]
    width = h // heads
    x = (
        p["embeddings.word_embeddings.weight"][ids]
        + p["embeddings.position_embeddings.weight"][torch.arange(seq)][None]
        + p["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
    )
    x = layer_norm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"])
    blocked = padding[:, None, None, :]  # padding keys, for every head and query
    for layer in range(CONFIG["num_hidden_layers"]):
        q_name = f"encoder.layer.{layer}"

        def split(t):
            return t.reshape(batch, seq, heads, width).transpose(1, 2)

        q = split(linear(x, p, f"{q_name}.attention.self.query"))
        k = split(linear(x, p, f"{q_name}.attention.self.key"))
        v = split(linear(x, p, f"{q_name}.attention.self.value"))
        scores = (q @ k.transpose(2, 3)) / math.sqrt(width)
        scores = scores.masked_fill(blocked, float("-inf"))
        mixed = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(batch, seq, h)
        x = layer_norm(
            x + linear(mixed, p, f"{q_name}.attention.output.dense"),
            p[f"{q_name}.attention.output.LayerNorm.weight"],
            p[f"{q_name}.attention.output.LayerNorm.bias"],
        )
        inner = linear(x, p, f"{q_name}.intermediate.dense")
        inner = 0.5 * inner * (1.0 + torch.erf(inner / math.sqrt(2.0)))
        x = layer_norm(
            x + linear(inner, p, f"{q_name}.output.dense"),
            p[f"{q_name}.output.LayerNorm.weight"],
            p[f"{q_name}.output.LayerNorm.bias"],
        )
    return x


def main():
    rng = np.random.default_rng(20261205)
    encoder_np = encoder_weights(rng)
    heads_np, anchor_np = head_weights(rng)
    seq = max(t["length"] for t in TRAJECTORIES)
    ids = np.full((len(TRAJECTORIES), seq), PAD_ID, dtype=np.int64)
    for b, t in enumerate(TRAJECTORIES):
        ids[b, : t["length"]] = rng.integers(1, CONFIG["vocab_size"], t["length"])
        t["ids"] = ids[b, : t["length"]].tolist()
    padding = torch.tensor([[position >= t["length"] for position in range(seq)] for t in TRAJECTORIES])

    def leaf(array):
        return torch.tensor(array, dtype=torch.float64, requires_grad=True)

    p = {name: leaf(value) for name, value in encoder_np.items()}
    heads = [(leaf(w), leaf(b)) for w, b in heads_np]
    anchor = [(torch.tensor(w, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)) for w, b in anchor_np]

    hidden = encoder(p, torch.tensor(ids), padding)
    max_steps = max(len(t["separators"]) for t in TRAJECTORIES)
    features = torch.zeros(len(TRAJECTORIES), max_steps, CONFIG["hidden_size"], dtype=torch.float64)
    targets = torch.zeros(len(TRAJECTORIES), max_steps, dtype=torch.float64)
    labelled = torch.zeros(len(TRAJECTORIES), max_steps, dtype=torch.float64)
    for b, t in enumerate(TRAJECTORIES):
        for s, position in enumerate(t["separators"]):
            features[b, s] = hidden[b, position]
            if t["first_error"] is None or s <= t["first_error"]:
                labelled[b, s] = 1.0
                targets[b, s] = 0.0 if s == t["first_error"] else 1.0

    x = features.reshape(1, -1, CONFIG["hidden_size"]).expand(HEADS, -1, -1)
    for index, (w, b) in enumerate(heads):
        x = x @ w + b
        if index < len(heads) - 1:
            x = torch.relu(x)
    logits = x.reshape(HEADS, len(TRAJECTORIES), max_steps)
    y = targets[None]
    bce = -(y * torch.nn.functional.logsigmoid(logits) + (1 - y) * torch.nn.functional.logsigmoid(-logits))
    weight = labelled[None] * (1.0 + (1.0 - y) * (ERROR_WEIGHT - 1.0))
    weight = weight.expand(HEADS, -1, -1)
    classification = (bce * weight).sum() / weight.sum()
    squared = sum(((w - aw) ** 2).sum() + ((b - ab) ** 2).sum() for (w, b), (aw, ab) in zip(heads, anchor))
    count = sum(w.numel() + b.numel() for w, b in heads)
    anchor_term = squared / count
    total = classification + ANCHOR_WEIGHT * anchor_term
    total.backward()

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "config.json").write_text(json.dumps(CONFIG, indent=2) + "\n")
    save_file(encoder_np, str(OUT / "model.safetensors"))
    golden = {}
    for index, ((w, b), (aw, ab)) in enumerate(zip(heads, anchor)):
        golden[f"heads.{index}.weight"] = heads_np[index][0]
        golden[f"heads.{index}.bias"] = heads_np[index][1]
        golden[f"anchor.{index}.weight"] = aw.numpy().astype(np.float32)
        golden[f"anchor.{index}.bias"] = ab.numpy().astype(np.float32)
        golden[f"grad.heads.{index}.weight"] = w.grad.numpy().astype(np.float32)
        golden[f"grad.heads.{index}.bias"] = b.grad.numpy().astype(np.float32)
    for name, value in p.items():
        golden[f"grad.{name}"] = value.grad.numpy().astype(np.float32)
    save_file(golden, str(OUT / "golden.safetensors"))
    summary = {
        "pad_id": PAD_ID,
        "anchor_weight": ANCHOR_WEIGHT,
        "error_weight": ERROR_WEIGHT,
        "trajectories": [
            {"ids": t["ids"], "separators": t["separators"], "first_error": t["first_error"]}
            for t in TRAJECTORIES
        ],
        "loss": {
            "total": total.item(),
            "classification": classification.item(),
            "anchor": anchor_term.item(),
        },
        "torch": torch.__version__,
    }
    (OUT / "golden.json").write_text(json.dumps(summary, indent=2) + "\n")
    largest = max(g.abs().max().item() for g in [v.grad for v in p.values()])
    print(f"loss {total.item():.6f}; largest encoder gradient {largest:.3e}; wrote {OUT}")


if __name__ == "__main__":
    main()
