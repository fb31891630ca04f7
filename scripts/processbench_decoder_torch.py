#!/usr/bin/env python3
"""Reads a ProcessBench split through SmolLM2-135M-Instruct in PyTorch eager, as `actprm eval
processbench` reads it with a decoder checkpoint: each solution once, the question and every
step each followed by the separator "\n\n", up to the feature layer, in batches of solutions
sorted by length. The text is tokenised whole, where actprm tokenises each step and adds the
separator's token, so the token counts can differ slightly. Prints the tokens read and the
reading time (loading and tokenising apart), to set beside the wall time of `actprm eval
processbench --limit N` (docs/performance.md).

Needs torch, transformers, gguf and accelerate (a virtual environment outside the repository).

usage: scripts/processbench_decoder_torch.py --data DIR [--split gsm8k] [--limit N]
                                             [--layer 22] [--batch-size 16] [--threads 2]
                                             [--decoder FILE]
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def evenly_spaced():
    """`bench_torch.py`'s choice of items spread over a split, the one `--limit` makes."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_torch.py")
    spec = importlib.util.spec_from_file_location("bench_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.evenly_spaced


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="ProcessBench directory (gsm8k.json, ...)")
    parser.add_argument("--split", default="gsm8k")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--layer", type=int, default=22, help="layers run, as --feature-layer")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--decoder", default=os.path.expanduser("~/.cache/actprm/smollm2-135m-instruct-q4_1.gguf")
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    directory, name = os.path.split(os.path.abspath(args.decoder))
    model = AutoModelForCausalLM.from_pretrained(
        directory, gguf_file=name, torch_dtype=torch.float32
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model.model.layers = model.model.layers[: args.layer]

    with open(os.path.join(args.data, f"{args.split}.json")) as file:
        items = evenly_spaced()(json.load(file), args.limit)
    solutions = [
        tokenizer(
            item["problem"] + "\n\n" + "".join(step + "\n\n" for step in item["steps"]),
            add_special_tokens=False,
        )["input_ids"]
        for item in items
    ]
    order = sorted(range(len(solutions)), key=lambda index: len(solutions[index]))

    started = time.perf_counter()
    with torch.inference_mode():
        for first in range(0, len(order), args.batch_size):
            batch = [solutions[index] for index in order[first : first + args.batch_size]]
            width = max(map(len, batch))
            tokens = torch.zeros(len(batch), width, dtype=torch.long)
            attended = torch.zeros(len(batch), width, dtype=torch.long)
            for row, ids in enumerate(batch):
                tokens[row, : len(ids)] = torch.tensor(ids)
                attended[row, : len(ids)] = 1
            model.model(input_ids=tokens, attention_mask=attended)
    seconds = time.perf_counter() - started
    read = sum(map(len, solutions))
    print(
        f"{args.split}: {len(items)} items, {read} tokens in {seconds:.1f} s "
        f"({read / seconds:.0f} tokens/s), {args.layer} layers, {args.threads} threads"
    )


if __name__ == "__main__":
    sys.exit(main())
