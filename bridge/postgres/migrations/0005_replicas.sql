-- Replicas sharing this database, by their last heartbeat: each divides the
-- account's COC rate limit by the number of live ones (bridge.ReplicaRegistry).
CREATE TABLE coc_bridge_replicas (
    replica_id text COLLATE "C" NOT NULL PRIMARY KEY,
    seen_at    timestamptz NOT NULL
);
