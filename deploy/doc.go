// Package deploy holds the deployment artefacts of coc-bridge and the tests that keep
// them consistent with the code: the Helm chart (helm/coc-bridge), the Grafana dashboard
// (grafana/), the Prometheus alert rules (prometheus/; their runbook is in the top-level README.md), the
// Alertmanager example (alertmanager/), the kube-prometheus-stack sidecar examples
// (examples/) and the container image (Dockerfile).
//
// The package has no code. Its tests check that the copies shipped inside the chart are
// identical to their sources, and that the dashboard and the rules use only metrics the
// bridge and client packages register. The tools that validate the artefacts themselves
// (helm, kubeconform, promtool, amtool, dashboard-linter) run from .ci/deploy-checks.sh;
// their helper programs live in the separate module deploy/tools.
package deploy
