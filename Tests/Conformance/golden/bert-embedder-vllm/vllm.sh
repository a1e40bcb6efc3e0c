#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': google-bert/bert-base-cased as f32
# on topology '2x-rtx-pro-6000-blackwell', verdict fits. Plan: TP 1 × PP 1 × DP 2 on GPU 0 (one replica; 2 in all), all replicas together on GPU 0,1, context 512 tokens × 64 sequence(s), no KV cache.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 32 is the plan's --concurrency 64 over 2 replicas: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-google-bert/bert-base-cased}"
export CUDA_VISIBLE_DEVICES=0,1
args=(
  --tensor-parallel-size 1
  --pipeline-parallel-size 1
  --data-parallel-size 2
  --gpu-memory-utilization 0.900
  --max-model-len 512
  --max-num-seqs 32
  --runner pooling
  --dtype float32
  --port 8000
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
