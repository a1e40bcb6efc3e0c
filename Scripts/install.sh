#!/usr/bin/env bash
# Builds shardplan in release mode with the Swift runtime and Foundation linked in
# (--static-swift-stdlib) and installs it, with its shell completions and manual:
#   PREFIX/bin/shardplan
#   PREFIX/share/man/man1/shardplan.1
#   PREFIX/share/bash-completion/completions/shardplan
#   PREFIX/share/zsh/site-functions/_shardplan
#   PREFIX/share/fish/vendor_completions.d/shardplan.fish
# Usage: Scripts/install.sh [PREFIX]   (default /usr/local)
# The binary needs only glibc, libstdc++ and libgcc_s; libhwloc (topology local,
# hwloc XML) and libcurl (the Hub) are loaded when used, and are optional.
set -euo pipefail
prefix=${1:-/usr/local}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
Scripts/ensure-hwloc.sh
# The manual, from the command tree (swift-argument-parser's generate-manual
# plugin, on a debug build so that it leaves the release build alone), dated by
# the commit it is built from so that it is reproducible.
date=$(git log -1 --format=%cs 2>/dev/null || echo 2026-01-01)
swift package generate-manual --configuration debug --date "$date" >/dev/null
manual=$(find .build/plugins/GenerateManual/outputs -name shardplan.1 | head -n 1)
[ -s "$manual" ] || { echo "install: the manual was not generated" >&2; exit 1; }

# A build folder of its own: SwiftPM does not relink when only
# --static-swift-stdlib changes, so a release binary linked without it (by
# `swift build -c release`) would be taken as up to date.
flags=(-c release --static-swift-stdlib --product shardplan --scratch-path .build/install)
swift build "${flags[@]}"
binary="$(swift build "${flags[@]}" --show-bin-path)/shardplan"
if ldd "$binary" | grep -q 'libswiftCore\|libFoundation'; then
  echo "install: $binary is linked to the Swift runtime dynamically" >&2
  exit 1
fi

mkdir -p "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
  "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
# Each file is written next to its place and renamed into it: never half-installed.
put() { # put SOURCE DESTINATION MODE
  cp "$1" "$2.tmp.$$" && chmod "$3" "$2.tmp.$$" && mv -f "$2.tmp.$$" "$2"
}
put "$binary" "$prefix/bin/shardplan" 755
put "$manual" "$prefix/share/man/man1/shardplan.1" 644
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$binary" --generate-completion-script bash >"$work/bash"
"$binary" --generate-completion-script zsh >"$work/zsh"
"$binary" --generate-completion-script fish >"$work/fish"
put "$work/bash" "$prefix/share/bash-completion/completions/shardplan" 644
put "$work/zsh" "$prefix/share/zsh/site-functions/_shardplan" 644
put "$work/fish" "$prefix/share/fish/vendor_completions.d/shardplan.fish" 644
echo "installed shardplan $("$prefix/bin/shardplan" --version) in $prefix ($(du -h "$prefix/bin/shardplan" | cut -f1))"
