-- The ledger: one row per issue key. Times are Unix microseconds, UTC.
CREATE TABLE ledger (
    key                TEXT    NOT NULL PRIMARY KEY,
    receiver           TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'open', 'closed', 'dead')),
    ticket_id          TEXT    NOT NULL DEFAULT '',
    previous_ticket_id TEXT    NOT NULL DEFAULT '',
    level              TEXT    NOT NULL DEFAULT '',
    title              TEXT    NOT NULL DEFAULT '',
    last_status        TEXT    NOT NULL,
    notifications      INTEGER NOT NULL,
    last_error         TEXT    NOT NULL DEFAULT '',
    ticket_status      TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    opened_at          INTEGER,
    closed_at          INTEGER,
    resolved_at        INTEGER,
    checked_at         INTEGER
) STRICT;

-- Stats and the state filter of the ledger view.
CREATE INDEX ledger_state ON ledger (state);
-- The ledger view: most recently updated first.
CREATE INDEX ledger_updated ON ledger (updated_at DESC, key);
-- DueForRefresh: open tickets by their last check.
CREATE INDEX ledger_refresh ON ledger (coalesce(checked_at, opened_at), key) WHERE state = 'open';

-- The outbox: one row per ticket to create. Delivered items are deleted.
-- AUTOINCREMENT: an id is never reused, so a late call naming a deleted item
-- can never hit a newer one. The notification each item renders is in
-- outbox_message: kept out of these rows, it is never read when claims scan
-- them nor rewritten when a claim or a retry updates one.
CREATE TABLE outbox (
    id                 INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    key                TEXT    NOT NULL REFERENCES ledger (key),
    receiver           TEXT    NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'dead')),
    previous_ticket_id TEXT    NOT NULL DEFAULT '',
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt       INTEGER NOT NULL,
    last_error         TEXT    NOT NULL DEFAULT '',
    error_code         TEXT    NOT NULL DEFAULT '',
    lookup_first       INTEGER NOT NULL DEFAULT 0,
    lease_owner        TEXT,
    lease_until        INTEGER,
    accepted_at        INTEGER NOT NULL
) STRICT;

-- At most one pending-or-dead item per key, whatever the code above does.
CREATE UNIQUE INDEX outbox_key_live ON outbox (key) WHERE state IN ('pending', 'dead');
-- The notification of each outbox item (a webhook body, often several KiB),
-- deleted with its item.
CREATE TABLE outbox_message (
    id      INTEGER NOT NULL PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    message BLOB    NOT NULL
) STRICT;

-- Claim: due pending items, oldest due first. It covers the lease test, so
-- a claim reads this index only (the claim names it: INDEXED BY).
CREATE INDEX outbox_due ON outbox (next_attempt, id, lease_until) WHERE state = 'pending';
-- Stats, the outbox view and OldestPending.
CREATE INDEX outbox_state_accepted ON outbox (state, accepted_at, id);

-- Ping writes here to prove the database file is writable.
CREATE TABLE store_health (
    id    INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    pings INTEGER NOT NULL
) STRICT;
INSERT INTO store_health (id, pings) VALUES (1, 0);
