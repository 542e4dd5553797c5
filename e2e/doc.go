// Package e2e proves coc-bridge against a real Prometheus Alertmanager.
//
// Its tests build with the e2e tag (go test -tags e2e ./e2e/...) and need
// the Alertmanager server binary named by COC_BRIDGE_E2E_ALERTMANAGER
// (.ci/e2e.sh installs a pinned version and sets it). They build the
// coc-bridge binary, run it with COC_BRIDGE_* variables against the fake COC
// (client/coctest, in the test process), start Alertmanager on loopback with
// a configuration generated from deploy/alertmanager/alertmanager.yml, post
// alerts to Alertmanager's API and check the tickets at the fake COC. With
// COC_BRIDGE_TEST_POSTGRES_DSN set, an HA test runs two clustered
// Alertmanagers, each with its own bridge, both bridges on one PostgreSQL
// database. COC_BRIDGE_E2E_AMTOOL, when set, names an amtool binary that
// checks the generated configuration.
package e2e
