#!/usr/bin/env bash
# Runs every fuzz target of the module for a few seconds (FUZZTIME, default 3s). go test
# already runs each target's seed corpus (f.Add calls and testdata/fuzz/<Target>/) as
# plain tests; this adds a short burst of new inputs on every CI run. A failing input is
# written to testdata/fuzz/<Target>/ of its package: commit it, so it stays a regression test.
# Go minimizes every input that finds new coverage for up to a minute by default; in a burst
# of seconds that leaves no time for new inputs, so minimizing is capped at a few runs
# (FUZZMINIMIZETIME, default 10x).
set -euo pipefail
# shellcheck source=.ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
fuzztime=${FUZZTIME:-3s}
minimizetime=${FUZZMINIMIZETIME:-10x}

# Every "func FuzzXxx(" in a _test.go file, as "package-dir target".
targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . |
	sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' | sort -u)
[[ -n $targets ]] || die "no fuzz targets found"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
while read -r dir target; do
	echo "  ./$dir $target ($fuzztime)"
	go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "./$dir" >"$log" 2>&1 || {
		cat "$log" >&2
		die "fuzz target $target in ./$dir failed; the failing input is in ./$dir/testdata/fuzz/$target/"
	}
done <<<"$targets"
echo "  OK"
