#!/usr/bin/env python3
"""Writes one machine's table of docs/performance.md from the JSON lines of one side-by-side
run: `actprm bench` and scripts/bench_torch.py, case by case, with the ratio actprm / PyTorch
of the median throughputs. The table sits between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; the rest of the document is left as it is, and a new machine's table is
added at the end.

usage: scripts/bench_report.py --actprm A.jsonl --pytorch P.jsonl --name NAME --command CMD
                               [--doc docs/performance.md]
"""

import argparse
import json
import re

KEY = ("case", "model", "batch", "seq_len", "heads", "steps")


def read(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def shape(record):
    if record["seq_len"] is not None:
        return f"{record['batch']}×{record['seq_len']}"
    if record["steps"] is not None:
        return f"{record['batch']} × {record['steps']} steps"
    return f"{record['batch']} items"


def table(actprm, pytorch, name, command):
    theirs = {tuple(r[k] for k in KEY): r for r in pytorch}
    first = actprm[0]
    torch_first = pytorch[0] if pytorch else {}
    lines = [
        f"### {name}",
        "",
        f"actprm on `{first['backend']}` ({first['device']}, {first['threads']} threads), PyTorch on "
        f"`{torch_first.get('backend', '-')}` ({torch_first.get('device', '-')}, "
        f"{torch_first.get('threads', '-')} threads); commit {first['commit']}, {first['date']}; "
        f"median of {first['repeats']} timed runs after {first['warmup']} warm-up.",
        "",
        f"Command: `{command}`",
        "",
        "| case | model | shape | E | actprm | PyTorch | unit | actprm / PyTorch |",
        "|---|---|---|---|---:|---:|---|---:|",
    ]
    for record in actprm:
        other = theirs.get(tuple(record[k] for k in KEY))
        torch_median = f"{other['median']:,.1f}" if other else "—"
        ratio = f"**{record['median'] / other['median']:.2f}×**" if other else "—"
        lines.append(
            f"| {record['case']} | {record['model'] or '—'} | {shape(record)} | "
            f"{record['heads'] or '—'} | {record['median']:,.1f} | {torch_median} | {record['unit']} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--actprm", required=True)
    parser.add_argument("--pytorch", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--doc", default="docs/performance.md")
    args = parser.parse_args()
    section = table(read(args.actprm), read(args.pytorch), args.name, args.command)
    begin, end = f"<!-- bench:{args.name} -->", f"<!-- /bench:{args.name} -->"
    block = f"{begin}\n{section}{end}"
    try:
        with open(args.doc) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Performance\n"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: block, doc)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    with open(args.doc, "w") as f:
        f.write(doc)
    print(section)


if __name__ == "__main__":
    main()
