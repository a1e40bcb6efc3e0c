#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Qwen/Qwen2.5-72B as bf16
# on topology '2x-rtx-pro-6000-blackwell', verdict tight. Plan: TP 2 × PP 1 on GPU 0,1, context 131072 tokens × 1 sequence(s), KV fp8.
#
# --mem-fraction-static is the share of each card for weights and the KV pool: the planned weights and KV
# cache plus this engine's part of the free memory, over the card's capacity; activations and CUDA graphs
# live in the rest.
# --max-running-requests 1 is the plan's --concurrency 1: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-Qwen/Qwen2.5-72B}"
export CUDA_VISIBLE_DEVICES=0,1
args=(
  --model-path "$MODEL"
  --tp-size 2
  --pp-size 1
  --dp-size 1
  --mem-fraction-static 0.853
  --context-length 131072
  --max-running-requests 1
  --kv-cache-dtype fp8_e4m3
  --dtype bfloat16
  --port 30000
)
exec python3 -m sglang.launch_server "${args[@]}" "$@"
