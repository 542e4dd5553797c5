-- What the key's next COC operation is decided from (bridge.NextOperation):
-- the level COC has for the ticket (coc_level, '' when unknown: rows from
-- before this migration, until the refresher reads it), the receiver's
-- lifecycle policy of the last notification, and when the resolve policy's
-- operation for the current resolve finished. group_labels is the JSON
-- object of the last notification's group labels ('' for none), for
-- display.
ALTER TABLE ledger ADD COLUMN coc_level TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger ADD COLUMN group_labels TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger ADD COLUMN level_updates TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger ADD COLUMN on_resolve TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger ADD COLUMN resolve_handled_at INTEGER;
