#!/usr/bin/env bash
# Captures what shardplan reads about a GPU machine into one folder, so the
# outputs can be added to Topologies/captured/ and parsed by the tests.
#
# Usage: Scripts/capture-topology.sh OUTDIR [LABEL]
#
# It runs only read-only queries: nvidia-smi (topo -m, topo -p2p, --query-gpu,
# -q, -q -x, -L, nvlink -s) and hwloc's lstopo (XML export with I/O devices).
# When lstopo is not installed and Debian hwloc .deb files are in
# $HWLOC_DEBS (a folder), they are unpacked into a private prefix first.
set -u
out=${1:?usage: capture-topology.sh OUTDIR [LABEL]}
label=${2:-machine}
mkdir -p "$out"

run() { # run NAME COMMAND... : stdout to OUT/LABEL_NAME, stderr kept apart
  local name=$1; shift
  "$@" >"$out/${label}_$name" 2>"$out/${label}_$name.stderr" || echo "warning: '$*' exited $?" >&2
  [ -s "$out/${label}_$name.stderr" ] || rm -f "$out/${label}_$name.stderr"
}

fields=index,name,uuid,pci.bus_id,memory.total,memory.used,memory.free,compute_cap,pcie.link.gen.max,pcie.link.width.max,driver_version
run topo-m.txt nvidia-smi topo -m
run topo-p2p-r.txt nvidia-smi topo -p2p r
run query-gpu.csv nvidia-smi --query-gpu=$fields --format=csv
run query-gpu-noheader-nounits.csv nvidia-smi --query-gpu=$fields --format=csv,noheader,nounits
run q.txt nvidia-smi -q
run q-x.xml nvidia-smi -q -x
run L.txt nvidia-smi -L
run nvlink-s.txt nvidia-smi nvlink -s

lstopo_bin=$(command -v lstopo-no-graphics || command -v lstopo || true)
if [ -z "$lstopo_bin" ] && [ -n "${HWLOC_DEBS:-}" ]; then
  prefix=$(mktemp -d)
  for deb in "$HWLOC_DEBS"/*.deb; do dpkg -x "$deb" "$prefix"; done
  export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  lstopo_bin="$prefix/usr/bin/lstopo-no-graphics"
fi
if [ -n "$lstopo_bin" ]; then
  run hwloc.xml "$lstopo_bin" --of xml --whole-io
  run lstopo.txt "$lstopo_bin" --of console --whole-io
else
  echo "warning: no lstopo; hwloc XML not captured" >&2
fi
ls -l "$out"
