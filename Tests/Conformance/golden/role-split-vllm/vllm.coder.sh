#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'coder': Qwen/Qwen2.5-7B-Instruct as bf16
# on topology '2x-rtx-pro-6000-blackwell', verdict fits. Plan: TP 1 × PP 1 on GPU 1, context 32768 tokens × 1 sequence(s), KV bf16.
# One of 3 roles: reasoning, coder, small; each role has its own files.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 1 is the plan's --concurrency 1: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-Qwen/Qwen2.5-7B-Instruct}"
export CUDA_VISIBLE_DEVICES=1
args=(
  --tensor-parallel-size 1
  --pipeline-parallel-size 1
  --data-parallel-size 1
  --gpu-memory-utilization 0.735
  --max-model-len 32768
  --max-num-seqs 1
  --kv-cache-dtype bfloat16
  --dtype bfloat16
  --port 8001
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
