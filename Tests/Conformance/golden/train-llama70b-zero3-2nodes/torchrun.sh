#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': meta-llama/Llama-3.1-70B as bf16
# on topology '2x8-h100-ib', verdict fits. Plan: full training, DeepSpeed ZeRO-3, cpu offload on 16 GPU(s) (2 nodes × 8), 1 × 2048 tokens per GPU, 16 accumulation step(s), global batch 256.
#
# Usage: torchrun.sh TRAIN_SCRIPT [ARGS...]; 16 processes in all.
# For DeepSpeed through the Hugging Face Trainer pass --deepspeed ds_config.json to the script.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

if [ "$#" -lt 1 ]; then echo "usage: $0 TRAIN_SCRIPT [ARGS...]" >&2; exit 2; fi
# Run this script on every node with NODE_RANK set: 0 on node0, 1 on node1.
NODE_RANK="${NODE_RANK:?set NODE_RANK: 0 on node0, 1 on node1}"
MASTER_ADDR="${MASTER_ADDR:-node0}"  # the address of node0, reachable from every node
case "$NODE_RANK" in
  0) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 ;;  # node0
  1) export CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7 ;;  # node1
  *) echo "NODE_RANK must be 0 to 1" >&2; exit 2 ;;
esac
MASTER_PORT="${MASTER_PORT:-29500}"
exec torchrun \
  --nnodes=2 \
  --nproc-per-node=8 \
  --node-rank="$NODE_RANK" \
  --rdzv-backend=c10d \
  --rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT" \
  --rdzv-id=shardplan-default \
  "$@"
