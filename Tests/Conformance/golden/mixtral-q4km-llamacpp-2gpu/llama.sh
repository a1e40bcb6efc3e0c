#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': mistralai/Mixtral-8x7B-v0.1 as Q4_K_M
# on topology '2x-rtx-3090-nvlink', verdict fits. Plan: TP 1 × PP 2 on GPU 0,1, context 32768 tokens × 2 sequence(s), KV f16.
#
# -ngl counts the output layer as one of n_layer + 1 slots; --tensor-split gives each GPU its slots in
# order, so GPU k holds exactly its stage. -c is the KV cache of all --parallel sequences together.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

# Set MODEL to the GGUF file of mistralai/Mixtral-8x7B-v0.1 as Q4_K_M.
MODEL="${MODEL:?set MODEL to the .gguf file of mistralai/Mixtral-8x7B-v0.1 as Q4_K_M}"
args=(
  -m "$MODEL"
  -ngl 33
  --split-mode layer
  --tensor-split 16,17
  --main-gpu 0
  -c 65536
  --parallel 2
  -ctk f16
  -ctv f16
)
export CUDA_VISIBLE_DEVICES=0,1
exec llama-server "${args[@]}" --port 8080 "$@"
