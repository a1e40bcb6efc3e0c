#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': deepseek-ai/DeepSeek-V3 as fp8 (as stored)
# on topology '2x8-h100-ib', verdict fits. Plan: TP 2 × PP 8 on GPU 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15, context 32768 tokens × 64 sequence(s), KV bf16.
#
# --gpu-memory-utilization is this engine's share of each card: its planned bytes plus its part of the
# free memory, over the card's capacity (vLLM gives what is left after weights and activations to KV cache).
# --max-num-seqs 64 is the plan's --concurrency 64: the memory above is planned for that many sequences; plan again with --concurrency N to serve more.
# Extra arguments are passed on to vllm serve; set MODEL to serve a local copy.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

MODEL="${MODEL:-deepseek-ai/DeepSeek-V3}"
# Uneven pipeline stages (vLLM's own split would differ): layers per stage.
export VLLM_PP_LAYER_PARTITION=9,7,7,8,8,8,8,6
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
  --tensor-parallel-size 2
  --pipeline-parallel-size 8
  --data-parallel-size 1
  --gpu-memory-utilization 0.900
  --max-model-len 32768
  --max-num-seqs 64
  --kv-cache-dtype bfloat16
  --port 8000
)
args+=(--nnodes 2 --node-rank "$NODE_RANK" --master-addr "$MASTER_ADDR")
if [ "$NODE_RANK" -gt 0 ]; then args+=(--headless); fi
exec vllm serve "$MODEL" "${args[@]}" "$@"
