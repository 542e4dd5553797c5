// Command cocbench measures coc-bridge on loopback: it runs the fake COC
// (client/coctest) in its own process, starts the coc-bridge binary as a
// separate process (so CPU time and peak RSS are the bridge's own), drives
// the webhook with generated Alertmanager v4 notifications and reports, per
// scenario, the median of several runs. In the same run it measures a floor:
// "cocbench floor", a separate process whose handler only reads and
// JSON-decodes the body and answers 200, driven by the same load.
//
// Usage: see bench/run.sh and BENCHMARKS.md.
package main
