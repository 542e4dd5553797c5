#!/usr/bin/env bash
# Builds coc-bridge and cocbench and runs the soak: the bridge (SQLite) under a steady
# load for 10 minutes while the fake COC goes through outages, throttling, latency
# spikes and dropped answers; goroutines, heap, open files and RSS must stay flat and
# the tickets consistent at the end (see BENCHMARKS.md).
#   bench/soak.sh                       10 minutes, 60 notifications/s over 300 groups
#   bench/soak.sh -duration 2m          a shorter run (the fault cycle is a quarter of it)
# Other arguments go to "cocbench soak" (-rate, -groups, -json FILE, -keep ...).
# Samples go to stderr as they are taken; the report (Markdown) to stdout.
set -euo pipefail

cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/coc-bridge" ./cmd/coc-bridge
go build -o "$out/cocbench" ./bench/cmd/cocbench

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(go version), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%M:%SZ)" >&2
"$out/cocbench" soak -bridge "$out/coc-bridge" "$@"
