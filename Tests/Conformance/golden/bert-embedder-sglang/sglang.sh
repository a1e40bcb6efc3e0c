#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': google-bert/bert-base-cased as f32
# on topology '2x-rtx-pro-6000-blackwell', verdict fits. Plan: TP 1 × PP 1 × DP 2 on GPU 0 (one replica; 2 in all), all replicas together on GPU 0,1, context 512 tokens × 64 sequence(s), no KV cache.
#
# --mem-fraction-static is the share of each card for weights and the KV pool: the planned weights and KV
# cache plus this engine's part of the free memory, over the card's capacity; activations and CUDA graphs
# live in the rest.
# --max-running-requests 32 is the plan's --concurrency 64 over 2 replicas: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-google-bert/bert-base-cased}"
export CUDA_VISIBLE_DEVICES=0,1
args=(
  --model-path "$MODEL"
  --tp-size 1
  --pp-size 1
  --dp-size 2
  --mem-fraction-static 0.867
  --context-length 512
  --max-running-requests 32
  --is-embedding
  --dtype float32
  --port 30000
)
exec python3 -m sglang.launch_server "${args[@]}" "$@"
