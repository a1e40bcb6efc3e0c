#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': meta-llama/Llama-3.1-8B as bf16
# on topology '2x-rtx-3090-nvlink', verdict fits. Plan: lora training, FSDP FULL_SHARD on 2 GPU(s), 1 × 2048 tokens per GPU, 8 accumulation step(s), global batch 16.
#
# Usage: torchrun.sh TRAIN_SCRIPT [ARGS...]; 2 processes in all.
# LoRA rank 16 on q_proj, k_proj, v_proj, o_proj, as planned.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

if [ "$#" -lt 1 ]; then echo "usage: $0 TRAIN_SCRIPT [ARGS...]" >&2; exit 2; fi
export CUDA_VISIBLE_DEVICES=0,1
exec torchrun --standalone --nnodes=1 --nproc-per-node=2 "$@"
