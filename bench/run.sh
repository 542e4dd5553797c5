#!/usr/bin/env bash
# Builds coc-bridge and cocbench and runs the benchmark suite (see BENCHMARKS.md).
#   bench/run.sh                 all scenarios, 3 runs each (about 20 minutes)
#   bench/run.sh --quick         smoke: 1 short run of each scenario (a few minutes)
#   bench/run.sh repeats [...]   one scenario (or a comma list: repeats,new-groups), then flags
# Other arguments go to cocbench (-scenarios steady,storm -runs 5 -json out.json ...).
# COC_BRIDGE_TEST_POSTGRES_DSN, when set, adds the PostgreSQL scenarios.
set -euo pipefail

cd "$(dirname "$0")/.."

args=()
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
	args+=(-scenarios "$1") # a first bare word names the scenarios
	shift
fi
for a in "$@"; do
	case "$a" in
	--quick) args+=(-quick) ;;
	*) args+=("$a") ;;
	esac
done

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/coc-bridge" ./cmd/coc-bridge
go build -o "$out/cocbench" ./bench/cmd/cocbench

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(go version)" >&2
"$out/cocbench" -bridge "$out/coc-bridge" "${args[@]}"
