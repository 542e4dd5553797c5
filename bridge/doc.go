// Package bridge is coc-bridge's core: it receives Alertmanager webhooks,
// stores them durably, and turns them into COC issue tickets.
//
// It owns two paths that never share a goroutine:
//
//   - The accept path (receiver.go) runs on each HTTP request and finishes in
//     milliseconds: authenticate, limit, decode, key, Store.Accept, answer. A
//     2xx means the notification (every key it splits into, in one
//     transaction) is in the store and survives a crash.
//   - The delivery path (deliver.go, refresher.go) runs in background workers:
//     claim a due outbox item, look the ticket up when an earlier attempt's
//     outcome is unknown, create it through the COC client, record the result,
//     reschedule with backoff or dead-letter it. The refresher reads open
//     tickets back from COC and releases keys whose ticket is finished, so the
//     next firing opens a new ticket.
//
// The package also owns the HTTP surface (webhook, ledger and outbox views,
// health, readiness, metrics) and every coc_bridge_* metric except the
// coc_bridge_coc_* ones, which belong to package client.
//
// It declares the Store contract (store.go) that the engines in bridge/sqlite
// and bridge/postgres implement; it never imports them. Around it: the
// deadline every store call of the bridge gets (deadline.go), the text from
// COC made safe for both engines (safetext.go), and the leases a restarted
// process takes back (takeback.go). It does not sign
// requests (package client) nor render tickets (package mapping).
package bridge
