-- The ledger: one row per issue key.
CREATE TABLE coc_bridge_ledger (
    key                text COLLATE "C" NOT NULL PRIMARY KEY,
    receiver           text        NOT NULL,
    state              text        NOT NULL CHECK (state IN ('pending', 'open', 'closed', 'dead')),
    ticket_id          text        NOT NULL DEFAULT '',
    previous_ticket_id text        NOT NULL DEFAULT '',
    level              text        NOT NULL DEFAULT '',
    title              text        NOT NULL DEFAULT '',
    last_status        text        NOT NULL,
    notifications      bigint      NOT NULL,
    last_error         text        NOT NULL DEFAULT '',
    ticket_status      text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    opened_at          timestamptz,
    closed_at          timestamptz,
    resolved_at        timestamptz,
    checked_at         timestamptz
);

-- Stats and the state filter of the ledger view.
CREATE INDEX coc_bridge_ledger_state ON coc_bridge_ledger (state);
-- The ledger view: most recently updated first.
CREATE INDEX coc_bridge_ledger_updated ON coc_bridge_ledger (updated_at DESC, key);
-- DueForRefresh: open tickets by their last check.
CREATE INDEX coc_bridge_ledger_refresh ON coc_bridge_ledger ((coalesce(checked_at, opened_at)), key)
    WHERE state = 'open';

-- The outbox: one row per ticket to create. Delivered items are deleted; an
-- identity never hands out an id twice.
CREATE TABLE coc_bridge_outbox (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key                text COLLATE "C" NOT NULL REFERENCES coc_bridge_ledger (key),
    receiver           text        NOT NULL,
    state              text        NOT NULL CHECK (state IN ('pending', 'dead')),
    message            bytea       NOT NULL,
    previous_ticket_id text        NOT NULL DEFAULT '',
    attempts           integer     NOT NULL DEFAULT 0,
    next_attempt       timestamptz NOT NULL,
    last_error         text        NOT NULL DEFAULT '',
    error_code         text        NOT NULL DEFAULT '',
    lookup_first       boolean     NOT NULL DEFAULT false,
    lease_owner        text,
    lease_until        timestamptz,
    accepted_at        timestamptz NOT NULL
);

-- At most one pending-or-dead item per key, whatever the code above does.
CREATE UNIQUE INDEX coc_bridge_outbox_key_live ON coc_bridge_outbox (key) WHERE state IN ('pending', 'dead');
-- Claim: due pending items, oldest due first.
CREATE INDEX coc_bridge_outbox_due ON coc_bridge_outbox (next_attempt, id) WHERE state = 'pending';
-- Stats, the outbox view and OldestPending.
CREATE INDEX coc_bridge_outbox_state_accepted ON coc_bridge_outbox (state, accepted_at, id);
