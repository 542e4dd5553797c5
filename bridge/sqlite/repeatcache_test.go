package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/coc-bridge/coc-bridge/bridge"
)

func TestRepeatCacheHoldsUntilACommitOrItsTTL(t *testing.T) {
	var c repeatCache
	t0 := time.Unix(1000, 0)
	e := bridge.LedgerEntry{Key: "k", State: bridge.StateOpen, TicketID: "ISU1"}
	c.put("k", e, 7, t0)
	if got, ok := c.get("k", 7, t0.Add(repeatCacheTTL-time.Millisecond)); !ok || got.TicketID != "ISU1" {
		t.Fatalf("get under the same commit count = %+v, %t; want the entry", got, ok)
	}
	for _, tc := range []struct {
		what    string
		key     string
		commits uint64
		at      time.Time
	}{
		{"after a commit", "k", 8, t0},
		{"after the TTL", "k", 7, t0.Add(repeatCacheTTL)},
		{"with the clock moved back", "k", 7, t0.Add(-time.Second)},
		{"for another key", "other", 7, t0},
	} {
		if _, ok := c.get(tc.key, tc.commits, tc.at); ok {
			t.Errorf("get %s: hit, want a miss", tc.what)
		}
	}
	for i := range repeatCacheKeys {
		c.put(fmt.Sprint(i), e, 7, t0)
	}
	if _, ok := c.get("k", 7, t0); ok {
		t.Error("a full cache kept its oldest keys: want it to start over")
	}
	if len(c.m) > repeatCacheKeys {
		t.Errorf("cache holds %d keys, want at most %d", len(c.m), repeatCacheKeys)
	}
}
