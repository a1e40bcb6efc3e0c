#!/usr/bin/env bash
# A 70B model in GGUF Q4_K_M on a 12 GB desktop with 64 GB of RAM: how many layers
# go on the GPU (llama.cpp -ngl) and what speed the RAM-resident layers allow.
# expect: tight
shardplan plan meta-llama/Llama-3.1-70B --quant q4_k_m --topology desktop-rtx-3060-12gb --context 8192 "$@"
