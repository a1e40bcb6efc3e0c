#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': deepseek-ai/DeepSeek-V3 as fp8 (as stored)
# on topology '2x8-h100-ib', verdict fits. Plan: EP 16 (TP 2 × DP 8 attention) on GPU 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15, context 16384 tokens × 64 sequence(s), KV bf16.
#
# --mem-fraction-static is the share of each card for weights and the KV pool: the planned weights and KV
# cache plus this engine's part of the free memory, over the card's capacity; activations and CUDA graphs
# live in the rest.
# --max-running-requests 64 is the plan's --concurrency 64: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-deepseek-ai/DeepSeek-V3}"
# One engine over 2 nodes, started on each.
# Run this script on every node with NODE_RANK set: 0 on node0, 1 on node1.
NODE_RANK="${NODE_RANK:?set NODE_RANK: 0 on node0, 1 on node1}"
MASTER_ADDR="${MASTER_ADDR:-node0}"  # the address of node0, reachable from every node
case "$NODE_RANK" in
  0) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 ;;  # node0
  1) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 ;;  # node1
  *) echo "NODE_RANK must be 0 to 1" >&2; exit 2 ;;
esac
args=(
  --model-path "$MODEL"
  --tp-size 16
  --ep-size 16
  --attn-dp-size 8
  --mem-fraction-static 0.851
  --context-length 16384
  --max-running-requests 64
  --kv-cache-dtype bf16
  --port 30000
)
args+=(--nnodes 2 --node-rank "$NODE_RANK" --dist-init-addr "$MASTER_ADDR:50000")
exec python3 -m sglang.launch_server "${args[@]}" "$@"
