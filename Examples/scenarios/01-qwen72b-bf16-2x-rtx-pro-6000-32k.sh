#!/usr/bin/env bash
# Qwen2.5-72B(-Instruct: same shapes) in bf16 on two RTX PRO 6000 Blackwell 96 GB at 32k context.
# expect: fits
shardplan plan Qwen/Qwen2.5-72B --topology 2x-rtx-pro-6000-blackwell --context 32768 "$@"
