#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': meta-llama/Llama-3.1-8B as bf16
# on topology 'desktop-rtx-3060-12gb', verdict tight. Plan: GPU 0 with 17 layers, 15 layers in CPU RAM, context 8192 tokens × 1 sequence(s), KV bf16.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 1 is the plan's --concurrency 1: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-meta-llama/Llama-3.1-8B}"
export CUDA_VISIBLE_DEVICES=0
args=(
  --tensor-parallel-size 1
  --pipeline-parallel-size 1
  --data-parallel-size 1
  --gpu-memory-utilization 0.900
  --max-model-len 8192
  --max-num-seqs 1
  --kv-cache-dtype bfloat16
  --cpu-offload-gb 7
  --dtype bfloat16
  --port 8000
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
