#!/usr/bin/env bash
# The same at 128k context: the KV cache (40 GiB in bf16) no longer fits beside the
# 135 GiB of weights; the plan lists the fixes (fp8 KV cache, fp8 weights, shorter context).
# expect: does-not-fit
shardplan plan Qwen/Qwen2.5-72B --topology 2x-rtx-pro-6000-blackwell --context 131072 "$@"
