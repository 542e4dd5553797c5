// Package postgres is the shared store engine of coc-bridge: the ledger and
// the outbox (bridge.Store) in PostgreSQL, through pgx. Use it to run
// several bridge replicas (or HA Alertmanager peers feeding different
// replicas) against one database.
//
// It owns the PostgreSQL schema (embedded migrations, applied by New under a
// transaction-scoped advisory lock, so replicas starting together migrate
// once) and every SQL statement run against it. It never reads a clock:
// every time comes from the caller.
//
// # Several replicas
//
// The database does the coordination; there is no clustering in the bridge:
//
//   - Accept locks the key's ledger row (INSERT ... ON CONFLICT DO NOTHING,
//     then SELECT ... FOR UPDATE), so concurrent notifications of one key,
//     from any replica, are applied one after the other and at most one
//     outbox item is queued per key. A partial unique index backs this up.
//     A batch (the alerts of one notification in the alert dedupe mode) is
//     one transaction that takes its keys' rows in key order, so batches
//     sharing keys, from HA peers, wait for each other instead of
//     deadlocking.
//   - Claim leases due items with UPDATE ... FOR UPDATE SKIP LOCKED: two
//     workers never get the same item, and none waits for another.
//   - A lease expires at lease_until. An item whose holder died is claimed
//     again after that, and not before, with LookupFirst set.
//   - DueForRefresh hands each open ticket to one replica per interval.
//   - Transactions that lock several rows take the ledger row before the
//     outbox row, so they cannot deadlock each other; a serialization or
//     deadlock failure is retried a few times anyway.
//
// # Connections
//
// New takes a *pgxpool.Pool the caller owns (Close leaves it open); Open
// builds and owns one from a DSN. Losing the database makes calls and Ping
// fail; pgxpool reconnects when it is back, with nothing to do here.
//
// # Durability
//
// A call returns after its transaction committed. That survives a crash or
// a power loss of the database server as long as fsync and
// synchronous_commit are on (PostgreSQL's defaults); surviving the loss of
// its disk takes a synchronous standby. Those are the database's settings,
// not this package's.
//
// # Names and times
//
// Tables are named coc_bridge_ledger, coc_bridge_outbox and
// coc_bridge_schema_migrations, in Options.Schema when set, else in the
// first schema of the connection's search_path. Times are timestamptz:
// they come back in UTC, truncated to the microsecond.
package postgres
