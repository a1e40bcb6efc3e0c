#!/usr/bin/env bash
# Makes sure libhwloc-dev (headers + pkg-config file) is installed, which the
# CHwloc target needs. Installs it with apt-get when run as root; otherwise
# prints the one command to run and fails.
set -euo pipefail
if pkg-config --exists hwloc 2>/dev/null && [ -f /usr/include/hwloc.h ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "shardplan: installing libhwloc-dev (and pkg-config) with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq libhwloc-dev pkg-config >/dev/null
  exit 0
fi
echo "shardplan needs libhwloc-dev. Run:  sudo apt-get install -y libhwloc-dev pkg-config" >&2
exit 1
