-- The lookups by source_id an unclear create has made (bridge.NextLookup):
-- how many came back empty since the create became unclear at
-- unclear_since (Unix microseconds, UTC; NULL while it is not unclear).
ALTER TABLE outbox ADD COLUMN lookups_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN unclear_since INTEGER;
