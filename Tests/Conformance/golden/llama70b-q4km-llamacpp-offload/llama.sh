#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': meta-llama/Llama-3.1-70B as Q4_K_M
# on topology 'desktop-rtx-3060-12gb', verdict tight. Plan: GPU 0 with 20 layers, 60 layers in CPU RAM, context 8192 tokens × 1 sequence(s), KV f16.
#
# -ngl counts the output layer as one of n_layer + 1 slots; --tensor-split gives each GPU its slots in
# order, so GPU k holds exactly its stage. -c is the KV cache of all --parallel sequences together.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

# Set MODEL to the GGUF file of meta-llama/Llama-3.1-70B as Q4_K_M.
MODEL="${MODEL:?set MODEL to the .gguf file of meta-llama/Llama-3.1-70B as Q4_K_M}"
args=(
  -m "$MODEL"
  -ngl 21
  --split-mode none
  --main-gpu 0
  -c 8192
  --parallel 1
  -ctk f16
  -ctv f16
)
export CUDA_VISIBLE_DEVICES=0
exec llama-server "${args[@]}" --port 8080 "$@"
