#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Qwen/Qwen3-30B-A3B as bf16
# on topology '8x-h100-sxm', verdict fits. Plan: EP 8 (TP 1 × DP 8 attention) on GPU 0,1,2,3,4,5,6,7, context 16384 tokens × 64 sequence(s), KV fp8.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 8 is the plan's --concurrency 64 over 8 ranks: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-Qwen/Qwen3-30B-A3B}"
export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7
args=(
  --tensor-parallel-size 1
  --pipeline-parallel-size 1
  --data-parallel-size 8
  --enable-expert-parallel
  --gpu-memory-utilization 0.900
  --max-model-len 16384
  --max-num-seqs 8
  --kv-cache-dtype fp8
  --dtype bfloat16
  --port 8000
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
