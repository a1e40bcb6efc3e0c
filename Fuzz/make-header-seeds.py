#!/usr/bin/env python3
"""Writes small, valid GGUF and safetensors files into Fuzz/Corpus/headers as
seeds for FuzzModelHeaders (the fuzzer mutates them into broken ones)."""
import json, os, struct

out = os.path.join(os.path.dirname(__file__), "Corpus", "headers")
os.makedirs(out, exist_ok=True)

def gguf(path, tensors, meta):
    b = bytearray(b"GGUF") + struct.pack("<IQQ", 3, len(tensors), len(meta))
    def s(t):
        return struct.pack("<Q", len(t.encode())) + t.encode()
    for k, (typ, v) in meta.items():
        b += s(k) + struct.pack("<I", typ)
        if typ == 4: b += struct.pack("<I", v)
        elif typ == 8: b += s(v)
        elif typ == 9:
            b += struct.pack("<IQ", 8, len(v))
            for x in v: b += s(x)
    off = 0
    sizes = []
    for name, t, dims, nbytes in tensors:
        b += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", t, off)
        off += (nbytes + 31) // 32 * 32
    while len(b) % 32: b.append(0)
    b += bytes(off)
    open(path, "wb").write(b)

meta = {"general.architecture": (8, "llama"), "llama.block_count": (4, 1), "llama.embedding_length": (4, 64),
        "llama.attention.head_count": (4, 2), "llama.attention.head_count_kv": (4, 1), "llama.context_length": (4, 128),
        "tokenizer.ggml.tokens": (9, ["a", "b", "c"])}
gguf(os.path.join(out, "tiny-q8_0.gguf"),
     [("token_embd.weight", 8, [64, 3], 64 * 3 // 32 * 34), ("blk.0.attn_q.weight", 8, [64, 64], 64 * 64 // 32 * 34),
      ("blk.0.attn_norm.weight", 0, [64], 256)], meta)
gguf(os.path.join(out, "tiny-q4_k.gguf"), [("blk.0.ffn_up.weight", 12, [256, 2], 288)], meta)

def safetensors(path, tensors):
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, size in tensors:
        n = 1
        for d in shape: n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + n * size]}
        off += n * size
    h = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(h)) + h + bytes(off))

safetensors(os.path.join(out, "tiny.safetensors"),
            [("model.embed_tokens.weight", "BF16", [8, 4], 2), ("model.layers.0.mlp.up_proj.weight", "F8_E4M3", [4, 4], 1),
             ("model.layers.0.mlp.up_proj.weight_scale_inv", "F32", [1, 1], 4)])
