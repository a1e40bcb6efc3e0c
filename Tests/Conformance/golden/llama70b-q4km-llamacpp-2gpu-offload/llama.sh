#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': meta-llama/Llama-3.1-70B as Q4_K_M
# on topology '2x-rtx-3090-nvlink', verdict tight. Plan: GPU 0,1 with 75 layers, 5 layers in CPU RAM, context 16384 tokens × 2 sequence(s), KV f16.
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
  -ngl 76
  --split-mode layer
  --tensor-split 38,38
  --main-gpu 0
  -c 32768
  --parallel 2
  -ctk f16
  -ctv f16
)
export CUDA_VISIBLE_DEVICES=0,1
exec llama-server "${args[@]}" --port 8080 "$@"
