#!/usr/bin/env python3
"""The cases of `actprm bench`, in PyTorch eager on the same all-MiniLM-L6-v2 safetensors, so
that the two can be compared side by side. Prints a table and appends JSON lines with the keys
`actprm bench` writes (implementation "pytorch").

The decoder case reads SmolLM2-135M-Instruct's Q4_1 GGUF file (scripts/fetch-decoder.sh) with
transformers' own GGUF loader, dequantised to float32 as actprm dequantises it.

Needs torch, transformers, safetensors and tokenizers, and gguf and accelerate for the decoder
case (a virtual environment outside the repository). Runs on CUDA with --device cuda.

usage: scripts/bench_torch.py [--device cpu|cuda] [--threads N] [--out bench.jsonl]
                              [--processbench DIR] [--decoder FILE]
                              [--cases encoder,scoring,heads,finetune,decoder,eval]
"""

import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer
from transformers import BertConfig, BertModel

STEPS = 8
CASES = ["encoder", "scoring", "heads", "finetune", "decoder", "eval"]
MINILM_ORDINARY_IDS = (1000, 30000)
SMOLLM2_ORDINARY_IDS = (1000, 48000)
SMALL_VOCAB = 64


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--backbone-dir", default=os.path.expanduser("~/.cache/actprm/all-minilm-l6-v2"))
    parser.add_argument("--processbench", help="ProcessBench directory (gsm8k.json) for the eval case")
    parser.add_argument("--eval-items", type=int, default=64)
    parser.add_argument("--shapes", default="32x128,32x256,8x512")
    parser.add_argument("--decoder-shapes", default="4x256,2x512")
    parser.add_argument(
        "--decoder", default=os.path.expanduser("~/.cache/actprm/smollm2-135m-instruct-q4_1.gguf")
    )
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="bench.jsonl")
    parser.add_argument("--commit")
    return parser.parse_args()


class Bench:
    """Times cases and records each as a JSON line."""

    def __init__(self, args, environment):
        self.args = args
        self.environment = environment
        self.out = open(args.out, "a")
        print(f"{'case':<20} {'model':<7} {'shape':>8} {'E':>5} {'median':>14} {'best':>14}  unit")

    def sync(self):
        if self.args.device == "cuda":
            torch.cuda.synchronize()

    def time(self, shape, work, run):
        print(f"measuring {shape['case']} {shape.get('model') or 'heads'}", file=sys.stderr)
        for _ in range(self.args.warmup):
            run()
            self.sync()
        seconds = []
        for _ in range(max(1, self.args.repeats)):
            start = time.perf_counter()
            run()
            self.sync()
            seconds.append(time.perf_counter() - start)
        record = dict(shape)
        record.update(
            median=work / statistics.median(seconds),
            best=work / min(seconds),
            warmup=self.args.warmup,
            repeats=max(1, self.args.repeats),
        )
        record.update(self.environment)
        if shape["seq_len"] is not None:
            shape_text = f"{shape['batch']}x{shape['seq_len']}"
        elif shape["steps"] is not None:
            shape_text = f"{shape['batch']}x{shape['steps']}st"
        else:
            shape_text = str(shape["batch"])
        heads = "-" if shape["heads"] is None else str(shape["heads"])
        print(
            f"{shape['case']:<20} {shape['model'] or '-':<7} {shape_text:>8} {heads:>5} "
            f"{record['median']:>14.1f} {record['best']:>14.1f}  {shape['unit']}"
        )
        self.out.write(json.dumps(record) + "\n")
        self.out.flush()


def case_shape(case, model, batch, seq_len, heads, steps, unit):
    return dict(case=case, model=model, batch=batch, seq_len=seq_len, heads=heads, steps=steps, unit=unit)


def cpu_name():
    """The first processor's model name, with its family and model numbers where /proc/cpuinfo
    gives them (a virtual machine's generic name covers generations whose vector units differ),
    as actprm's bench names it; else the architecture."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name")
    if name is None:
        return os.uname().machine
    if "cpu family" in fields and "model" in fields:
        return f"{name} (family {fields['cpu family']}, model {fields['model']})"
    return name


def current_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# --- Models -------------------------------------------------------------------------------


def load_minilm(directory, device):
    """MiniLM with one more embedding row, the step separator, copied from [SEP]."""
    with open(os.path.join(directory, "config.json")) as f:
        config = BertConfig(**json.load(f))
    model = BertModel.from_pretrained(directory, config=config, add_pooling_layer=False)
    tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    sep = tokenizer.token_to_id("[SEP]")
    table = model.embeddings.word_embeddings.weight.data
    grown = torch.cat([table, table[sep : sep + 1]], dim=0)
    model.resize_token_embeddings(grown.shape[0], mean_resizing=False)
    model.embeddings.word_embeddings.weight.data.copy_(grown)
    return model.to(device), tokenizer, table.shape[0]


class EnsembleHeads(torch.nn.Module):
    """E MLPs d -> 128 -> ReLU -> 128 -> ReLU -> 1, batched as [E, in, out], with the anchor."""

    def __init__(self, heads, d_input, hidden=128):
        super().__init__()
        widths = [d_input, hidden, hidden, 1]
        self.weights = torch.nn.ParameterList(
            [torch.nn.Parameter(torch.randn(heads, a, b) / (2 * math.sqrt(a))) for a, b in zip(widths, widths[1:])]
        )
        self.biases = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(heads, 1, b)) for b in widths[1:]])
        self.anchor = [w.detach().clone() for w in self.weights] + [b.detach().clone() for b in self.biases]

    def forward(self, features):
        batch, steps, width = features.shape
        heads = self.weights[0].shape[0]
        hidden = features.reshape(1, batch * steps, width).expand(heads, -1, -1)
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            hidden = torch.baddbmm(b, hidden, w)
            if i < len(self.weights) - 1:
                hidden = F.relu(hidden)
        return hidden.reshape(heads, batch, steps)

    def anchor_penalty(self):
        params = list(self.weights) + list(self.biases)
        total = sum(((p - a.to(p.device)) ** 2).sum() for p, a in zip(params, self.anchor))
        return total / sum(p.numel() for p in params)


class RotarySmallBackbone(torch.nn.Module):
    """The small backbone of `actprm`: pre-norm causal blocks with rotary attention."""

    def __init__(self, vocab, d_model=64, layers=2, heads=4, d_ff=256, max_positions=512):
        super().__init__()
        self.heads = heads
        self.tokens = torch.nn.Embedding(vocab, d_model)
        self.blocks = torch.nn.ModuleList(
            torch.nn.ModuleDict(
                dict(
                    attention_norm=torch.nn.LayerNorm(d_model),
                    qkv=torch.nn.Linear(d_model, 3 * d_model),
                    output=torch.nn.Linear(d_model, d_model),
                    feed_forward_norm=torch.nn.LayerNorm(d_model),
                    expand=torch.nn.Linear(d_model, d_ff),
                    contract=torch.nn.Linear(d_ff, d_model),
                )
            )
            for _ in range(layers)
        )
        self.norm = torch.nn.LayerNorm(d_model)
        half = d_model // heads // 2
        frequencies = 10000.0 ** (-torch.arange(half) / half)
        angles = torch.arange(max_positions)[:, None] * frequencies[None, :]
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def rotate(self, x):
        seq_len = x.shape[2]
        x1, x2 = x[..., 0::2], x[..., 1::2]
        cos, sin = self.cos[:seq_len], self.sin[:seq_len]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)

    def forward(self, tokens, padding):
        batch, seq_len = tokens.shape
        causal = torch.ones(seq_len, seq_len, dtype=torch.bool, device=tokens.device).tril()
        allowed = causal[None] & ~padding[:, None, :]
        hidden = self.tokens(tokens)
        for block in self.blocks:
            x = block["attention_norm"](hidden)
            q, k, v = block["qkv"](x).view(batch, seq_len, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            attended = F.scaled_dot_product_attention(self.rotate(q), self.rotate(k), v, attn_mask=allowed[:, None])
            hidden = hidden + block["output"](attended.transpose(1, 2).reshape(batch, seq_len, -1))
            x = block["feed_forward_norm"](hidden)
            hidden = hidden + block["contract"](F.gelu(block["expand"](x)))
        return self.norm(hidden)


# --- Inputs -------------------------------------------------------------------------------


def token_windows(batch, seq_len, ids, cls, separator, generator, device):
    tokens = torch.randint(ids[0], ids[1], (batch, seq_len), generator=generator)
    tokens[:, 0] = cls
    positions = torch.tensor([j * (seq_len - 1) // STEPS for j in range(1, STEPS + 1)])
    tokens[:, positions] = separator
    padding = torch.zeros(batch, seq_len, dtype=torch.bool)
    return tokens.to(device), padding.to(device), positions.to(device)


def labels(batch, generator, device):
    """Targets and the labelled mask of half all-correct, half first-error trajectories."""
    targets = torch.ones(batch, STEPS)
    mask = torch.ones(batch, STEPS, dtype=torch.bool)
    for b in range(batch):
        if torch.rand(1, generator=generator).item() < 0.5:
            first = int(torch.randint(0, STEPS, (1,), generator=generator))
            targets[b, first] = 0
            mask[b, first + 1 :] = False
    return targets.to(device), mask.to(device)


def ensemble_loss(logits, targets, mask, heads_module, anchor_weight=0.5):
    bce = F.binary_cross_entropy_with_logits(logits, targets.expand_as(logits), reduction="none")
    classification = (bce * mask).sum() / (mask.sum() * logits.shape[0])
    return classification + anchor_weight * heads_module.anchor_penalty()


def features_of(hidden, step_gather, batch, steps):
    width = hidden.shape[-1]
    return hidden.reshape(-1, width)[step_gather].reshape(batch, steps, width)


# --- Encoding as core/src/encoding.rs encodes: a separator after every step, in windows ---


def encode(tokenizer, separator, question, steps, max_positions=512):
    quarter = max_positions // 4
    room = max_positions - 2
    cls = tokenizer.token_to_id("[CLS]")
    ids = lambda text: tokenizer.encode(text, add_special_tokens=False).ids
    question = ids(question)[: min(quarter, room)]
    step_budget = min(quarter, room - len(question))
    steps = [ids(s)[max(0, len(ids(s)) - step_budget) :] for s in steps]
    head = [cls] + question
    room = max_positions - len(head)
    cost = lambda j: len(steps[j]) + 1
    windows, positions, nxt = [], [], 0
    while True:
        used, first = 0, nxt
        if nxt > 0:
            context_room = min(quarter, room - cost(nxt))
            while first > 0 and used + cost(first - 1) <= context_room:
                first -= 1
                used += cost(first)
        end = nxt
        while end < len(steps) and used + cost(end) <= room:
            used += cost(end)
            end += 1
        window = list(head)
        for j in range(first, end):
            window += steps[j]
            if j >= nxt:
                positions.append((len(windows), len(window)))
            window.append(separator)
        windows.append(window)
        nxt = end
        if nxt == len(steps):
            return windows, positions


def evenly_spaced(items, limit):
    total = len(items)
    if limit >= total:
        return items
    chosen, nxt = [], 0
    for index, item in enumerate(items):
        if nxt < limit and index == nxt * total // limit:
            chosen.append(item)
            nxt += 1
    return chosen


def score_encoded(model, heads, encoded, pad, batch_size, device):
    """Features in batches of `batch_size` trajectories (every window a row), then the heads."""
    features = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start : start + batch_size]
        rows = [w for windows, _ in chunk for w in windows]
        seq_len = max(len(w) for w in rows)
        tokens = torch.full((len(rows), seq_len), pad, dtype=torch.long)
        attention = torch.zeros(len(rows), seq_len, dtype=torch.long)
        for r, w in enumerate(rows):
            tokens[r, : len(w)] = torch.tensor(w)
            attention[r, : len(w)] = 1
        hidden = model(input_ids=tokens.to(device), attention_mask=attention.to(device)).last_hidden_state
        first_row = 0
        for windows, positions in chunk:
            index = torch.tensor([(first_row + w) * seq_len + p for w, p in positions], device=device)
            features.append(hidden.reshape(-1, hidden.shape[-1])[index])
            first_row += len(windows)
    scores = []
    for start in range(0, len(features), batch_size):
        chunk = features[start : start + batch_size]
        steps = max(f.shape[0] for f in chunk)
        padded = torch.zeros(len(chunk), steps, chunk[0].shape[1], device=device)
        for b, f in enumerate(chunk):
            padded[b, : f.shape[0]] = f
        scores.append(torch.sigmoid(heads(padded)).cpu())
    return scores


# --- Cases --------------------------------------------------------------------------------


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    environment = dict(
        implementation="pytorch",
        backend=args.device,
        device=torch.cuda.get_device_name() if args.device == "cuda" else cpu_name(),
        threads=torch.get_num_threads(),
        commit=args.commit or current_commit(),
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    bench = Bench(args, environment)
    generator = torch.Generator().manual_seed(0)
    cases = args.cases.split(",")
    minilm, tokenizer, separator = load_minilm(args.backbone_dir, device)
    cls, pad = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[PAD]")
    shapes = [tuple(int(n) for n in s.split("x")) for s in args.shapes.split(",")]

    if "encoder" in cases:
        small = RotarySmallBackbone(SMALL_VOCAB, max_positions=max(s for _, s in shapes)).to(device).eval()
        for name, model, ids, special in [
            ("minilm", minilm.eval(), MINILM_ORDINARY_IDS, (cls, separator)),
            ("small", small, (0, SMALL_VOCAB), (0, 1)),
        ]:
            for batch, seq_len in shapes:
                tokens, padding, _ = token_windows(batch, seq_len, ids, *special, generator, device)

                def run():
                    with torch.inference_mode():
                        if name == "minilm":
                            model(input_ids=tokens, attention_mask=(~padding).long())
                        else:
                            model(tokens, padding)

                bench.time(case_shape("encoder_forward", name, batch, seq_len, None, STEPS, "tokens/s"), batch * seq_len, run)

    if "scoring" in cases:
        batch, seq_len = 32, 256
        tokens, padding, positions = token_windows(batch, seq_len, MINILM_ORDINARY_IDS, cls, separator, generator, device)
        gather = (torch.arange(batch, device=device)[:, None] * seq_len + positions[None, :]).flatten()
        for heads in [1, 8, 32]:
            ensemble = EnsembleHeads(heads, 384).to(device).eval()

            def run():
                with torch.inference_mode():
                    hidden = minilm(input_ids=tokens, attention_mask=(~padding).long()).last_hidden_state
                    torch.sigmoid(ensemble(features_of(hidden, gather, batch, STEPS))).cpu()

            bench.time(case_shape("ensemble_scoring", "minilm", batch, seq_len, heads, STEPS, "tokens/s"), batch * seq_len, run)

    if "heads" in cases:
        trajectories, heads = 256, 32
        features = torch.randn(trajectories, STEPS, 384, generator=generator).to(device)
        targets, mask = labels(trajectories, generator, device)
        ensemble = EnsembleHeads(heads, 384).to(device)

        def score():
            with torch.inference_mode():
                torch.sigmoid(ensemble(features)).cpu()

        bench.time(case_shape("heads_scoring", None, trajectories, None, heads, STEPS, "trajectories/s"), trajectories, score)
        optimizer = torch.optim.AdamW(ensemble.parameters(), lr=1e-3, weight_decay=0.01)

        def train():
            optimizer.zero_grad()
            loss = ensemble_loss(ensemble(features), targets, mask, ensemble)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(ensemble.parameters(), 1.0)
            optimizer.step()
            loss.item()

        bench.time(case_shape("heads_training_step", None, trajectories, None, heads, STEPS, "trajectories/s"), trajectories, train)

    if "finetune" in cases:
        batch, seq_len, heads = 16, 256, 32
        tokens, padding, positions = token_windows(batch, seq_len, MINILM_ORDINARY_IDS, cls, separator, generator, device)
        gather = (torch.arange(batch, device=device)[:, None] * seq_len + positions[None, :]).flatten()
        targets, mask = labels(batch, generator, device)
        ensemble = EnsembleHeads(heads, 384).to(device)
        minilm.train()
        optimizer = torch.optim.AdamW(list(minilm.parameters()) + list(ensemble.parameters()), lr=2e-5, weight_decay=0.01)

        def step():
            optimizer.zero_grad()
            hidden = minilm(input_ids=tokens, attention_mask=(~padding).long()).last_hidden_state
            loss = ensemble_loss(ensemble(features_of(hidden, gather, batch, STEPS)), targets, mask, ensemble)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(minilm.parameters()) + list(ensemble.parameters()), 1.0)
            optimizer.step()
            loss.item()

        bench.time(case_shape("finetune_step", "minilm", batch, seq_len, heads, STEPS, "tokens/s"), batch * seq_len, step)
        minilm.eval()

    if "decoder" in cases:
        from transformers import AutoModelForCausalLM

        directory, name = os.path.split(os.path.abspath(args.decoder))
        causal = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
        decoder = causal.model.to(device).eval()
        start, separator_id = 1, 1116  # <|im_start|> and "\n\n", as actprm reads SmolLM2
        for batch, seq_len in [tuple(int(n) for n in s.split("x")) for s in args.decoder_shapes.split(",")]:
            tokens, padding, _ = token_windows(
                batch, seq_len, SMOLLM2_ORDINARY_IDS, start, separator_id, generator, device
            )

            def run():
                with torch.inference_mode():
                    decoder(input_ids=tokens, attention_mask=(~padding).long())

            bench.time(case_shape("decoder_forward", "smollm2", batch, seq_len, None, STEPS, "tokens/s"), batch * seq_len, run)

    if "eval" in cases and args.processbench:
        with open(os.path.join(args.processbench, "gsm8k.json")) as f:
            items = evenly_spaced(json.load(f), args.eval_items)
        heads = 32
        ensemble = EnsembleHeads(heads, 384).to(device).eval()

        def run():
            with torch.inference_mode():
                encoded = [encode(tokenizer, separator, item["problem"], item["steps"]) for item in items]
                score_encoded(minilm, ensemble, encoded, pad, 16, device)

        bench.time(case_shape("eval_processbench", "minilm", len(items), None, heads, None, "trajectories/s"), len(items), run)
    print(f"appended to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
