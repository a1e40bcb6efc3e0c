#!/usr/bin/env bash
# Checks the launch files shardplan writes with the real consumers, installed from PyPI
# into virtual environments under .build/conformance/ (made once, then reused):
#
#   consumers  torch (CPU), accelerate, transformers, deepspeed: accelerate's config loader
#              and launcher, DeepSpeed's config class and hostfile parser, transformers'
#              module tree for device_map, torchrun started for real on the CPU, and
#              llama-server's documented arguments with llama.cpp's layer rule
#   vllm       vLLM's own `vllm serve` argument parser and engine arguments
#   sglang     SGLang's own server argument parser
#
# The files checked are Tests/Conformance/golden/*, which `swift test` checks to be exactly
# what shardplan writes today. Usage: Scripts/check-emitters.sh [consumers] [vllm] [sglang]
# (default: all three). Needs python3 with venv and network access to PyPI for the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(consumers vllm sglang)
base=.build/conformance
mkdir -p "$base"

if ! command -v python3 >/dev/null || ! python3 -c "import ensurepip, venv" 2>/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "check-emitters: installing python3 and python3-venv with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq python3 python3-venv >/dev/null
  else
    echo "check-emitters needs python3 with venv. Run:  sudo apt-get install -y python3 python3-venv" >&2
    exit 1
  fi
fi

# venv NAME PACKAGES… : creates .build/conformance/NAME with the pinned packages once.
venv() {
  local name=$1
  shift
  local dir="$base/$name" stamp="$base/$name/.installed"
  local wanted="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then return; fi
  echo "check-emitters: installing $wanted into $dir" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  local pip=("$dir/bin/pip" install --quiet --retries 5 --timeout 120 --disable-pip-version-check)
  "${pip[@]}" --upgrade pip
  for group in "$@"; do
    # Groups are installed in order: DeepSpeed builds against the torch installed before it.
    read -r -a packages <<<"${group//+/ }"
    "${pip[@]}" "${packages[@]}"
  done
  echo "$wanted" >"$stamp"
}

for part in "${parts[@]}"; do
  case "$part" in
    consumers)
      venv consumers "torch==2.13.0+accelerate==1.15.0+transformers==5.23.0" "deepspeed==0.19.8"
      ;;
    vllm)
      venv vllm "vllm==0.32.0"
      # vLLM 0.32 pins torchvision 0.28, built for another torch: importing it breaks
      # transformers' image utilities, which vLLM's argument parser imports. vLLM's
      # command line needs neither it nor the audio and video packages.
      "$base/vllm/bin/pip" uninstall --quiet -y torchvision torchaudio torchcodec 2>/dev/null || true
      ;;
    sglang)
      venv sglang "sglang==0.5.23"
      ;;
    *)
      echo "unknown part '$part'; expected consumers, vllm or sglang" >&2
      exit 2
      ;;
  esac
  # vLLM picks its platform at import; the CPU platform lets its parser run without a GPU.
  VLLM_TARGET_DEVICE=cpu PYTHONWARNINGS=ignore "$base/$part/bin/python" Tests/Conformance/check_emitted.py "$part" \
    2> >(grep -v -e WARNING -e '^INFO' -e 'UserWarning' -e 'warnings.warn' >&2)
done
