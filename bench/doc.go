// Package bench holds the benchmark suite of coc-bridge: the cocbench
// program (bench/cmd/cocbench), the script that builds and runs it
// (bench/run.sh) and an in-process profile harness (go test -bench). The
// results and the exact commands are in BENCHMARKS.md at the repository's
// top level.
package bench
