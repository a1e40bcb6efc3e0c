#!/usr/bin/env bash
# Written by shardplan (shardplan plan) for role 'default': meta-llama/Llama-3.1-70B as nf4 (bitsandbytes, double quant)
# on topology 'desktop-rtx-3060-12gb', verdict fits. Plan: qlora training, DeepSpeed ZeRO-3, cpu offload, gradient checkpointing on 1 GPU(s), 1 × 2048 tokens per GPU, 1 accumulation step(s), global batch 1.
#
# Usage: torchrun.sh TRAIN_SCRIPT [ARGS...]; 1 processes in all.
# For DeepSpeed through the Hugging Face Trainer pass --deepspeed ds_config.json to the script.
# QLoRA under ZeRO-3 / FULL_SHARD: load the model with BitsAndBytesConfig(bnb_4bit_quant_storage=torch.bfloat16) so the 4-bit weights can be sharded.
# The plan assumes gradient checkpointing: call model.gradient_checkpointing_enable() (or --gradient_checkpointing).
# LoRA rank 16 on q_proj, k_proj, v_proj, o_proj, as planned.
set -euo pipefail

# GPU numbers are nvidia-smi's (PCI bus order); CUDA counts that way too only when told.
export CUDA_DEVICE_ORDER=PCI_BUS_ID

if [ "$#" -lt 1 ]; then echo "usage: $0 TRAIN_SCRIPT [ARGS...]" >&2; exit 2; fi
export CUDA_VISIBLE_DEVICES=0
exec torchrun --standalone --nnodes=1 --nproc-per-node=1 "$@"
