#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Examples/models/llama-3.1-405b.config.json as bf16
# on topology '2x8-h100-ib', verdict fits. Plan: TP 8 × PP 2 on GPU 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15, context 8192 tokens × 1 sequence(s), KV bf16.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 1 is the plan's --concurrency 1: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:?set MODEL to the Hub id or folder of the model planned from Examples/models/llama-3.1-405b.config.json}"
# One engine over 2 nodes, started on each (vLLM's multiprocessing launch).
# Run this script on every node with NODE_RANK set: 0 on node0, 1 on node1.
NODE_RANK="${NODE_RANK:?set NODE_RANK: 0 on node0, 1 on node1}"
MASTER_ADDR="${MASTER_ADDR:-node0}"  # the address of node0, reachable from every node
case "$NODE_RANK" in
  0) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 ;;  # node0
  1) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 ;;  # node1
  *) echo "NODE_RANK must be 0 to 1" >&2; exit 2 ;;
esac
args=(
  --tensor-parallel-size 8
  --pipeline-parallel-size 2
  --data-parallel-size 1
  --gpu-memory-utilization 0.900
  --max-model-len 8192
  --max-num-seqs 1
  --kv-cache-dtype bfloat16
  --dtype bfloat16
  --port 8000
)
args+=(--nnodes 2 --node-rank "$NODE_RANK" --master-addr "$MASTER_ADDR")
if [ "$NODE_RANK" -gt 0 ]; then args+=(--headless); fi
exec vllm serve "$MODEL" "${args[@]}" "$@"
