// Package bench holds the benchmark suite of coc-bridge: the cocbench
// program (bench/cmd/cocbench), the script that builds and runs it
// (bench/run.sh) and an in-process profile harness (go test -bench), with
// what they share with the end-to-end tests: realistic webhook bodies and
// the daemon's listen address read from its log. The results and the exact commands are in BENCHMARKS.md at the repository's
// top level.
package bench
