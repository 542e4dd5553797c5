package sqlite

import (
	"sync"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

// Bounds of the repeat cache.
const (
	// repeatCacheKeys bounds the keys it holds; when full it starts over.
	repeatCacheKeys = 10_000
	// repeatCacheTTL bounds how long an entry is used: another process
	// (coc-bridge outbox replay) may write the file without this Store's
	// writer knowing.
	repeatCacheTTL = time.Second
)

// repeatCache remembers what the repeat path read for a key whose ticket
// needs nothing from the outbox: its ledger entry, as it was after the
// writer's commit number commits. This process's writer is the file's only
// writer and counts its commits (Store.commits) before it tells any caller
// a write is done, so an entry read under the current count is what a
// read would return now; any commit, of any key, makes every entry stale.
// Keys with a live outbox item are not cached: whether that item is leased
// changes with time, not only with commits.
type repeatCache struct {
	mu sync.Mutex
	m  map[string]cachedEntry
}

type cachedEntry struct {
	e       bridge.LedgerEntry
	commits uint64
	at      time.Time
}

// get returns key's entry if it was read under commits, less than
// repeatCacheTTL before now.
func (c *repeatCache) get(key string, commits uint64, now time.Time) (bridge.LedgerEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ce, ok := c.m[key]
	if !ok || ce.commits != commits || now.Sub(ce.at) >= repeatCacheTTL || now.Before(ce.at) {
		return bridge.LedgerEntry{}, false
	}
	return ce.e, true
}

// put remembers e, read for key under commits at now.
func (c *repeatCache) put(key string, e bridge.LedgerEntry, commits uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= repeatCacheKeys {
		c.m = make(map[string]cachedEntry)
	}
	c.m[key] = cachedEntry{e: e, commits: commits, at: now}
}
