-- The lookups by source_id an unclear create has made (bridge.NextLookup):
-- how many came back empty since the create became unclear at
-- unclear_since (NULL while it is not unclear).
ALTER TABLE coc_bridge_outbox
    ADD COLUMN lookups_done integer NOT NULL DEFAULT 0,
    ADD COLUMN unclear_since timestamptz;
