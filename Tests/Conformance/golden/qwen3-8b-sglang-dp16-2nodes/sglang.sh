#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Qwen/Qwen3-8B as bf16
# on topology '2x8-h100-ib', verdict fits. Plan: TP 8 × PP 1 × DP 2 on GPU 0,1,2,3,4,5,6,7 (one replica; 2 in all), all replicas together on GPU 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15, context 8192 tokens × 16 sequence(s), KV bf16.
#
# --mem-fraction-static is the share of each card for weights and the KV pool: the planned weights and KV
# cache plus this engine's part of the free memory, over the card's capacity; activations and CUDA graphs
# live in the rest.
# --max-running-requests 8 is the plan's --concurrency 16 over 2 replicas: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-Qwen/Qwen3-8B}"
# 2 replicas over 2 nodes: an independent server on each node with its own replicas;
# put SGLang's router (sglang_router) in front of them.
# Run this script on every node with NODE_RANK set: 0 on node0, 1 on node1.
NODE_RANK="${NODE_RANK:?set NODE_RANK: 0 on node0, 1 on node1}"
case "$NODE_RANK" in
  0) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7; DP_LOCAL=1 ;;  # node0
  1) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7; DP_LOCAL=1 ;;  # node1
  *) echo "NODE_RANK must be 0 to 1" >&2; exit 2 ;;
esac
args=(
  --model-path "$MODEL"
  --tp-size 8
  --pp-size 1
  --mem-fraction-static 0.858
  --context-length 8192
  --max-running-requests 8
  --kv-cache-dtype bf16
  --dtype bfloat16
  --port 30000
)
args+=(--dp-size "$DP_LOCAL")
exec python3 -m sglang.launch_server "${args[@]}" "$@"
