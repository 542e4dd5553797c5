-- What the key's next COC operation is decided from (bridge.NextOperation):
-- the level COC has for the ticket (coc_level, '' when unknown: rows from
-- before this migration, until the refresher reads it), the receiver's
-- lifecycle policy of the last notification, and when the resolve policy's
-- operation for the current resolve finished. group_labels is the JSON
-- object of the last notification's group labels ('' for none), for
-- display; text, not jsonb, so it comes back as it was written.
ALTER TABLE coc_bridge_ledger
    ADD COLUMN coc_level text NOT NULL DEFAULT '',
    ADD COLUMN group_labels text NOT NULL DEFAULT '',
    ADD COLUMN level_updates text NOT NULL DEFAULT '',
    ADD COLUMN on_resolve text NOT NULL DEFAULT '',
    ADD COLUMN resolve_handled_at timestamptz;
