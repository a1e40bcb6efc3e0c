#!/usr/bin/env bash
# Makes sure hwloc's headers are installed (libhwloc-dev), which the CHwloc target
# compiles against; libhwloc itself is loaded at run time (libhwloc15, which
# libhwloc-dev pulls in), and the tests read hwloc XML through it. Installs the
# package with apt-get when run as root; otherwise prints the one command to run
# and fails.
set -euo pipefail
if [ -f /usr/include/hwloc.h ] && [ -f /usr/include/hwloc/distances.h ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "shardplan: installing libhwloc-dev with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq libhwloc-dev >/dev/null
  exit 0
fi
echo "shardplan needs libhwloc-dev. Run:  sudo apt-get install -y libhwloc-dev" >&2
exit 1
