#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': Qwen/Qwen2.5-7B-Instruct as bf16
# on topology '2x-rtx-3090-nvlink', verdict fits. Plan: full training, DeepSpeed ZeRO-3, nvme offload, gradient checkpointing on 2 GPU(s), 2 × 2048 tokens per GPU, 4 accumulation step(s), global batch 16.
#
# Usage: torchrun.sh TRAIN_SCRIPT [ARGS...]; 2 processes in all.
# For DeepSpeed through the Hugging Face Trainer pass --deepspeed ds_config.json to the script.
# The plan assumes gradient checkpointing: call model.gradient_checkpointing_enable() (or --gradient_checkpointing).
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

if [ "$#" -lt 1 ]; then echo "usage: $0 TRAIN_SCRIPT [ARGS...]" >&2; exit 2; fi
export CUDA_VISIBLE_DEVICES=0,1
exec torchrun --standalone --nnodes=1 --nproc-per-node=2 "$@"
