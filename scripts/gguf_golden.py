"""Golden dequantised values of small GGUF tensors for the Rust GGUF reader's tests
(core/src/gguf/), computed with the `gguf` Python package, the reference implementation that
ships with llama.cpp.

For each tensor type the reader supports, it builds the raw bytes of a small tensor from a fixed
seed and dequantises them with `gguf.quants.dequantize`:

- F32, F16, BF16: random floats, stored as that type;
- Q4_0, Q4_1, Q8_0: random floats quantised with `gguf.quants.quantize`;
- Q4_K, Q6_K (which the package cannot quantise): random block bytes, with each super-block's
  f16 scales (`d`, and `dmin` for Q4_K) overwritten by small finite values.

Run by hand, not in CI:

    python3 -m venv /tmp/pt && /tmp/pt/bin/pip install gguf numpy
    /tmp/pt/bin/python scripts/gguf_golden.py

It rewrites core/src/gguf/dequant_golden.json: per type, its name, its row-major shape, its raw
bytes as hex, and the expected f32 values in row-major order (each written as the exact double
of the f32, so it reads back bit for bit).
"""

import json
from importlib import metadata
from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

OUT = Path(__file__).resolve().parent.parent / "core" / "src" / "gguf" / "dequant_golden.json"

# (type, row-major shape): two rows each, rows a few blocks long.
CASES = [
    (T.F32, (2, 32)),
    (T.F16, (2, 32)),
    (T.BF16, (2, 32)),
    (T.Q4_0, (2, 64)),
    (T.Q4_1, (2, 64)),
    (T.Q8_0, (2, 64)),
    (T.Q4_K, (2, 256)),
    (T.Q6_K, (2, 256)),
]


def raw_bytes(qtype, shape, rng):
    """The raw GGUF bytes of a tensor of `shape` and `qtype`, as a flat uint8 array."""
    values = rng.normal(0.0, 1.5, size=shape).astype(np.float32)
    if qtype == T.F32:
        return values.view(np.uint8).reshape(-1)
    if qtype == T.F16:
        return values.astype(np.float16).view(np.uint8).reshape(-1)
    if qtype in (T.BF16, T.Q4_0, T.Q4_1, T.Q8_0):
        return gguf.quants.quantize(values, qtype).reshape(-1)

    # K-quants: random super-blocks with sane f16 scales.
    block_elements, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = int(np.prod(shape)) // block_elements
    blocks = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    if qtype == T.Q4_K:
        # d at bytes 0..2, dmin at bytes 2..4.
        scales = rng.uniform(0.001, 0.05, size=(n_blocks, 2)).astype(np.float16)
        blocks[:, 0:4] = scales.view(np.uint8)
    elif qtype == T.Q6_K:
        # d at the last two bytes (after ql, qh and the 16 int8 scales).
        d = rng.uniform(-0.02, 0.02, size=(n_blocks, 1)).astype(np.float16)
        blocks[:, block_bytes - 2 :] = d.view(np.uint8)
    else:
        raise ValueError(f"no golden recipe for {qtype.name}")
    return blocks.reshape(-1)


def main():
    rng = np.random.default_rng(20240611)
    cases = []
    for qtype, shape in CASES:
        raw = raw_bytes(qtype, shape, rng)
        # dequantize takes the bytes shaped (rows, bytes per row).
        expected = gguf.quants.dequantize(raw.reshape(shape[0], -1), qtype).astype(np.float32)
        assert expected.shape == shape, (qtype.name, expected.shape, shape)
        assert np.all(np.isfinite(expected)), qtype.name
        cases.append(
            {
                "type": qtype.name,
                "type_id": int(qtype),
                "shape": list(shape),
                "raw_hex": raw.tobytes().hex(),
                "expected": [float(v) for v in expected.reshape(-1)],
            }
        )
    document = {"generator": f"gguf {metadata.version('gguf')}", "cases": cases}
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} types)")


if __name__ == "__main__":
    main()
