#!/usr/bin/env python3
"""Writes GGUF fixtures with llama.cpp's own writer (the `gguf` package from PyPI).

Each fixture has a real model's architecture metadata and tensor list (llama.cpp's
tensor names and ggml shapes) in a quant mix, written by `gguf.GGUFWriter`. Only
the header is kept in the repository (`Tests/ShardPlanTests/Fixtures/gguf/NAME.gguf-header`,
a few kilobytes); the tests extend it to the full file size with ftruncate, so the
tensor data is a sparse hole that takes no disk. `gguf.GGUFReader` then reads the
whole sparse file, and what it reports — every tensor's type and byte size, the data
offset, the file size — goes to `Fixtures/gguf/expected.json`, which
`GGUFWriterFixtureTests` holds shardplan's reader to, to the byte.

The Q4_K_M mixes follow llama.cpp's llama_tensor_get_type for LLAMA_FTYPE_MOSTLY_Q4_K_M
as written here (output Q6_K; attn_v and ffn_down Q6_K on the layers use_more_bits
picks; the rest of the 2-D weights Q4_K; norms and biases F32).

    .build/conformance/sglang/bin/python Scripts/make-gguf-fixtures.py
"""

import json
import os
import pathlib
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "ShardPlanTests" / "Fixtures" / "gguf"


def nbytes(shape, qtype):
    """Bytes of a tensor of `shape` (numpy order, last dimension contiguous) in qtype."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    elements = int(np.prod(shape))
    assert shape[-1] % block == 0, (shape, qtype)
    return elements // block * size


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def q4_k_m(name, layer, layers, shape):
    """llama.cpp's type for a tensor of a Q4_K_M file."""
    if len(shape) == 1:
        return Q.F32
    if name == "output.weight":
        return Q.Q6_K
    if name.endswith("attn_v.weight") or name.endswith("ffn_down.weight") or name.endswith("ffn_down_exps.weight"):
        return Q.Q6_K if use_more_bits(layer, layers) else Q.Q4_K
    return Q.Q4_K


def uniform(qtype):
    def choose(name, layer, layers, shape):
        return Q.F32 if len(shape) == 1 else qtype

    return choose


def dense_decoder(layers, hidden, heads, kv_heads, head_dim, ff, vocab, tied=False, qkv_bias=False, qk_norm=False,
                  sandwich=False):
    """llama.cpp tensors of a Llama-style decoder: (name, numpy shape, layer)."""
    tensors = [("token_embd.weight", [vocab, hidden], -1)]
    for i in range(layers):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", [hidden], i),
            (b + "attn_q.weight", [heads * head_dim, hidden], i),
            (b + "attn_k.weight", [kv_heads * head_dim, hidden], i),
            (b + "attn_v.weight", [kv_heads * head_dim, hidden], i),
            (b + "attn_output.weight", [hidden, heads * head_dim], i),
            (b + "ffn_norm.weight", [hidden], i),
            (b + "ffn_gate.weight", [ff, hidden], i),
            (b + "ffn_up.weight", [ff, hidden], i),
            (b + "ffn_down.weight", [hidden, ff], i),
        ]
        if qkv_bias:
            tensors += [(b + "attn_q.bias", [heads * head_dim], i), (b + "attn_k.bias", [kv_heads * head_dim], i),
                        (b + "attn_v.bias", [kv_heads * head_dim], i)]
        if qk_norm:
            tensors += [(b + "attn_q_norm.weight", [head_dim], i), (b + "attn_k_norm.weight", [head_dim], i)]
        if sandwich:
            tensors += [(b + "post_attention_norm.weight", [hidden], i), (b + "post_ffw_norm.weight", [hidden], i)]
    tensors.append(("output_norm.weight", [hidden], -1))
    if not tied:
        tensors.append(("output.weight", [vocab, hidden], -1))
    return tensors


def moe_decoder(layers, hidden, heads, kv_heads, head_dim, experts, expert_ff, vocab):
    """Qwen3-MoE in llama.cpp's names: stacked experts `ffn_*_exps` [E, out, in]."""
    tensors = [("token_embd.weight", [vocab, hidden], -1)]
    for i in range(layers):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", [hidden], i),
            (b + "attn_q.weight", [heads * head_dim, hidden], i),
            (b + "attn_k.weight", [kv_heads * head_dim, hidden], i),
            (b + "attn_v.weight", [kv_heads * head_dim, hidden], i),
            (b + "attn_output.weight", [hidden, heads * head_dim], i),
            (b + "attn_q_norm.weight", [head_dim], i),
            (b + "attn_k_norm.weight", [head_dim], i),
            (b + "ffn_norm.weight", [hidden], i),
            (b + "ffn_gate_inp.weight", [experts, hidden], i),
            (b + "ffn_gate_exps.weight", [experts, expert_ff, hidden], i),
            (b + "ffn_up_exps.weight", [experts, expert_ff, hidden], i),
            (b + "ffn_down_exps.weight", [experts, hidden, expert_ff], i),
        ]
    tensors += [("output_norm.weight", [hidden], -1), ("output.weight", [vocab, hidden], -1)]
    return tensors


def mamba(layers, hidden, inner, state, conv, rank, vocab):
    """Mamba (v1) in llama.cpp's names."""
    tensors = [("token_embd.weight", [vocab, hidden], -1)]
    for i in range(layers):
        b = f"blk.{i}."
        tensors += [
            (b + "attn_norm.weight", [hidden], i),
            (b + "ssm_in.weight", [2 * inner, hidden], i),
            (b + "ssm_conv1d.weight", [inner, conv], i),
            (b + "ssm_conv1d.bias", [inner], i),
            (b + "ssm_x.weight", [rank + 2 * state, inner], i),
            (b + "ssm_dt.weight", [inner, rank], i),
            (b + "ssm_dt.bias", [inner], i),
            (b + "ssm_a", [inner, state], i),
            (b + "ssm_d", [inner], i),
            (b + "ssm_out.weight", [hidden, inner], i),
        ]
    tensors.append(("output_norm.weight", [hidden], -1))
    return tensors


def mamba_types(name, layer, layers, shape):
    # llama.cpp keeps the SSM's small and 1-D tensors in F32.
    if len(shape) == 1 or "ssm_conv1d" in name or name.endswith("ssm_a") or "ssm_x" in name or "ssm_dt" in name:
        return Q.F32
    return Q.F16


FIXTURES = {
    # meta-llama/Llama-3.1-8B in Q4_K_M.
    "llama-3.1-8b-q4_k_m": dict(
        arch="llama", types=q4_k_m,
        meta=dict(block_count=32, context_length=131072, embedding_length=4096, feed_forward_length=14336,
                  head_count=32, head_count_kv=8, vocab_size=128256),
        tensors=dense_decoder(32, 4096, 32, 8, 128, 14336, 128256),
        file_type=15,
    ),
    # Qwen/Qwen2.5-7B-Instruct in Q8_0, with q/k/v biases.
    "qwen2.5-7b-q8_0": dict(
        arch="qwen2", types=uniform(Q.Q8_0),
        meta=dict(block_count=28, context_length=32768, embedding_length=3584, feed_forward_length=18944,
                  head_count=28, head_count_kv=4, vocab_size=152064),
        tensors=dense_decoder(28, 3584, 28, 4, 128, 18944, 152064, qkv_bias=True),
        file_type=7,
    ),
    # Qwen/Qwen3-30B-A3B in Q4_K_M: 128 experts of 768, 8 used.
    "qwen3-30b-a3b-q4_k_m": dict(
        arch="qwen3moe", types=q4_k_m,
        meta=dict(block_count=48, context_length=40960, embedding_length=2048, feed_forward_length=6144,
                  expert_feed_forward_length=768, head_count=32, head_count_kv=4, key_length=128, value_length=128,
                  expert_count=128, expert_used_count=8, vocab_size=151936),
        tensors=moe_decoder(48, 2048, 32, 4, 128, 128, 768, 151936),
        file_type=15,
    ),
    # google/gemma-3-4b-it (text) in Q4_0: tied embeddings, 5 local (1024) to 1 global.
    "gemma-3-4b-q4_0": dict(
        arch="gemma3", types=uniform(Q.Q4_0),
        meta=dict(block_count=34, context_length=131072, embedding_length=2560, feed_forward_length=10240,
                  head_count=8, head_count_kv=4, key_length=256, value_length=256, sliding_window=1024,
                  vocab_size=262208),
        tensors=dense_decoder(34, 2560, 8, 4, 256, 10240, 262208, tied=True, qk_norm=True, sandwich=True),
        file_type=2,
    ),
    # Qwen/Qwen3-8B in BF16 (norms F32).
    "qwen3-8b-bf16": dict(
        arch="qwen3", types=uniform(Q.BF16),
        meta=dict(block_count=36, context_length=40960, embedding_length=4096, feed_forward_length=12288,
                  head_count=32, head_count_kv=8, key_length=128, value_length=128, vocab_size=151936),
        tensors=dense_decoder(36, 4096, 32, 8, 128, 12288, 151936, qk_norm=True),
        file_type=32,
    ),
    # state-spaces/mamba-2.8b in F16: no attention, a recurrent state.
    "mamba-2.8b-f16": dict(
        arch="mamba", types=mamba_types,
        meta=dict(block_count=64, context_length=1048576, embedding_length=2560, feed_forward_length=0,
                  head_count=0, head_count_kv=0, vocab_size=50280,
                  **{"ssm.conv_kernel": 4, "ssm.inner_size": 5120, "ssm.state_size": 16, "ssm.time_step_rank": 160}),
        tensors=mamba(64, 2560, 5120, 16, 4, 160, 50280),
        file_type=1,
    ),
}


def write(name, fixture, folder):
    path = folder / f"{name}.gguf"
    arch = fixture["arch"]
    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(name)
    writer.add_file_type(fixture["file_type"])
    # The writer's own methods, so every key is spelled as llama.cpp reads it
    # (`head_count` → `{arch}.attention.head_count`, `ssm.state_size` → `{arch}.ssm.state_size`).
    for key, value in fixture["meta"].items():
        getattr(writer, "add_" + key.replace(".", "_"))(value)
    layers = fixture["meta"]["block_count"]
    for tensor, shape, layer in fixture["tensors"]:
        qtype = fixture["types"](tensor, layer, layers, shape)
        writer.add_tensor_info(tensor, shape, np.float32, nbytes(shape, qtype), raw_dtype=qtype)
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    # The writer pads the header to the data alignment before the data section.
    writer.fout[0].write(bytes(gguf.GGUFWriter.ggml_pad(writer.fout[0].tell(), writer.data_alignment)
                               - writer.fout[0].tell()))
    header_bytes = writer.fout[0].tell()
    data = sum(gguf.GGUFWriter.ggml_pad(ti.nbytes, writer.data_alignment) for ti in writer.tensors[0].values())
    writer.fout[0].truncate(header_bytes + data)  # a sparse hole: no tensor data on disk
    writer.close()
    return path, header_bytes


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19", "fixtures": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for name, fixture in FIXTURES.items():
            path, header_bytes = write(name, fixture, pathlib.Path(scratch))
            reader = gguf.GGUFReader(path)
            types = {}
            for tensor in reader.tensors:
                types[tensor.tensor_type.name] = types.get(tensor.tensor_type.name, 0) + 1
            expected["fixtures"][name] = {
                "fileBytes": os.path.getsize(path),
                "headerBytes": header_bytes,
                "dataOffset": reader.data_offset,
                "tensors": len(reader.tensors),
                "tensorBytes": int(sum(int(t.n_bytes) for t in reader.tensors)),
                "typeCounts": dict(sorted(types.items())),
            }
            (OUT / f"{name}.gguf-header").write_bytes(path.read_bytes()[:header_bytes])
            print(f"{name}: {len(reader.tensors)} tensors, {expected['fixtures'][name]['tensorBytes']:,} bytes")
    (OUT / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
