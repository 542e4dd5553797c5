// Command coc-bridge receives Alertmanager webhooks and opens Huawei Cloud
// COC issue tickets.
//
// This package owns the process: the COC_BRIDGE_* environment (env.go lists
// and checks the names, config.go, validate.go), logging (logger.go), wiring
// the store, the COC client, the mapper and the bridge together behind the
// web configuration (serve.go), the mapping reload on SIGHUP and POST
// /-/reload (reload.go), signals and the ordered shutdown, and the
// subcommands (commands.go lists them: serve, check-config,
// render, send-test-alert, tickets, outbox, fake-coc, demo, version). It
// holds no pipeline logic: that is package bridge; tickets are rendered by
// package mapping and sent by package client.
//
// Exit codes: 0 success (also after a clean SIGTERM/SIGINT shutdown and for
// --help), 1 runtime failure (store, network, COC, a non-2xx answer to
// send-test-alert), 2 invalid configuration or usage.
package main
