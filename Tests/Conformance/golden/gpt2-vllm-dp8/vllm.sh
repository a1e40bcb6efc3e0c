#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': openai-community/gpt2 as f32
# on topology '8x-h100-sxm', verdict fits. Plan: TP 1 × PP 1 × DP 8 on GPU 0 (one replica; 8 in all), all replicas together on GPU 0,1,2,3,4,5,6,7, context 1024 tokens × 32 sequence(s), KV bf16.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 4 is the plan's --concurrency 32 over 8 replicas: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-openai-community/gpt2}"
export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7
args=(
  --tensor-parallel-size 1
  --pipeline-parallel-size 1
  --data-parallel-size 8
  --gpu-memory-utilization 0.900
  --max-model-len 1024
  --max-num-seqs 4
  --kv-cache-dtype bfloat16
  --dtype float32
  --port 8000
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
