// Package bridge is coc-bridge's core: it receives Alertmanager webhooks,
// stores them durably, and turns them into COC operations (today: issue
// ticket creates).
//
// Bridge (bridge.go) only assembles the parts below from Options and runs
// their goroutines. Each part has its own options struct and declares the
// slice of the Store and of COC it uses, so it is built and tested alone.
//
// The accept path runs on each HTTP request and finishes in milliseconds:
//
//   - receiver.go: the receiver (POST /api/v1/alerts): authenticate, limit,
//     decode, key, Store.Accept, answer. A 2xx means every notification the
//     body splits into is in the store and survives a crash.
//   - accept.go: the accept decision (Decide, ApplyNotification) every engine
//     runs inside its Accept transaction.
//   - answer.go: webhook results, their HTTP statuses and the JSON answers.
//
// The delivery path runs in background workers and may take hours while
// COC is down:
//
//   - deliver.go: the deliverer's workers: claim a due outbox item, perform
//     it, record the result (Complete, Retry or DeadLetter).
//   - operation.go: what each outbox item's Kind sends (operationFor);
//     create.go is the create operation (look up, adopt or create);
//     action.go the actions on an open ticket (level change, cancel,
//     solution) and the steps they share.
//   - outcome.go: the one classification of an attempt: done, retry,
//     lookup-then-retry or dead.
//   - backoff.go: the outbox's retry delay.
//   - recovery.go: the prober, which shortens the way back from a COC outage.
//   - refresher.go: reads open tickets back and releases finished keys.
//
// The read-only surface: tickets.go (ledger and outbox views), health.go
// (health, readiness), stats.go (store and readiness gauges), metrics.go
// (every coc_bridge_* metric except the coc_bridge_coc_* ones of package
// client). server.go holds the routes and the HTTP server.
//
// store.go declares the Store contract that the engines in bridge/sqlite
// and bridge/postgres implement and bridge/storetest checks; bridge never
// imports them. Around it: the deadline every store call of the bridge
// gets (deadline.go), the text from COC made safe for both engines
// (safetext.go), and the leases a restarted process takes back
// (takeback.go). It does not sign requests (package client) nor render
// tickets (package mapping). ARCHITECTURE.md at the repository's top
// follows one notification through these files.
package bridge
