#!/usr/bin/env bash
# Written by shardplan (shardplan emit llama70b-pp2-2x-rtx-pro-6000.yaml) for role 'chat': meta-llama/Llama-3.1-70B as bf16
# on topology '2x-rtx-pro-6000-blackwell', verdict fits. Plan: TP 1 × PP 2 on GPU 0,1, context 32768 tokens × 4 sequence(s), KV fp8.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 4 is the plan's --concurrency 4: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-meta-llama/Llama-3.1-70B}"
# Uneven pipeline stages (vLLM's own split would differ): layers per stage.
export VLLM_PP_LAYER_PARTITION=39,41
export CUDA_VISIBLE_DEVICES=0,1
args=(
  --tensor-parallel-size 1
  --pipeline-parallel-size 2
  --data-parallel-size 1
  --gpu-memory-utilization 0.900
  --max-model-len 32768
  --max-num-seqs 4
  --kv-cache-dtype fp8
  --dtype bfloat16
  --port 8000
)
exec vllm serve "$MODEL" "${args[@]}" "$@"
