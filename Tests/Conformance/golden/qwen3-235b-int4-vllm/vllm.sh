#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Examples/models/qwen3-235b-a22b-yarn.config.json as int4 (GPTQ g128)
# on topology '2x-rtx-pro-6000-blackwell', verdict fits. Plan: TP 2 × PP 1 on GPU 0,1, context 131072 tokens × 1 sequence(s), KV fp8.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 1 is the plan's --concurrency 1: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:?set MODEL to an int4 (GPTQ, AWQ or compressed-tensors) checkpoint of Examples/models/qwen3-235b-a22b-yarn.config.json}"
export CUDA_VISIBLE_DEVICES=0,1
args=(
  --tensor-parallel-size 2
  --pipeline-parallel-size 1
  --data-parallel-size 1
  --gpu-memory-utilization 0.900
  --max-model-len 131072
  --max-num-seqs 1
  --kv-cache-dtype fp8
  --port 8000
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
