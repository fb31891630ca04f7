#!/usr/bin/env python3
"""Writes one machine's table of docs/performance.md from the JSON lines of one side-by-side
run: `actprm bench` and scripts/bench_torch.py (and, when given, `actprm bench` of an earlier
build), case by case, with the ratio actprm / PyTorch of the median throughputs. The table sits between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; the rest of the document is left as it is, and a new machine's table is
added at the end.

usage: scripts/bench_report.py --actprm A.jsonl --pytorch P.jsonl --name NAME --command CMD
                               [--before B.jsonl] [--doc docs/performance.md]
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


def key(record):
    return tuple(record[k] for k in KEY)


def ratio(ours, theirs):
    return f"{ours['median'] / theirs['median']:.2f}×" if ours and theirs else "—"


def median(record):
    return f"{record['median']:,.1f}" if record else "—"


def table(actprm, pytorch, before, name, command):
    theirs = {key(r): r for r in pytorch}
    earlier = {key(r): r for r in before}
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
    ]
    if before:
        lines += [f"Before: commit {before[0]['commit']}, measured in the same run.", ""]
        lines += [
            "| case | model | shape | E | unit | before | actprm | PyTorch | before / PyTorch | actprm / PyTorch |",
            "|---|---|---|---|---|---:|---:|---:|---:|---:|",
        ]
    else:
        lines += [
            "| case | model | shape | E | unit | actprm | PyTorch | actprm / PyTorch |",
            "|---|---|---|---|---|---:|---:|---:|",
        ]
    for record in actprm:
        other = theirs.get(key(record))
        cells = [record["case"], record["model"] or "—", shape(record), str(record["heads"] or "—"), record["unit"]]
        if before:
            old = earlier.get(key(record))
            cells += [median(old), median(record), median(other), ratio(old, other), f"**{ratio(record, other)}**"]
        else:
            cells += [median(record), median(other), f"**{ratio(record, other)}**"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--actprm", required=True)
    parser.add_argument("--pytorch", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--before", help="`actprm bench` lines of an earlier build, from the same run")
    parser.add_argument("--doc", default="docs/performance.md")
    args = parser.parse_args()
    before = read(args.before) if args.before else []
    section = table(read(args.actprm), read(args.pytorch), before, args.name, args.command)
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
