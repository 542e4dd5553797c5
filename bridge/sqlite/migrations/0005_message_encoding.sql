-- How outbox_message.message is stored: '' the notification as received
-- (every row written before this migration), 's2' an S2 block of it
-- (github.com/klauspost/compress/s2). A webhook body of several KiB, stored
-- as received, spilled into overflow pages: every new group wrote one or
-- two pages more to the WAL and again at the checkpoint.
ALTER TABLE outbox_message ADD COLUMN encoding TEXT NOT NULL DEFAULT '';
