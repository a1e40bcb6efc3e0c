#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Qwen/Qwen3-30B-A3B as Q4_K_M
# on topology 'desktop-rtx-3060-12gb', verdict tight. Plan: GPU 0 with the routed experts of 20 layers in CPU RAM (--n-cpu-moe 20), context 16384 tokens × 1 sequence(s), KV q8_0.
#
# -ngl counts the output layer as one of n_layer + 1 slots; --tensor-split gives each GPU its slots in
# order, so GPU k holds exactly its stage. -c is the KV cache of all --parallel sequences together.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

# Set MODEL to the GGUF file of Qwen/Qwen3-30B-A3B as Q4_K_M.
MODEL="${MODEL:?set MODEL to the .gguf file of Qwen/Qwen3-30B-A3B as Q4_K_M}"
args=(
  -m "$MODEL"
  -ngl 49
  --split-mode none
  --main-gpu 0
  -c 16384
  --parallel 1
  -ctk q8_0
  -ctv q8_0
  --flash-attn on
  --override-tensor 'blk\.(0|1|2|3|4|5|6|7|8|9|10|11|12|13|14|15|16|17|18|19)\.ffn_(up|down|gate|gate_up)_(ch|)exps=CPU'
)
export CUDA_VISIBLE_DEVICES=0
exec llama-server "${args[@]}" --port 8080 "$@"
