-- The COC operation an outbox item asks for (bridge.Kind). Every item
-- queued before this migration is a create. The bridge, not a CHECK,
-- refuses kinds it does not know (it dead-letters them), so a new kind
-- needs no migration of its own.
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'create';
